// A running lab's state file, WORKDIR/state.json (the brief's contract):
// what `edgelab up` leaves behind for `status`, `check` and `down`.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
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
    int proxyWorkers = 0;      // the proxy's worker threads (0: not recorded)
    AddressPlan addressPlan;
    std::map<std::string, std::string> internalDns;
    std::vector<ProcessRecord> processes;
    std::vector<std::string> hostsLines;  // "ADDR name" for a real client's hosts file
};

// A state file that cannot be read: every problem, each with its JSON path
// (unknown keys with the nearest known one).
class LabStateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::string stateJson(const LabState&);
LabState parseState(const std::string& text, const std::string& source);  // throws LabStateError

std::filesystem::path stateFile(const std::filesystem::path& workDir);
void writeState(const std::filesystem::path& workDir, const LabState&);   // atomically
std::optional<LabState> readState(const std::filesystem::path& workDir);  // nullopt: none

// Processes of the state still running their executable.
std::vector<ProcessRecord> aliveProcesses(const LabState&);

// The registry of running labs, so that `status`, `down` and `check` find a
// lab by its lab file from any directory: one small JSON file per lab left
// running ({"labFile", "workDir"}, both absolute) in registryDir():
// $EDGELAB_RUNTIME_DIR, else $XDG_RUNTIME_DIR/edgelab, else
// /tmp/edgelab-<uid> (owner-only). An entry whose state file is gone is
// stale and ignored.
std::filesystem::path registryDir();
void registerRunningLab(const LabState&);  // best effort: a registry that cannot be written
                                           // only loses the lookup from elsewhere
void unregisterRunningLab(const LabState&);
// The work folders registered for this lab file (every lab's when empty)
// whose state.json exists.
std::vector<std::filesystem::path> registeredWorkDirs(const std::filesystem::path& labFile);

// Where a lab's state is looked for, in order, when no --work-dir is given:
// .edgelab/<name> here, the registry's entries for the lab file, and
// .edgelab/<name> beside the lab file. `found` is the first that holds a
// state.json (nullopt: none), `looked` every place tried.
struct StateSearch {
    std::optional<std::filesystem::path> found;
    std::vector<std::filesystem::path> looked;
    std::vector<std::filesystem::path> alsoRegistered;  // more than one registered: ambiguous
};
StateSearch findLabState(const std::filesystem::path& labFile, const std::string& labName);

}  // namespace edgelab::runner
