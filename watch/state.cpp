#include "watch/state.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/utc_time.hpp"
#include "diff/diff.hpp"

namespace edgelab::watch {

using checks::Verdict;
using nlohmann::ordered_json;

Parsed<std::chrono::milliseconds> parseEvery(std::string_view text) {
    const std::string shown = "--every " + std::string(text);
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    const std::string_view unit = text.substr(digits);
    if (digits == 0 || digits > 9 || (unit != "ms" && unit != "s" && unit != "m" && unit != "h"))
        return Parsed<std::chrono::milliseconds>::failure(
            shown + ": expected a whole number and a unit: ms, s, m or h (60s, 5m, 1h)");
    const long long n = std::stoll(std::string(text.substr(0, digits)));
    const long long scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 3600000;
    const std::chrono::milliseconds period(n * scale);
    if (period < std::chrono::milliseconds(100) || period > std::chrono::hours(24))
        return Parsed<std::chrono::milliseconds>::failure(shown +
                                                          ": expected a period from 100ms to 24h");
    return period;
}

std::chrono::milliseconds jitterOf(std::chrono::milliseconds period, double unit) {
    unit = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<long long>(period.count() / 10.0 * unit));
}

ProbeTimeouts timeoutsFor(std::chrono::milliseconds period) {
    using std::chrono::milliseconds;
    return {std::min(period / 2, milliseconds(5000)), std::min(period / 2, milliseconds(5000)),
            std::min(period / 2, milliseconds(15000))};
}

namespace {

bool failing(Verdict v) { return v == Verdict::Fail || v == Verdict::Blocked; }

ordered_json ids(const std::vector<diff::VerdictChange>& rows) {
    auto a = ordered_json::array();
    for (const auto& r : rows) a.push_back(r.id);
    return a;
}

// A run's line in /history: its summary and what changed since the one
// before (check ids and evidence fields only, so an entry stays small).
ordered_json historyEntry(std::uint64_t number, const FinishedRun& run, const std::string& json,
                          const std::string& previousJson) {
    const report::Counts c = report::countOf(run.report);
    ordered_json e{{"run", number},
                   {"startedAt", utcMillis(run.started)},
                   {"endedAt", utcMillis(run.ended)},
                   {"durationSeconds", run.report.seconds},
                   {"outcome", report::outcomeOf(run.report)},
                   {"reachable", !run.targetUnreachable},
                   {"summary",
                    {{"total", c.total},
                     {"passed", c.passed},
                     {"failed", c.failed},
                     {"skipped", c.skipped},
                     {"warned", c.warned},
                     {"blocked", c.blocked}}}};
    if (previousJson.empty()) {
        e["diff"] = nullptr;
        return e;
    }
    const auto d =
        diff::diffReports(diff::parseReport(previousJson).value(), diff::parseReport(json).value());
    auto evidence = ordered_json::array();
    for (const auto& f : d.evidence)
        evidence.push_back(
            {{"subject", f.subject}, {"field", f.field}, {"before", f.before}, {"after", f.after}});
    e["diff"] = {{"regressed", d.regressed()}, {"newlyFailing", ids(d.newlyFailing)},
                 {"fixed", ids(d.fixed)},      {"stillFailing", ids(d.stillFailing)},
                 {"changed", ids(d.changed)},  {"added", ids(d.added)},
                 {"gone", ids(d.gone)},        {"evidenceChanges", std::move(evidence)}};
    return e;
}

}  // namespace

WatchState::WatchState(std::string lab, std::chrono::milliseconds period, std::size_t historyCap)
    : lab_(std::move(lab)), period_(period), historyCap_(std::max<std::size_t>(historyCap, 1)) {}

std::vector<StateChange> WatchState::record(const FinishedRun& run) {
    std::map<std::string, Verdict> before;
    if (last_)
        for (const auto& r : last_->report.results) before[r.id] = r.verdict;
    std::vector<StateChange> changes;
    ++runs_;
    for (const auto& r : run.report.results) {
        auto& n = consecutiveFailures_[r.id];
        n = failing(r.verdict) ? n + 1 : 0;
        auto was = before.find(r.id);
        const bool wasFailing = was != before.end() && failing(was->second);
        if (failing(r.verdict) == wasFailing) continue;
        StateChange c{r.id, was == before.end() ? "" : checks::to_string(was->second),
                      checks::to_string(r.verdict), ""};
        ordered_json line{{"time", utcMillis(run.ended)},
                          {"event", "state-change"},
                          {"lab", lab_},
                          {"run", runs_},
                          {"check", c.check},
                          {"from", c.from.empty() ? ordered_json() : ordered_json(c.from)},
                          {"to", c.to},
                          {"evidence", r.evidence}};
        c.line = line.dump();
        changes.push_back(std::move(c));
    }
    // Checks gone from the run (another --only cannot happen; a catalogue
    // that changed with the lab can) are forgotten.
    for (auto it = consecutiveFailures_.begin(); it != consecutiveFailures_.end();)
        it = std::any_of(run.report.results.begin(), run.report.results.end(),
                         [&](const auto& r) { return r.id == it->first; })
                 ? std::next(it)
                 : consecutiveFailures_.erase(it);
    stateChanges_ += changes.size();
    unreachableRuns_ += run.targetUnreachable;
    std::string json = report::jsonText(run.report);
    history_.push_back(historyEntry(runs_, run, json, lastJson_).dump());
    while (history_.size() > historyCap_) history_.pop_front();
    lastJson_ = std::move(json);
    last_ = run;
    return changes;
}

Health WatchState::health() const {
    if (!last_) return {503, "no run has finished yet\n"};
    std::string body;
    for (const auto& r : last_->report.results)
        if (r.verdict == Verdict::Fail)
            body += "FAIL " + r.id + " (blocks " +
                    std::to_string(report::blockedBy(last_->report, r.id)) + "): " + r.evidence +
                    "\n";
    if (body.empty())
        return {200,
                "ok: " + std::to_string(last_->report.results.size()) + " checks, none failing\n"};
    return {503, body};
}

std::string WatchState::reportJson() const { return lastJson_; }

std::string WatchState::historyJson() const {
    std::string out = "{\"lab\": " + ordered_json(lab_).dump() +
                      ", \"cap\": " + std::to_string(historyCap_) + ", \"runs\": [";
    for (std::size_t i = 0; i < history_.size(); ++i) out += (i ? ",\n" : "\n") + history_[i];
    return out + "\n]}\n";
}

}  // namespace edgelab::watch
