#include "checks/signin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provision/lab.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::checks {
namespace {

using provision::Lab;
using ::testing::HasSubstr;
using ::testing::Not;

using test::seedLab;

HttpExchange answer(long status, std::string body = "") {
    HttpExchange x;
    x.connected = true;
    x.status = status;
    x.body = std::move(body);
    return x;
}

const std::string kWsdl =
    "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
    "xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\"><wsdl:service "
    "name=\"WebTicketService\">"
    "<wsdl:port name=\"WebTicketServiceCertificate\"><soap12:address "
    "location=\"https://lyncws.kloud.example/WebTicket/WebTicketService.svc/Cert\"/></wsdl:port>"
    "<wsdl:port name=\"WebTicketServiceWinNegotiate\"><soap12:address "
    "location=\"https://lyncws.kloud.example/WebTicket/WebTicketService.svc\"/></wsdl:port>"
    "</wsdl:service></wsdl:definitions>";

const std::string kUserXml =
    "<AutodiscoverResponse><User>"
    "<SipServerInternalAccess fqdn=\"lyncfe1.kloud.example\" port=\"5061\"/>"
    "<SipServerExternalAccess fqdn=\"sip.kloud.example\" port=\"443\"/>"
    "<SipClientExternalAccess fqdn=\"sip.kloud.example\" port=\"443\"/>"
    "</User></AutodiscoverResponse>";

SignInFlow goodWebTicket() {
    SignInFlow f;
    f.steps = {{"mex", answer(200, kWsdl), 0},
               {"rst", answer(200), 0},
               {"user", answer(200, kUserXml), 0}};
    f.found = {{"endpoint", "https://lyncws.kloud.example/WebTicket/WebTicketService.svc"},
               {"ticketLength", "120"},
               {"ticketExpires", "2026-11-28T16:00:00Z"},
               {"proofKey", "yes"}};
    return f;
}

SignInFlow goodUcwa() {
    SignInFlow f;
    f.steps = {
        {"oauthtoken", answer(200, R"({"access_token":"<40 characters>"})"), 0},
        {"user",
         answer(
             200,
             R"({"_links":{"applications":{"href":"https://lyncws.kloud.example/ucwa/oauth/v1/applications"}}})"),
         0},
        {"applications",
         answer(201,
                R"({"_links":{"events":{"href":"/ucwa/oauth/v1/applications/101/events?ack=1"}}})"),
         0},
        {"events",
         answer(200,
                R"({"_links":{"next":{"href":"/ucwa/oauth/v1/applications/101/events?ack=2"}}})"),
         0},
    };
    return f;
}

class SignIn : public ::testing::Test {
  protected:
    Lab lab = seedLab();
    Target target;
    Evidence ev;

    CheckResult run(const std::string& id) {
        CheckContext ctx{lab, target};
        for (auto& d : catalogue(lab, target))
            if (d.id == id) return d.evaluate(ev, ctx);
        ADD_FAILURE() << "no check " << id;
        return {};
    }
};

TEST(SignInDocuments, TheWinNegotiateEndpointTicketAndSipAccessAreRead) {
    EXPECT_EQ(webTicketEndpoint(kWsdl),
              "https://lyncws.kloud.example/WebTicket/WebTicketService.svc");
    EXPECT_FALSE(webTicketEndpoint("<not-xml"));
    auto t = issuedTicket(
        "<s:Envelope xmlns:s=\"x\" "
        "xmlns:t=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\"><s:Body>"
        "<t:RequestSecurityTokenResponse><t:RequestedSecurityToken><UserToken> cwt=AbC </UserToken>"
        "</t:RequestedSecurityToken><t:RequestedProofToken/"
        "><t:Lifetime><Expires>2026-11-28T16:00:00Z"
        "</Expires></t:Lifetime></t:RequestSecurityTokenResponse></s:Body></s:Envelope>");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->ticket, "cwt=AbC");
    EXPECT_EQ(t->expires, "2026-11-28T16:00:00Z");
    EXPECT_TRUE(t->proofKey);
    auto xml = sipAccessOf(kUserXml);
    ASSERT_EQ(xml.size(), 3u);
    EXPECT_EQ(xml[1].element, "SipServerExternalAccess");
    EXPECT_EQ(xml[1].fqdn, "sip.kloud.example");
    auto fromJson =
        sipAccessOf(R"({"SipClientExternalAccess":{"fqdn":"sip.kloud.example","port":"443"}})");
    ASSERT_EQ(fromJson.size(), 1u);
    EXPECT_EQ(fromJson[0].port, "443");
}

TEST_F(SignIn, WithoutCredentialsEveryFlowIsSkippedWithTheReason) {
    ev.signin = gatherSignIns(signInProbes(lab, target), target, GatherOptions{});
    for (const char* id : {"signin.webticket", "signin.ucwa", "signin.ntlm-affinity"}) {
        auto r = run(id);
        EXPECT_EQ(r.verdict, Verdict::Skip) << id;
        EXPECT_THAT(r.evidence, HasSubstr("--password-file")) << id;
    }
}

TEST_F(SignIn, AWebTicketSignInPassesWithPublicSipAccess) {
    ev.signin[probe::signInWebTicket()] = goodWebTicket();
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    EXPECT_THAT(r.evidence, HasSubstr("SipServerExternalAccess sip.kloud.example:443"));
    EXPECT_THAT(r.evidence, HasSubstr("120 characters"));
}

TEST_F(SignIn, ARedirectAtTheFirstStepIsPreAuthenticationWithTheSeedsRemedy) {
    auto f = goodWebTicket();
    f.steps = {{"mex", answer(302), 0}};
    f.steps[0].exchange.responseHeaders.emplace("location", "https://adfs.kloud.example/adfs/ls/");
    f.found.clear();
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("mex 302"));
    EXPECT_THAT(r.remedy, HasSubstr("-ExternalPreAuthentication PassThrough"));
}

TEST_F(SignIn, ARefusedNtlmHandshakeNamesTheChallengesAndThePinning) {
    auto f = goodWebTicket();
    f.steps.resize(2);
    f.steps[1].exchange = answer(401);
    f.steps[1].exchange.responseHeaders.emplace("www-authenticate", "Negotiate");
    f.steps[1].exchange.responseHeaders.emplace("www-authenticate", "NTLM");
    f.found.erase("ticketLength");
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("rst 401 (WWW-Authenticate: Negotiate, NTLM)"));
    EXPECT_THAT(r.remedy, HasSubstr("one backend connection"));
}

TEST_F(SignIn, ExternalSipAccessOnAnInternalNameFails) {
    auto f = goodWebTicket();
    f.steps[2].exchange.body =
        "<AutodiscoverResponse><User><SipServerExternalAccess fqdn=\"lyncfe1.kloud.example\" "
        "port=\"5061\"/></User></AutodiscoverResponse>";
    ev.signin[probe::signInWebTicket()] = f;
    EXPECT_EQ(run("signin.webticket").verdict, Verdict::Fail);
}

TEST_F(SignIn, UcwaPassesAndFailsOnALinkToTheBackendPort) {
    ev.signin[probe::signInUcwa()] = goodUcwa();
    auto r = run("signin.ucwa");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    auto f = goodUcwa();
    f.steps[1].exchange.body =
        R"({"_links":{"applications":{"href":"https://lyncws.kloud.example:4443/ucwa/oauth/v1/applications"}}})";
    ev.signin[probe::signInUcwa()] = f;
    r = run("signin.ucwa");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr(":4443/ucwa"));
}

TEST_F(SignIn, AWrongPasswordIsInvalidGrant) {
    auto f = goodUcwa();
    f.steps = {{"oauthtoken", answer(400, R"({"error":"invalid_grant"})"), 0}};
    ev.signin[probe::signInUcwa()] = f;
    auto r = run("signin.ucwa");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("oauthtoken 400"));
    EXPECT_THAT(r.remedy, HasSubstr("password"));
}

TEST_F(SignIn, TheAffinityProbeFailsWhenTheThirdLegIsRefused) {
    SignInFlow f;
    f.steps = {{"negotiate", answer(401), 0}, {"authenticate", answer(401), 0}};
    f.found = {{"challenge", "yes"}, {"busy", "24"}, {"sameConnection", "yes"}};
    ev.signin[probe::signInNtlmAffinity()] = f;
    auto r = run("signin.ntlm-affinity");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("24 other connection(s)"));
    f.steps[1].exchange = answer(200);
    ev.signin[probe::signInNtlmAffinity()] = f;
    EXPECT_EQ(run("signin.ntlm-affinity").verdict, Verdict::Pass);
}

TEST_F(SignIn, TheLongPollIsMeasuredWhenTheEventChannelWasReached) {
    target.user = SignInCredentials{"alice@kloud.example", "KLOUD\\alice", "x"};
    target.longPollSeconds = 2;
    auto f = goodUcwa();
    f.found["longPollTarget"] = "2";
    f.steps.push_back({"long-poll", answer(504), 1.01});
    ev.signin[probe::signInUcwa()] = f;
    auto r = run("webservices.long-poll");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("cut after 1.01 s of a 2 s hold: long-poll 504"));
    EXPECT_THAT(r.remedy, HasSubstr("InactiveTransactionsTimeoutSec"));
    f.steps.back() = {"long-poll", answer(200), 2.0};
    ev.signin[probe::signInUcwa()] = f;
    EXPECT_EQ(run("webservices.long-poll").verdict, Verdict::Pass);
    // The sign-in stopped before the channel: the lab's numbers decide.
    f.steps.pop_back();
    ev.signin[probe::signInUcwa()] = f;
    EXPECT_THAT(run("webservices.long-poll").evidence, Not(HasSubstr("event channel")));
}

TEST_F(SignIn, ASignInThatReachedNobodyNamesTheReachCheckAsItsCause) {
    SignInFlow f;
    SignInStep refused{"mex", answer(0), 0.01};
    refused.exchange.connected = false;
    refused.exchange.transport = TransportError::Refused;
    f.steps = {refused};
    ev.signin[probe::signInWebTicket()] = f;
    CheckContext ctx{lab, target};
    for (auto& r : evaluateAll(catalogue(lab, target), ev, ctx))
        if (r.id == "signin.webticket") {
            EXPECT_NE(
                std::find(r.prerequisites.begin(), r.prerequisites.end(), check::reachConnect()),
                r.prerequisites.end());
            EXPECT_GT(r.seconds, 0);
        }
}

}  // namespace
}  // namespace edgelab::checks
