// `edgelab check LAB.json`: the catalogue against the lab's running proxy or
// any deployment, with console, JSON, JUnit and HTML reports. `edgelab
// watch` takes the same target options and prepares its target the same way.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "checks/catalogue.hpp"
#include "checks/run_checks.hpp"
#include "provision/lab.hpp"

namespace edgelab::cli {

void addCheckCommand(CLI::App& app);

// What says where the deployment under test is and which checks run.
struct TargetArgs {
    std::string labFile;
    std::vector<std::string> connectTo;
    std::string cacert;
    std::vector<std::string> only, skip;
    int retry = 0;
    int retryDelayMs = 1000;
    double timeoutSeconds = 0;  // 0: the gatherer's defaults
    std::string workDir;
    std::string user;
    std::string passwordFile;  // the password is read from this file, never from argv
    double longPoll = 0;
    int affinityClients = 0;  // 0: checks::affinityClientsFor the target's proxy
};
void addTargetOptions(CLI::App& cmd, TargetArgs& args);

struct PreparedTarget {
    provision::Lab lab;
    checks::Target target;
    checks::RunOptions options;
};
// The lab, the target (a running lab's state, --connect-to, --cacert, the
// test user) and the run options; bad input is refused (exit 2) by
// `command`'s name, as JSON with format "json".
PreparedTarget prepareTarget(const TargetArgs&, const std::string& format,
                             const std::string& command);

}  // namespace edgelab::cli
