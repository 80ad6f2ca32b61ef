// A running lab's state file, WORKDIR/state.json (the brief's contract):
// what `edgelab up` leaves behind for `status`, `check` and `down`.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/address_plan.hpp"

namespace edgelab::runner {

struct ProcessRecord {
    std::string name;  // "proxy", "backend-fe1"
    int pid = 0;
    std::string address;  // "127.A.B.C:PORT" it listens on
    std::string exe;      // absolute, to tell a recycled pid apart
    std::string log;
    std::string sni;  // the name a health handshake asks for
};

struct LabState {
    std::string lab;
    std::string labFile;
    std::string workDir;
    std::string startedAt;               // ISO 8601 UTC
    std::vector<std::string> connectTo;  // "name:443:ADDR:PORT", one per public name
    std::string caBundle;                // the lab root, PEM
    std::string bindingStore;
    std::string proxyConfig;
    std::string proxyAddress;  // "ADDR:PORT"
    AddressPlan addressPlan;
    std::map<std::string, std::string> internalDns;
    std::vector<ProcessRecord> processes;
    std::vector<std::string> hostsLines;  // "ADDR name" for a real client's hosts file
};

std::string stateJson(const LabState&);
LabState parseState(const std::string& text, const std::string& source);  // throws runtime_error

std::filesystem::path stateFile(const std::filesystem::path& workDir);
void writeState(const std::filesystem::path& workDir, const LabState&);   // atomically
std::optional<LabState> readState(const std::filesystem::path& workDir);  // nullopt: none

// Processes of the state still running their executable.
std::vector<ProcessRecord> aliveProcesses(const LabState&);

}  // namespace edgelab::runner
