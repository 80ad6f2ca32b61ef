// `edgelab watch`'s pure parts on report values: --every, the jitter and
// timeouts, state changes, /metrics, /healthz and the capped /history.
#include "watch/state.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace edgelab::watch {
namespace {

using checks::Verdict;
using std::chrono::milliseconds;

TEST(WatchEvery, ReadsWholeNumbersWithAUnit) {
    EXPECT_EQ(*parseEvery("60s"), milliseconds(60000));
    EXPECT_EQ(*parseEvery("5m"), milliseconds(300000));
    EXPECT_EQ(*parseEvery("1h"), milliseconds(3600000));
    EXPECT_EQ(*parseEvery("250ms"), milliseconds(250));
    for (const char* bad : {"", "60", "s", "1.5s", "-1s", "60 s", "5d", "1234567890s"})
        EXPECT_NE(parseEvery(bad).error().find("expected a whole number and a unit"),
                  std::string::npos)
            << bad;
    EXPECT_EQ(parseEvery("50ms").error(), "--every 50ms: expected a period from 100ms to 24h");
    EXPECT_EQ(parseEvery("25h").error(), "--every 25h: expected a period from 100ms to 24h");
}

TEST(WatchEvery, JitterIsUpToATenthAndTimeoutsFitThePeriod) {
    EXPECT_EQ(jitterOf(milliseconds(60000), 0), milliseconds(0));
    EXPECT_EQ(jitterOf(milliseconds(60000), 0.5), milliseconds(3000));
    EXPECT_LE(jitterOf(milliseconds(60000), 0.9999), milliseconds(6000));
    auto t = timeoutsFor(milliseconds(2000));
    EXPECT_EQ(t.connect, milliseconds(1000));
    EXPECT_EQ(t.request, milliseconds(1000));
    auto longPeriod = timeoutsFor(milliseconds(3600000));
    EXPECT_EQ(longPeriod.handshake, milliseconds(5000));
    EXPECT_EQ(longPeriod.request, milliseconds(15000));
}

checks::CheckResult check(std::string id, Verdict v, std::string blockedBy = "") {
    checks::CheckResult r;
    r.id = std::move(id);
    r.verdict = v;
    r.evidence = r.id + " seen";
    r.blockedBy = std::move(blockedBy);
    r.seconds = 0.25;
    return r;
}

FinishedRun runWith(bool defaultBinding) {
    FinishedRun run;
    run.report.labName = "seed-lab";
    run.started = run.report.started = std::chrono::system_clock::from_time_t(1795780800);
    run.ended = run.started + std::chrono::seconds(1);
    run.report.seconds = 1;
    const Verdict noSni = defaultBinding ? Verdict::Pass : Verdict::Fail;
    run.report.results = {
        check("tls.sni.lyncws.kloud.example", Verdict::Pass),
        check("tls.no-sni.lync-mobile", noSni), check("tls.no-sni.activesync", noSni),
        check("signin.ucwa", Verdict::Skip), check("weird\"id\\x", Verdict::Pass)};
    report::HandshakeFacts h;
    h.probe = "tls.no-sni.lync-mobile";
    h.address = "127.5.0.1:443";
    h.outcome = defaultBinding ? "ok" : "reset";
    if (defaultBinding)
        h.certificate = report::CertificateFacts{
            "AA", "CN=a", "CN=ca", std::chrono::system_clock::from_time_t(1827316800)};
    run.report.facts.handshakes = {h};
    run.report.facts.signins = {{"signin.flow.webticket", {{"mex", 200, 0.5}, {"rst", 200, 1.5}}}};
    return run;
}

std::vector<std::string> checksOf(const std::vector<StateChange>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes) out.push_back(c.check + " " + c.from + "->" + c.to);
    return out;
}

TEST(WatchState, OneStateChangeLinePerCheckThatStartsOrStopsFailing) {
    WatchState s("seed-lab", milliseconds(60000), 10);
    EXPECT_TRUE(s.record(runWith(true)).empty());
    EXPECT_TRUE(s.record(runWith(true)).empty());
    auto down = s.record(runWith(false));
    EXPECT_EQ(checksOf(down), (std::vector<std::string>{"tls.no-sni.lync-mobile PASS->FAIL",
                                                        "tls.no-sni.activesync PASS->FAIL"}));
    auto line = nlohmann::json::parse(down[0].line);
    EXPECT_EQ(line["event"], "state-change");
    EXPECT_EQ(line["run"], 3);
    EXPECT_EQ(line["check"], "tls.no-sni.lync-mobile");
    EXPECT_EQ(line["to"], "FAIL");
    EXPECT_TRUE(s.record(runWith(false)).empty());  // still failing: no new line
    EXPECT_EQ(checksOf(s.record(runWith(true))),
              (std::vector<std::string>{"tls.no-sni.lync-mobile FAIL->PASS",
                                        "tls.no-sni.activesync FAIL->PASS"}));
}

TEST(WatchState, ChecksFailingFromTheFirstRunAreChangesFromNothing) {
    WatchState s("seed-lab", milliseconds(60000), 10);
    auto first = s.record(runWith(false));
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].from, "");
    EXPECT_TRUE(nlohmann::json::parse(first[0].line)["from"].is_null());
}

TEST(WatchState, HealthIs503WithTheFailingRootCauses) {
    WatchState s("seed-lab", milliseconds(60000), 10);
    EXPECT_EQ(s.health().status, 503);
    EXPECT_NE(s.health().body.find("no run"), std::string::npos);
    s.record(runWith(true));
    EXPECT_EQ(s.health().status, 200);
    auto failing = runWith(false);
    failing.report.results.push_back(
        check("webservices.x", Verdict::Blocked, "tls.no-sni.lync-mobile"));
    s.record(failing);
    const Health h = s.health();
    EXPECT_EQ(h.status, 503);
    EXPECT_EQ(h.body,
              "FAIL tls.no-sni.lync-mobile (blocks 1): tls.no-sni.lync-mobile seen\n"
              "FAIL tls.no-sni.activesync (blocks 0): tls.no-sni.activesync seen\n");
}

TEST(WatchMetrics, BeforeTheFirstRunOnlyTheWatchItself) {
    WatchState s("seed-lab", milliseconds(60000), 10);
    const std::string m = s.metricsText();
    EXPECT_NE(m.find("edgelab_watch_runs_total 0\n"), std::string::npos) << m;
    EXPECT_NE(m.find("edgelab_watch_period_seconds 60\n"), std::string::npos);
    EXPECT_EQ(m.find("edgelab_check_success"), std::string::npos);
}

TEST(WatchMetrics, ChecksRootCausesCertificatesAndSignInSteps) {
    WatchState s("seed-lab", milliseconds(60000), 10);
    s.record(runWith(true));
    s.record(runWith(false));
    s.record(runWith(false));
    const std::string m = s.metricsText();
    for (const char* expected : {
             "# TYPE edgelab_check_success gauge\n",
             "edgelab_check_success{check=\"tls.no-sni.lync-mobile\",family=\"TLS\"} 0\n",
             "edgelab_check_success{check=\"tls.sni.lyncws.kloud.example\",family=\"TLS\"} 1\n",
             "edgelab_check_success{check=\"weird\\\"id\\\\x\",family=\"Other\"} 1\n",
             "edgelab_check_duration_seconds{check=\"tls.no-sni.activesync\"} 0.25\n",
             "edgelab_check_consecutive_failures{check=\"tls.no-sni.lync-mobile\"} 2\n",
             "edgelab_check_consecutive_failures{check=\"tls.sni.lyncws.kloud.example\"} 0\n",
             "edgelab_root_cause_blocked_checks{check=\"tls.no-sni.activesync\"} 0\n",
             "edgelab_signin_step_duration_seconds{flow=\"signin.flow.webticket\",step=\"rst\"} "
             "1.5\n",
             "edgelab_watch_runs_total 3\n",
             "edgelab_watch_state_changes_total 2\n",
             "edgelab_watch_last_run_checks{verdict=\"FAIL\"} 2\n",
             "edgelab_watch_last_run_start_timestamp_seconds 1795780800\n",
             "edgelab_watch_last_run_end_timestamp_seconds 1795780801\n",
         })
        EXPECT_NE(m.find(expected), std::string::npos) << expected << "\n" << m;
    // A skipped check has no success sample; the reset handshake no expiry.
    EXPECT_EQ(m.find("edgelab_check_success{check=\"signin.ucwa\""), std::string::npos);
    EXPECT_EQ(m.find("edgelab_certificate_expiry_timestamp_seconds{"), std::string::npos);
    s.record(runWith(true));
    EXPECT_NE(s.metricsText().find("edgelab_certificate_expiry_timestamp_seconds{probe=\"tls.no-"
                                   "sni.lync-mobile\",host=\"127.5.0.1:443\",sni=\"false\"} "
                                   "1827316800\n"),
              std::string::npos)
        << s.metricsText();
}

TEST(WatchHistory, CappedWithTheDiffsBetweenRuns) {
    WatchState s("seed-lab", milliseconds(60000), 3);
    s.record(runWith(true));
    auto first = nlohmann::json::parse(s.historyJson());
    EXPECT_TRUE(first["runs"][0]["diff"].is_null());
    s.record(runWith(false));
    for (int i = 0; i < 5; ++i) s.record(runWith(true));
    auto h = nlohmann::json::parse(s.historyJson());
    ASSERT_EQ(h["runs"].size(), 3u);
    EXPECT_EQ(h["cap"], 3);
    EXPECT_EQ(h["runs"][0]["run"], 5);
    EXPECT_EQ(h["runs"][2]["run"], 7);
    WatchState t("seed-lab", milliseconds(60000), 3);
    t.record(runWith(true));
    t.record(runWith(false));
    auto d = nlohmann::json::parse(t.historyJson())["runs"][1]["diff"];
    EXPECT_TRUE(d["regressed"].get<bool>());
    EXPECT_EQ(d["newlyFailing"],
              (nlohmann::json{"tls.no-sni.lync-mobile", "tls.no-sni.activesync"}));
    EXPECT_EQ(d["evidenceChanges"][0]["field"], "outcome");
    EXPECT_EQ(nlohmann::json::parse(t.reportJson())["results"][1]["verdict"], "FAIL");
}

}  // namespace
}  // namespace edgelab::watch
