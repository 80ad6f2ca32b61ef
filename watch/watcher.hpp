// `edgelab watch`'s loop: the checks on a schedule, one run at a time, each
// run's pages published to the HTTP endpoint and its state changes logged as
// JSON lines (watch/README.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>

#include "checks/run_checks.hpp"
#include "common/endpoint.hpp"
#include "provision/lab.hpp"

namespace edgelab::watch {

struct WatchOptions {
    std::chrono::milliseconds period{60000};
    std::size_t historyCap = 100;
    Endpoint listen{"127.0.0.1", 9464};
    std::optional<std::uint64_t> maxRuns;  // stop after this many runs (none: until a signal)
    // Asked before each run for where the target is now (a running lab
    // brought up again may be on other addresses); nullopt: as before.
    std::function<std::optional<checks::Target>()> refreshTarget;
};

class Watcher {
  public:
    // `log` gets one JSON object a line: listening, run, state-change, stopped.
    Watcher(provision::Lab lab, checks::Target target, checks::RunOptions run, WatchOptions options,
            std::ostream& log);

    // Listens (ListenError when it cannot), then runs the checks until
    // stop() or maxRuns. Returns the exit code: 0 stopped, 3 the target could
    // not be reached on the first run (a watch starts against a target that
    // answers; later outages are watched, not fatal).
    int run();
    // From any thread (a signal handler's thread): the run in progress ends,
    // then the loop.
    void stop();

  private:
    bool waitUntil(std::chrono::steady_clock::time_point t);  // false: stopped
    void logLine(const std::string& line);

    provision::Lab lab_;
    checks::Target target_;
    checks::RunOptions runOptions_;
    WatchOptions options_;
    std::ostream& log_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace edgelab::watch
