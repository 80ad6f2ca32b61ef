// /metrics: the Prometheus text exposition format (version 0.0.4). Label
// values are check ids, probe ids, host names, sign-in step names and
// verdicts: sets bounded by the lab's catalogue, never error text.
#include <charconv>
#include <set>

#include "checks/catalogue.hpp"
#include "watch/state.hpp"

namespace edgelab::watch {

namespace {

using checks::Verdict;

std::string escapeLabel(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// The shortest text that reads back as the same double.
std::string number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, ec == std::errc() ? end : buf);
}

double unixSeconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// One metric family: its HELP and TYPE lines, then its samples.
class Family {
  public:
    Family(std::string& out, const std::string& name, const std::string& type,
           const std::string& help)
        : out_(out), name_(name) {
        out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    // labels: {{"check", "tls.trust"}, ...}
    Family& sample(double value,
                   std::initializer_list<std::pair<const char*, std::string>> labels = {}) {
        out_ += name_;
        if (labels.size()) {
            out_ += "{";
            bool first = true;
            for (const auto& [k, v] : labels) {
                out_ += (first ? "" : ",") + std::string(k) + "=\"" + escapeLabel(v) + "\"";
                first = false;
            }
            out_ += "}";
        }
        out_ += " " + number(value) + "\n";
        return *this;
    }

  private:
    std::string& out_;
    std::string name_;
};

void checkMetrics(std::string& out, const report::Report& r,
                  const std::map<std::string, std::uint64_t>& consecutive) {
    Family success(out, "edgelab_check_success", "gauge",
                   "1 when the check passed or warned in the last run, 0 when it failed or was "
                   "blocked by a root cause; a skipped check has no sample.");
    for (const auto& x : r.results)
        if (x.verdict != Verdict::Skip)
            success.sample(x.verdict == Verdict::Pass || x.verdict == Verdict::Warn,
                           {{"check", x.id}, {"family", checks::familyOf(x.id)}});
    Family duration(out, "edgelab_check_duration_seconds", "gauge",
                    "The longest probe the check read in the last run.");
    for (const auto& x : r.results) duration.sample(x.seconds, {{"check", x.id}});
    Family runs(out, "edgelab_check_consecutive_failures", "gauge",
                "Runs in a row, up to the last, in which the check failed or was blocked.");
    for (const auto& x : r.results) {
        auto it = consecutive.find(x.id);
        runs.sample(it == consecutive.end() ? 0 : static_cast<double>(it->second),
                    {{"check", x.id}});
    }
    Family roots(out, "edgelab_root_cause_blocked_checks", "gauge",
                 "For each check that failed in the last run (a root cause), how many checks "
                 "it left blocked.");
    for (const auto& x : r.results)
        if (x.verdict == Verdict::Fail)
            roots.sample(static_cast<double>(report::blockedBy(r, x.id)), {{"check", x.id}});
}

void factMetrics(std::string& out, const report::ReportFacts& f) {
    Family expiry(out, "edgelab_certificate_expiry_timestamp_seconds", "gauge",
                  "notAfter of the leaf certificate served, as a Unix time, per handshake: "
                  "with SNI (host is the name sent), without SNI (host is the address "
                  "reached) and to each backend.");
    for (const auto& h : f.handshakes)
        if (h.certificate)
            expiry.sample(unixSeconds(h.certificate->notAfter),
                          {{"probe", h.probe},
                           {"host", h.sni.value_or(h.address)},
                           {"sni", h.sni ? "true" : "false"}});
    Family steps(out, "edgelab_signin_step_duration_seconds", "gauge",
                 "Wall time of each request of a sign-in in the last run, holds included.");
    for (const auto& s : f.signins)
        for (const auto& st : s.steps)
            steps.sample(st.seconds, {{"flow", s.probe}, {"step", st.name}});
}

}  // namespace

std::string WatchState::metricsText() const {
    std::string out;
    Family(out, "edgelab_watch_info", "gauge", "The lab watched (always 1).")
        .sample(1, {{"lab", lab_}});
    Family(out, "edgelab_watch_period_seconds", "gauge", "The period between runs (--every).")
        .sample(std::chrono::duration<double>(period_).count());
    Family(out, "edgelab_watch_runs_total", "counter", "Runs finished since the watch started.")
        .sample(static_cast<double>(runs_));
    Family(out, "edgelab_watch_unreachable_runs_total", "counter",
           "Runs in which the target could not be reached or did not answer.")
        .sample(static_cast<double>(unreachableRuns_));
    Family(out, "edgelab_watch_overrun_runs_total", "counter",
           "Runs that started late because the run before took longer than the period.")
        .sample(static_cast<double>(overruns_));
    Family(out, "edgelab_watch_state_changes_total", "counter",
           "Checks that started or stopped failing, summed over the runs.")
        .sample(static_cast<double>(stateChanges_));
    if (!last_) return out;
    const auto& r = last_->report;
    Family(out, "edgelab_watch_last_run_start_timestamp_seconds", "gauge",
           "When the last run started, as a Unix time.")
        .sample(unixSeconds(last_->started));
    Family(out, "edgelab_watch_last_run_end_timestamp_seconds", "gauge",
           "When the last run ended, as a Unix time.")
        .sample(unixSeconds(last_->ended));
    Family(out, "edgelab_watch_last_run_duration_seconds", "gauge", "How long the last run took.")
        .sample(r.seconds);
    Family(out, "edgelab_watch_target_reachable", "gauge",
           "1 when the last run reached the target, 0 when it could not (reach.* failed).")
        .sample(last_->targetUnreachable ? 0 : 1);
    const report::Counts c = report::countOf(r);
    Family(out, "edgelab_watch_last_run_checks", "gauge", "The last run's checks by verdict.")
        .sample(static_cast<double>(c.passed), {{"verdict", "PASS"}})
        .sample(static_cast<double>(c.failed), {{"verdict", "FAIL"}})
        .sample(static_cast<double>(c.warned), {{"verdict", "WARN"}})
        .sample(static_cast<double>(c.skipped), {{"verdict", "SKIP"}})
        .sample(static_cast<double>(c.blocked), {{"verdict", "BLOCKED"}});
    checkMetrics(out, r, consecutiveFailures_);
    factMetrics(out, r.facts);
    return out;
}

}  // namespace edgelab::watch
