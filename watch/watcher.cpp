#include "watch/watcher.hpp"

#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "common/utc_time.hpp"
#include "watch/server.hpp"
#include "watch/state.hpp"

namespace edgelab::watch {

namespace {

std::shared_ptr<const Pages> pagesOf(const WatchState& s) {
    return std::make_shared<const Pages>(
        Pages{s.metricsText(), s.health(), s.reportJson(), s.historyJson()});
}

std::string runLine(const WatchState& s, const FinishedRun& run, std::size_t changes) {
    const report::Counts c = report::countOf(run.report);
    return nlohmann::ordered_json{{"time", utcMillis(run.ended)},
                                  {"event", "run"},
                                  {"lab", run.report.labName},
                                  {"run", s.runs()},
                                  {"outcome", report::outcomeOf(run.report)},
                                  {"reachable", !run.targetUnreachable},
                                  {"passed", c.passed},
                                  {"failed", c.failed},
                                  {"blocked", c.blocked},
                                  {"stateChanges", changes},
                                  {"durationSeconds", run.report.seconds}}
        .dump();
}

}  // namespace

Watcher::Watcher(provision::Lab lab, checks::Target target, checks::RunOptions run,
                 WatchOptions options, std::ostream& log)
    : lab_(std::move(lab)),
      target_(std::move(target)),
      runOptions_(std::move(run)),
      options_(std::move(options)),
      log_(log) {}

void Watcher::stop() {
    {
        std::lock_guard lock(m_);
        stopping_ = true;
    }
    cv_.notify_all();
}

bool Watcher::waitUntil(std::chrono::steady_clock::time_point t) {
    std::unique_lock lock(m_);
    cv_.wait_until(lock, t, [&] { return stopping_; });
    return !stopping_;
}

void Watcher::logLine(const std::string& line) { log_ << line << "\n" << std::flush; }

int Watcher::run() {
    Server server(options_.listen);  // ListenError before anything runs
    WatchState state(lab_.name, options_.period, options_.historyCap);
    server.publish(pagesOf(state));
    server.start();
    logLine(nlohmann::ordered_json{{"time", utcMillis(std::chrono::system_clock::now())},
                                   {"event", "listening"},
                                   {"lab", lab_.name},
                                   {"address", server.bound().str()},
                                   {"everySeconds", options_.period.count() / 1000.0}}
                .dump());
    std::mt19937 random{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto start = std::chrono::steady_clock::now();
    while (true) {
        if (options_.refreshTarget)
            if (auto now = options_.refreshTarget()) target_ = std::move(*now);
        const auto startedAt = std::chrono::system_clock::now();
        checks::CheckRun result = checks::runChecks(lab_, target_, runOptions_);
        FinishedRun run{report::Report{lab_.name,
                                       result.started,
                                       result.seconds,
                                       std::move(result.results),
                                       {},
                                       {},
                                       std::nullopt,
                                       {}},
                        result.targetUnreachable, startedAt, std::chrono::system_clock::now()};
        run.report.facts = report::factsOf(lab_, result.evidence);
        const auto changes = state.record(run);
        server.publish(pagesOf(state));
        for (const auto& c : changes) logLine(c.line);
        logLine(runLine(state, run, changes.size()));
        if (state.runs() == 1 && run.targetUnreachable) {
            std::cerr << "edgelab watch: the target could not be reached or did not answer on "
                         "the first run (see the reach.* results at /report); a watch starts "
                         "against a target that answers\n";
            return 3;
        }
        if (options_.maxRuns && state.runs() >= *options_.maxRuns) break;
        auto next = start + options_.period + jitterOf(options_.period, unit(random));
        const auto now = std::chrono::steady_clock::now();
        if (next < now) {
            // Runs never overlap: one that overran is followed at once.
            state.countOverrun();
            next = now;
        }
        if (!waitUntil(next)) break;
        start = next;
    }
    logLine(nlohmann::ordered_json{{"time", utcMillis(std::chrono::system_clock::now())},
                                   {"event", "stopped"},
                                   {"runs", state.runs()}}
                .dump());
    server.stop();
    return 0;
}

}  // namespace edgelab::watch
