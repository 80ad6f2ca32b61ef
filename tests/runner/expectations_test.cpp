#include "runner/expectations.hpp"
#include "runner/runner.hpp"

#include <gtest/gtest.h>

using namespace edgelab::runner;
using edgelab::Verdict;

TEST(Expectations, NoGlobsAllPassIsMet) {
    auto r = evaluateExpectations({}, {{"a", Verdict::Pass}, {"b", Verdict::Skip}});
    EXPECT_TRUE(r.met);
    EXPECT_TRUE(r.problems().empty());
}

TEST(Expectations, ExactlyTheNamedFailuresIsMet) {
    auto r = evaluateExpectations({"tls.no-sni.*"}, {{"tls.no-sni.lync-mobile", Verdict::Fail},
                                                     {"tls.no-sni.activesync", Verdict::Fail},
                                                     {"tls.sni.lyncws", Verdict::Pass}});
    EXPECT_TRUE(r.met);
    EXPECT_EQ(r.expectedFailures.size(), 2u);
}

TEST(Expectations, UnnamedFailureBreaksIt) {
    auto r = evaluateExpectations({"tls.no-sni.*"}, {{"tls.no-sni.lync-mobile", Verdict::Fail},
                                                     {"owas.no-internal-names", Verdict::Fail}});
    EXPECT_FALSE(r.met);
    ASSERT_EQ(r.unexpectedFailures.size(), 1u);
    EXPECT_EQ(r.unexpectedFailures[0], "owas.no-internal-names");
    EXPECT_EQ(r.problems()[0], "owas.no-internal-names failed, not expected to");
}

TEST(Expectations, NamedCheckThatPassesBreaksIt) {
    auto r = evaluateExpectations({"tls.no-sni.*"}, {{"tls.no-sni.lync-mobile", Verdict::Fail},
                                                     {"tls.no-sni.activesync", Verdict::Pass}});
    EXPECT_FALSE(r.met);
    ASSERT_EQ(r.unexpectedPasses.size(), 1u);
    EXPECT_EQ(r.unexpectedPasses[0], "tls.no-sni.activesync");
}

TEST(Expectations, GlobNamingNothingBreaksIt) {
    auto r = evaluateExpectations({"tls.chain.*"}, {{"tls.sni.x", Verdict::Pass}});
    EXPECT_FALSE(r.met);
    ASSERT_EQ(r.unmatchedGlobs.size(), 1u);
    EXPECT_EQ(r.problems()[0], "expect.fail \"tls.chain.*\" names no failed check");
}

TEST(Expectations, SkippedCheckDoesNotSatisfyAGlob) {
    auto r =
        evaluateExpectations({"webservices.long-poll"}, {{"webservices.long-poll", Verdict::Skip}});
    EXPECT_FALSE(r.met);
    EXPECT_TRUE(r.unexpectedPasses.empty());
    EXPECT_EQ(r.unmatchedGlobs.size(), 1u);
}

// Issue 24: a replay lab (audit --emit-lab) with several problems expected
// failures that came out BLOCKED by another expected root cause: the run
// said "FAILED, 0 failure(s) to fix". A BLOCKED check meets the glob on it.
TEST(Expectations, ABlockedCheckMeetsTheGlobOnIt) {
    auto r = evaluateExpectations({"tls.sni.meet.*", "meet"},
                                  {{"tls.sni.meet.contoso.com", Verdict::Fail},
                                   {"meet", Verdict::Blocked},
                                   {"dialin", Verdict::Pass}});
    EXPECT_TRUE(r.met) << r.problems().size();
    EXPECT_TRUE(r.unmatchedGlobs.empty());
    EXPECT_EQ(r.expectedFailures, std::vector<std::string>{"tls.sni.meet.contoso.com"});
    // Its root cause unexpected is still a problem.
    auto root = evaluateExpectations(
        {"meet"}, {{"tls.sni.meet.contoso.com", Verdict::Fail}, {"meet", Verdict::Blocked}});
    EXPECT_FALSE(root.met);
    EXPECT_EQ(root.unexpectedFailures, std::vector<std::string>{"tls.sni.meet.contoso.com"});
}

// Issue 24: a lab without a default binding showed the rule and every
// profile's handshake as failures with one remedy; ADFS on Lync showed 25.
TEST(RootInRules, AFailedRuleIsTheRootOfTheChecksThatShowIt) {
    using edgelab::checks::CheckResult;
    using V = edgelab::checks::Verdict;
    std::vector<CheckResult> results(6);
    results[0].id = "lab.default-binding";
    results[0].verdict = V::Fail;
    results[1].id = "tls.no-sni.default-binding";
    results[1].verdict = V::Fail;
    results[1].remedy = "netsh http add sslcert ...";
    results[2].id = "tls.no-sni.lync-mobile";
    results[2].verdict = V::Blocked;
    results[2].blockedBy = "tls.no-sni.default-binding";
    results[3].id = "tls.sni.lyncws.kloud.example";
    results[3].verdict = V::Pass;
    results[4].id = "webservices.reach-sip-svc";
    results[4].verdict = V::Fail;  // lab.passthrough passed: its own failure
    results[5].id = "lab.passthrough";
    results[5].verdict = V::Pass;
    rootInRules(results);
    EXPECT_EQ(results[0].verdict, V::Fail);
    EXPECT_EQ(results[1].verdict, V::Blocked);
    EXPECT_EQ(results[1].blockedBy, "lab.default-binding");
    EXPECT_EQ(results[1].remedy, "");
    EXPECT_EQ(results[2].blockedBy, "lab.default-binding");
    EXPECT_EQ(results[3].verdict, V::Pass);
    EXPECT_EQ(results[4].verdict, V::Fail);
}
