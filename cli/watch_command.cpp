#include "cli/watch_command.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/check_command.hpp"
#include "cli/provision_commands.hpp"
#include "cli/running_lab.hpp"
#include "common/exit_code.hpp"
#include "watch/server.hpp"
#include "watch/state.hpp"
#include "watch/watcher.hpp"

namespace edgelab::cli {

namespace {

namespace fs = std::filesystem;

struct WatchArgs : TargetArgs {
    std::string every = "60s";
    std::string listen = "127.0.0.1:9464";
    std::size_t history = 100;
    std::uint64_t maxRuns = 0;  // 0: until SIGINT or SIGTERM
};

[[noreturn]] void badInput(const std::string& message) {
    refuseInput("edgelab watch", message, "console");
}

watch::WatchOptions watchOptions(const WatchArgs& a, checks::RunOptions& run) {
    watch::WatchOptions o;
    auto period = watch::parseEvery(a.every);
    if (!period) badInput(period.error());
    o.period = *period;
    auto listen = parseEndpoint(a.listen, EndpointHost::Address, PortZero::Any);
    if (!listen) badInput("--listen " + a.listen + ": " + listen.error());
    o.listen = *listen;
    if (a.history < 1 || a.history > 10000)
        badInput("--history " + std::to_string(a.history) + ": expected 1 to 10000 runs");
    o.historyCap = a.history;
    if (a.maxRuns) o.maxRuns = a.maxRuns;
    if (a.timeoutSeconds != 0) {
        if (a.timeoutSeconds * 1000 >= static_cast<double>(o.period.count()))
            badInput("--timeout " + (std::ostringstream() << a.timeoutSeconds).str() +
                     ": must be below the period (--every " + a.every +
                     "), so that a run ends before the next is due");
    } else {
        const auto t = watch::timeoutsFor(o.period);
        run.gather.connectTimeout = t.connect;
        run.gather.handshakeTimeout = t.handshake;
        run.gather.requestTimeout = t.request;
    }
    return o;
}

// SIGINT and SIGTERM end the watch after the run in progress: blocked in
// every thread, taken by one that waits for them.
class StopOnSignal {
  public:
    explicit StopOnSignal(watch::Watcher& w) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
        thread_ = std::thread([this, &w] {
            int sig = 0;
            sigwait(&set_, &sig);
            if (!done_) w.stop();
        });
    }
    ~StopOnSignal() {
        done_ = true;
        pthread_kill(thread_.native_handle(), SIGTERM);  // wakes the waiting thread
        thread_.join();
    }

  private:
    sigset_t set_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

void run(const WatchArgs& a) {
    auto [lab, target, runOptions] = prepareTarget(a, "console", "edgelab watch");
    watch::WatchOptions options = watchOptions(a, runOptions);
    if (a.connectTo.empty()) {
        // A running lab: its state file says where it is now, found as
        // `check` finds it (--work-dir, else here, the registry of running
        // labs, beside the lab file), so a lab brought up again elsewhere
        // is followed. A lab down (no state file) or a state file being
        // rewritten keeps the last target; names are never sent to the
        // system resolver from here.
        options.refreshTarget = [a, name = lab.name]() -> std::optional<checks::Target> {
            if (!locateLab(a.labFile, name, a.workDir).workDir) return std::nullopt;
            try {
                return prepareTarget(a, "console", "edgelab watch").target;
            } catch (const CLI::RuntimeError&) {
                return std::nullopt;
            }
        };
    }
    watch::Watcher watcher(std::move(lab), std::move(target), std::move(runOptions), options,
                           std::cout);
    int code = kExitOk;
    {
        StopOnSignal signals(watcher);
        try {
            code = watcher.run();
        } catch (const watch::ListenError& e) {
            std::cerr << "edgelab watch: --listen " << a.listen << ": " << e.what() << "\n";
            code = kExitLabDown;
        }
    }
    if (code != kExitOk) throw CLI::RuntimeError(code);
}

}  // namespace

void addWatchCommand(CLI::App& app) {
    auto args = std::make_shared<WatchArgs>();
    CLI::App* cmd = app.add_subcommand(
        "watch",
        "Run the checks on a schedule and serve /metrics (Prometheus), /healthz, /report and "
        "/history; state changes are logged as JSON lines on stdout. SIGINT or SIGTERM stop it");
    addTargetOptions(*cmd, *args);
    cmd->get_option("--timeout")
        ->description(
            "Seconds to wait for a connection, a TLS handshake or an HTTP answer; below the "
            "period (default: half the period, at most 5 for connections and handshakes and 15 "
            "for answers)");
    cmd->add_option("--every", args->every,
                    "Period between runs: 60s, 5m, 1h, 500ms (100ms to 24h); each start is "
                    "delayed by up to a tenth of it (jitter)")
        ->capture_default_str();
    cmd->add_option("--listen", args->listen,
                    "ADDR:PORT of the HTTP endpoint (port 0: the kernel chooses; the "
                    "'listening' log line says which)")
        ->capture_default_str();
    cmd->add_option("--history", args->history, "Runs kept for /history")->capture_default_str();
    cmd->add_option("--max-runs", args->maxRuns, "Stop after N runs (default: run until stopped)");
    cmd->callback([args] { run(*args); });
}

}  // namespace edgelab::cli
