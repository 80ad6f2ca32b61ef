// What `edgelab watch` knows between runs, and what it serves: pure logic fed
// one finished run at a time (no sockets, no clock of its own), so the
// metrics, /healthz, /history and the state-change lines are tested on
// report values. watch/README.md documents every metric and endpoint.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/parsed.hpp"
#include "report/report.hpp"

namespace edgelab::watch {

// --every: "60s", "5m", "1h", "1500ms"; from 100 ms to 24 h.
Parsed<std::chrono::milliseconds> parseEvery(std::string_view text);

// The pause before the next run starts: the period after the last start,
// plus up to a tenth of the period (`unit` in [0, 1), drawn by the caller) so
// that many watchers of one site do not probe it in step. A run that
// overran the period is followed at once.
std::chrono::milliseconds jitterOf(std::chrono::milliseconds period, double unit);

// Each probe's timeout for a period: half of it, at most the gatherer's
// defaults (5 s for connections and handshakes, 15 s for answers). Probes
// run in parallel, so a run normally ends before the next is due; one that
// does not delays the next (runs never overlap) and is counted.
struct ProbeTimeouts {
    std::chrono::milliseconds connect, handshake, request;
};
ProbeTimeouts timeoutsFor(std::chrono::milliseconds period);

// One finished run, as the loop hands it over.
struct FinishedRun {
    report::Report report;
    bool targetUnreachable = false;
    std::chrono::system_clock::time_point started, ended;
};

// A check that started or stopped failing (FAIL or BLOCKED), one JSON line.
struct StateChange {
    std::string check;
    std::string from;  // "" on the first run
    std::string to;
    std::string line;  // the JSON log line, without its newline
};

// What /healthz answers.
struct Health {
    int status = 503;  // 200 every check passed or warned, 503 otherwise or no run yet
    std::string body;  // "ok\n", or the failing root causes one a line
};

class WatchState {
  public:
    WatchState(std::string lab, std::chrono::milliseconds period, std::size_t historyCap);

    // Records a finished run: returns the state changes it brought, in
    // report order (none for checks that failed from the first run on,
    // which are listed as changes from "").
    std::vector<StateChange> record(const FinishedRun& run);
    // A run that started late because the one before overran the period.
    void countOverrun() { ++overruns_; }

    std::string metricsText() const;  // Prometheus text exposition format 0.0.4
    Health health() const;
    std::string reportJson() const;   // the last run's JSON report; "" before the first run
    std::string historyJson() const;  // the last runs' summaries and the diffs between them
    std::uint64_t runs() const { return runs_; }

  private:
    std::string lab_;
    std::chrono::milliseconds period_;
    std::size_t historyCap_;
    std::uint64_t runs_ = 0, unreachableRuns_ = 0, overruns_ = 0, stateChanges_ = 0;
    std::optional<FinishedRun> last_;
    std::string lastJson_;
    std::map<std::string, std::uint64_t> consecutiveFailures_;  // check id -> runs in a row
    std::deque<std::string> history_;                           // JSON objects, oldest first
};

}  // namespace edgelab::watch
