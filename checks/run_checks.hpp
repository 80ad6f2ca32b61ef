// One run of the catalogue against a target: plan, gather, evaluate. The
// runner (runner/) and `edgelab check` both call this.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "checks/catalogue.hpp"
#include "checks/gather.hpp"
#include "provision/lab.hpp"

namespace edgelab::checks {

struct RunOptions {
    std::vector<std::string> only;  // check id globs; empty: all
    std::vector<std::string> skip;  // check id globs
    GatherOptions gather;
};

struct CheckRun {
    std::vector<CheckResult> results;
    // A name did not resolve, an address refused or a server did not answer
    // (a reach.* check failed), or no probe could connect at all.
    bool targetUnreachable = false;
    std::chrono::system_clock::time_point started;
    double seconds = 0;
    Evidence evidence;
};

CheckRun runChecks(const provision::Lab&, const Target&, const RunOptions& = {},
                   ProgressSink* = nullptr);

bool anyFailed(const std::vector<CheckResult>&);

}  // namespace edgelab::checks
