// The diff as pure logic: two report values in, what changed out; and its
// four writers. No sockets, no files.
#include "diff/diff.hpp"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/report.hpp"

namespace edgelab::diff {
namespace {

using checks::Verdict;

report::HandshakeFacts noSni(std::string profile, bool served, std::string thumbprint = "AA") {
    report::HandshakeFacts h;
    h.probe = "tls.no-sni." + profile;
    h.address = "127.5.0.1:443";
    h.profile = profile;
    h.outcome = served ? "ok" : "reset";
    if (served)
        h.certificate =
            report::CertificateFacts{thumbprint, "CN=lyncws.kloud.example", "CN=Issuing CA",
                                     std::chrono::system_clock::from_time_t(1827316800)};
    return h;
}

checks::CheckResult result(std::string id, Verdict v, std::string evidence = "seen") {
    checks::CheckResult r;
    r.id = std::move(id);
    r.title = "title of " + r.id;
    r.ns = "lyncws.kloud.example";
    r.verdict = v;
    r.evidence = std::move(evidence);
    if (v == Verdict::Fail) r.remedy = "fix " + r.id;
    return r;
}

void failing(checks::CheckResult& r) {
    r.verdict = Verdict::Fail;
    r.remedy = "fix " + r.id;
}

// The seed lab's report before and after its default binding is deleted.
report::Report before() {
    report::Report r;
    r.labName = "seed-lab";
    r.started = std::chrono::system_clock::from_time_t(1795780800);
    r.results = {result("tls.sni.lyncws.kloud.example", Verdict::Pass),
                 result("tls.no-sni.lync-mobile", Verdict::Pass),
                 result("tls.no-sni.activesync", Verdict::Pass),
                 result("owas.wopisrc", Verdict::Fail),
                 result("meet", Verdict::Fail),
                 result("dialin", Verdict::Pass),
                 result("lyncdiscover", Verdict::Pass)};
    r.facts.handshakes = {noSni("lync-mobile", true), noSni("activesync", true)};
    r.facts.exchanges = {
        {"http.meet.join", "https://meet.kloud.example/x", 302, "https://meet.kloud.example/join"}};
    r.facts.applications = {
        {"Lync Meet", "https://meet.kloud.example/", "https://meet.kloud.example:4443/"}};
    return r;
}

Snapshot snapshot(const report::Report& r) {
    auto parsed = parseReport(report::jsonText(r));
    EXPECT_TRUE(parsed) << parsed.error();
    return *parsed;
}

std::vector<std::string> ids(const std::vector<VerdictChange>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
}

TEST(Diff, TheSameReportTwiceHasNoChange) {
    auto d = diffReports(snapshot(before()), snapshot(before()));
    EXPECT_FALSE(d.regressed());
    EXPECT_TRUE(d.newlyFailing.empty() && d.fixed.empty() && d.changed.empty());
    EXPECT_EQ(ids(d.stillFailing), (std::vector<std::string>{"owas.wopisrc", "meet"}));
    EXPECT_TRUE(d.evidence.empty());
}

TEST(Diff, ADeletedDefaultBindingIsExactlyTheNoSniRegression) {
    report::Report after = before();
    failing(after.results[1]);
    failing(after.results[2]);
    after.facts.handshakes = {noSni("lync-mobile", false), noSni("activesync", false)};
    auto d = diffReports(snapshot(before()), snapshot(after));
    EXPECT_TRUE(d.regressed());
    EXPECT_EQ(ids(d.newlyFailing),
              (std::vector<std::string>{"tls.no-sni.lync-mobile", "tls.no-sni.activesync"}));
    EXPECT_EQ(d.newlyFailing[0].before, "PASS");
    EXPECT_EQ(d.newlyFailing[0].after, "FAIL");
    EXPECT_EQ(d.newlyFailing[0].remedy, "fix tls.no-sni.lync-mobile");
    std::set<std::string> subjects;
    for (const auto& f : d.evidence) subjects.insert(f.subject);
    EXPECT_EQ(subjects, (std::set<std::string>{"tls.no-sni.activesync", "tls.no-sni.lync-mobile"}));
    bool thumbprintGone = false;
    for (const auto& f : d.evidence)
        if (f.subject == "tls.no-sni.lync-mobile" && f.field == "certificate.thumbprint")
            thumbprintGone = f.before == "AA" && f.after.empty();
    EXPECT_TRUE(thumbprintGone);
}

TEST(Diff, FixedNewGoneAndOtherVerdictChangesAreNotRegressions) {
    report::Report after = before();
    after.results[3].verdict = Verdict::Pass;     // owas.wopisrc fixed
    after.results[5].verdict = Verdict::Blocked;  // dialin blocked
    after.results[5].blockedBy = "reach.connect";
    after.results.pop_back();  // lyncdiscover gone
    after.results.push_back(result("signin.ucwa", Verdict::Skip));
    auto d = diffReports(snapshot(before()), snapshot(after));
    EXPECT_FALSE(d.regressed());
    EXPECT_EQ(ids(d.fixed), std::vector<std::string>{"owas.wopisrc"});
    EXPECT_EQ(ids(d.stillFailing), std::vector<std::string>{"meet"});
    EXPECT_EQ(ids(d.changed), std::vector<std::string>{"dialin"});
    EXPECT_EQ(ids(d.added), std::vector<std::string>{"signin.ucwa"});
    EXPECT_EQ(ids(d.gone), std::vector<std::string>{"lyncdiscover"});
    EXPECT_EQ(d.gone[0].after, "");
}

TEST(Diff, ANewCheckThatFailsIsARegression) {
    report::Report after = before();
    after.results.push_back(result("signin.webticket", Verdict::Fail));
    auto d = diffReports(snapshot(before()), snapshot(after));
    EXPECT_TRUE(d.regressed());
    EXPECT_EQ(ids(d.newlyFailing), std::vector<std::string>{"signin.webticket"});
    EXPECT_EQ(ids(d.added), std::vector<std::string>{"signin.webticket"});
}

TEST(Diff, CertificateBackendAndRedirectChangesAreNamed) {
    report::Report after = before();
    after.facts.handshakes[0] = noSni("lync-mobile", true, "BB");
    after.facts.handshakes[0].certificate->issuer = "CN=Other CA";
    after.facts.exchanges[0].location = "https://elsewhere.example/";
    after.facts.applications[0].backendUrl = "https://meet2.kloud.example:4443/";
    auto d = diffReports(snapshot(before()), snapshot(after));
    EXPECT_FALSE(d.regressed());
    std::vector<std::string> seen;
    for (const auto& f : d.evidence) seen.push_back(f.subject + " " + f.field + " " + f.after);
    EXPECT_EQ(seen, (std::vector<std::string>{
                        "application:Lync Meet backendUrl https://meet2.kloud.example:4443/",
                        "http.meet.join location https://elsewhere.example/",
                        "tls.no-sni.lync-mobile certificate.thumbprint BB",
                        "tls.no-sni.lync-mobile certificate.issuer CN=Other CA"}));
}

TEST(Diff, AProbeOnlyOneRunMadeIsNotAChange) {
    report::Report after = before();
    after.facts.handshakes.pop_back();
    EXPECT_TRUE(diffReports(snapshot(before()), snapshot(after)).evidence.empty());
}

TEST(Diff, AReportOfAnotherSchemaVersionIsRefusedNamingBoth) {
    auto doc = nlohmann::json::parse(report::jsonText(before()));
    doc["schemaVersion"] = 2;
    auto parsed = parseReport(doc.dump());
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().find("/schemaVersion: 2 is another schema version"), std::string::npos)
        << parsed.error();
    EXPECT_NE(parsed.error().find("reads schema version 1"), std::string::npos);
}

TEST(Diff, WhatIsNotAReportIsRefusedNamingThePath) {
    EXPECT_NE(parseReport("{").error().find("not valid JSON"), std::string::npos);
    EXPECT_NE(parseReport("[]").error().find("expected a JSON object"), std::string::npos);
    EXPECT_NE(parseReport("{\"lab\": \"x\"}").error().find("/schemaVersion: missing"),
              std::string::npos);
    auto doc = nlohmann::json::parse(report::jsonText(before()));
    doc["results"][2]["verdict"] = 3;
    EXPECT_EQ(parseReport(doc.dump()).error(), "/results/2/verdict: expected a string");
    doc.erase("results");
    EXPECT_EQ(parseReport(doc.dump()).error(), "/results: missing");
}

ReportDiff regression() {
    report::Report after = before();
    failing(after.results[1]);
    after.results[1].evidence = "reset | <no certificate> & `x`";
    after.facts.handshakes[0] = noSni("lync-mobile", false);
    return diffReports(snapshot(before()), snapshot(after));
}

TEST(DiffWriters, ConsoleSaysRegressedAndListsEachChange) {
    auto text = consoleText(regression());
    EXPECT_NE(text.find("REGRESSED"), std::string::npos) << text;
    EXPECT_NE(text.find("Newly failing (1):\n  tls.no-sni.lync-mobile  PASS -> FAIL"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("remedy: fix tls.no-sni.lync-mobile"), std::string::npos);
    EXPECT_NE(text.find("tls.no-sni.lync-mobile  outcome: ok -> reset"), std::string::npos);
    EXPECT_NE(
        consoleText(diffReports(snapshot(before()), snapshot(before()))).find("no regression"),
        std::string::npos);
}

TEST(DiffWriters, JsonHasEveryListAndNullsForAbsent) {
    auto j = nlohmann::json::parse(jsonText(regression()));
    EXPECT_EQ(j["kind"], "edgelab-diff");
    EXPECT_TRUE(j["regressed"].get<bool>());
    EXPECT_EQ(j["newlyFailing"][0]["id"], "tls.no-sni.lync-mobile");
    EXPECT_EQ(j["newlyFailing"][0]["before"], "PASS");
    for (const char* k : {"fixed", "stillFailing", "changed", "added", "gone", "evidenceChanges"})
        EXPECT_TRUE(j[k].is_array()) << k;
    bool sawNull = false;
    for (const auto& e : j["evidenceChanges"]) sawNull |= e["after"].is_null();
    EXPECT_TRUE(sawNull);
}

TEST(DiffWriters, JUnitHasTheRegressionAsAFailure) {
    auto x = junitText(regression());
    EXPECT_NE(x.find("failures=\"1\""), std::string::npos) << x;
    EXPECT_NE(x.find("<testcase name=\"tls.no-sni.lync-mobile\""), std::string::npos);
    EXPECT_NE(x.find("type=\"regression\""), std::string::npos);
    EXPECT_NE(x.find("&lt;no certificate&gt; &amp;"), std::string::npos);
    EXPECT_EQ(x.find("<no certificate>"), std::string::npos);
}

TEST(DiffWriters, MarkdownTablesEscapeTheirCells) {
    auto md = markdownText(regression());
    EXPECT_NE(md.find("**1 regression(s)**"), std::string::npos) << md;
    EXPECT_NE(md.find("#### Newly failing\n\n| check | was | now | evidence |"), std::string::npos);
    EXPECT_NE(
        md.find("| `tls.no-sni.lync-mobile` | PASS | FAIL | reset \\| <no certificate> & 'x' |"),
        std::string::npos)
        << md;
    EXPECT_NE(md.find("#### Evidence changed"), std::string::npos);
}

}  // namespace
}  // namespace edgelab::diff
