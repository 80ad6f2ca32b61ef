#include "checks/signin.hpp"

#include "checks/discovery.hpp"
#include "checks/gather.hpp"

#include <cmath>

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

const std::string kRoot = "https://lyncws.kloud.example/Autodiscover/AutodiscoverService.svc/root";

SignInStep step(std::string name, long status, std::string body = "", std::string url = "") {
    SignInStep s{std::move(name), answer(status, std::move(body)), 0};
    s.exchange.url = std::move(url);
    return s;
}

SignInFlow goodWebTicket() {
    SignInFlow f;
    f.steps = {step("lyncdiscover", 200), step("user", 401), step("mex", 200, kWsdl),
               step("rst", 200), step("user", 200, kUserXml)};
    f.discovered = {
        {"lyncdiscover", "https://lyncdiscover.kloud.example/?sipuri=alice%40kloud.example",
         "the lyncdiscover name of the SIP domain"},
        {"user", kRoot + "/user", "Link token=\"User\" of GET https://lyncdiscover... (200)"},
        {"webticket-url", "https://lyncws.kloud.example/WebTicket/WebTicketService.svc",
         "X-MS-WebTicketURL of GET " + kRoot + "/user (401)"},
        {"webticket-endpoint", "https://lyncws.kloud.example/WebTicket/WebTicketService.svc",
         "WebTicketServiceWinNegotiate port of GET .../mex (200)"}};
    f.found = {{"endpoint", "https://lyncws.kloud.example/WebTicket/WebTicketService.svc"},
               {"ticketLength", "120"},
               {"ticketExpires", "2026-11-28T16:00:00Z"},
               {"proofKey", "yes"}};
    return f;
}

SignInFlow goodUcwa() {
    SignInFlow f;
    f.steps = {
        step("lyncdiscover", 200),
        step("user", 401),
        step("oauthtoken", 200, R"({"access_token":"<40 characters>"})"),
        step(
            "user", 200,
            R"({"_links":{"applications":{"href":"https://lyncws.kloud.example/ucwa/oauth/v1/applications"}}})"),
        step("applications", 201,
             R"({"_links":{"events":{"href":"/ucwa/oauth/v1/applications/101/events?ack=1"}}})"),
        step("events", 200,
             R"({"_links":{"next":{"href":"/ucwa/oauth/v1/applications/101/events?ack=2"}}})"),
    };
    f.discovered = {
        {"lyncdiscover", "https://lyncdiscover.kloud.example/?sipuri=alice%40kloud.example",
         "the lyncdiscover name of the SIP domain"},
        {"user", kRoot + "/oauth/user", "_links.user of GET https://lyncdiscover... (200)"},
        {"oauth-href", "https://lyncws.kloud.example/WebTicket/oauthtoken",
         "WWW-Authenticate: MsRtcOAuth href of GET " + kRoot + "/oauth/user (401)"},
        {"applications", "https://lyncws.kloud.example/ucwa/oauth/v1/applications",
         "_links.applications of GET " + kRoot + "/oauth/user (200)"}};
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

// Against a proxy of unknown workers, 24; one worker, 4; else enough that
// all miss the signed-in client's worker once in a million at most.
TEST(AffinityClients, SizedByTheProxysWorkers) {
    EXPECT_EQ(affinityClientsFor(0), kDefaultAffinityClients);
    EXPECT_EQ(affinityClientsFor(1), 4);
    EXPECT_EQ(affinityClientsFor(2), 20);  // 0.5^20 = 9.5e-7, 0.5^19 = 1.9e-6
    EXPECT_EQ(affinityClientsFor(8), 104);
    EXPECT_EQ(affinityClientsFor(64), kMaxAffinityClients);
    EXPECT_EQ(anonymousRequestsFor(0), 4);
    EXPECT_EQ(anonymousRequestsFor(1), 2);
    EXPECT_EQ(anonymousRequestsFor(2), 4);
    for (int w = 2; w <= 40; ++w) {
        const int n = affinityClientsFor(w);
        EXPECT_GT(std::pow(1.0 - 1.0 / w, n - 1), 1e-6) << w;  // none fewer would do
        if (n < kMaxAffinityClients) EXPECT_LE(std::pow(1.0 - 1.0 / w, n), 1e-6) << w;
    }
}

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
    for (const char* id :
         {"signin.discovery", "signin.webticket", "signin.ucwa", "signin.ntlm-affinity",
          "signin.anonymous-after-signin", "signin.anon-meeting"}) {
        auto r = run(id);
        EXPECT_EQ(r.verdict, Verdict::Skip) << id;
        EXPECT_THAT(r.evidence, HasSubstr("--password-file")) << id;
    }
}

TEST_F(SignIn, AWebTicketSignInPassesWithPublicSipAccess) {
    ev.signin[probe::signInWebTicket()] = goodWebTicket();
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    EXPECT_THAT(r.evidence, HasSubstr("SipClientExternalAccess sip.kloud.example:443"));
    EXPECT_THAT(r.evidence, HasSubstr("120 characters"));
}

TEST_F(SignIn, ARedirectAtTheFirstStepIsPreAuthenticationWithTheSeedsRemedy) {
    auto f = goodWebTicket();
    f.steps = {step("lyncdiscover", 302)};
    f.steps[0].exchange.responseHeaders.emplace("location", "https://adfs.kloud.example/adfs/ls/");
    f.discovered.resize(1);
    f.found.clear();
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("lyncdiscover 302"));
    EXPECT_THAT(r.remedy, HasSubstr("-ExternalPreAuthentication PassThrough"));
}

TEST_F(SignIn, ARefusedNtlmHandshakeNamesTheChallengesAndThePinning) {
    auto f = goodWebTicket();
    f.steps.resize(4);
    f.steps[3].exchange = answer(401);
    f.steps[3].exchange.responseHeaders.emplace("www-authenticate", "Negotiate");
    f.steps[3].exchange.responseHeaders.emplace("www-authenticate", "NTLM");
    f.found.erase("ticketLength");
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("rst 401 (WWW-Authenticate: Negotiate, NTLM)"));
    EXPECT_THAT(r.remedy, HasSubstr("one backend connection"));
}

TEST_F(SignIn, ExternalSipAccessOnAnInternalNameFails) {
    auto f = goodWebTicket();
    f.steps[4].exchange.body =
        "<AutodiscoverResponse><User><SipClientExternalAccess fqdn=\"lyncfe1.kloud.example\" "
        "port=\"5061\"/></User></AutodiscoverResponse>";
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("SipClientExternalAccess lyncfe1.kloud.example"));
}

TEST_F(SignIn, TheWebTicketSignInNeedsTheElementExternalDesktopClientsUse) {
    // Any of the other three is not where a client outside registers.
    auto f = goodWebTicket();
    f.steps[4].exchange.body =
        "<AutodiscoverResponse><User>"
        "<SipServerExternalAccess fqdn=\"sip.kloud.example\" port=\"443\"/>"
        "<SipClientInternalAccess fqdn=\"lyncfe1.kloud.example\" port=\"5061\"/>"
        "</User></AutodiscoverResponse>";
    ev.signin[probe::signInWebTicket()] = f;
    auto r = run("signin.webticket");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("without SipClientExternalAccess"));
    EXPECT_THAT(r.evidence, HasSubstr("SipServerExternalAccess sip.kloud.example:443"));
}

TEST_F(SignIn, UcwaPassesAndFailsOnALinkToTheBackendPort) {
    ev.signin[probe::signInUcwa()] = goodUcwa();
    auto r = run("signin.ucwa");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    auto f = goodUcwa();
    f.steps[3].exchange.body =
        R"({"_links":{"applications":{"href":"https://lyncws.kloud.example:4443/ucwa/oauth/v1/applications"}}})";
    ev.signin[probe::signInUcwa()] = f;
    r = run("signin.ucwa");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr(":4443/ucwa"));
}

TEST_F(SignIn, AWrongPasswordIsInvalidGrant) {
    auto f = goodUcwa();
    f.steps = {step("lyncdiscover", 200), step("user", 401),
               step("oauthtoken", 400, R"({"error":"invalid_grant"})")};
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
    f.found["longPollTimeout"] = "2";
    f.steps.push_back({"long-poll", answer(504), 1.01});
    ev.signin[probe::signInUcwa()] = f;
    auto r = run("webservices.long-poll");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence,
                HasSubstr("one P-GET asking timeout=2 (hold 2 s) cut after 1.01 s: long-poll 504"));
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

TEST(Discovery, AutodiscoverLinksAreReadFromJsonAndXml) {
    auto j = autodiscoverLinks(
        R"({"_links":{"self":{"href":"a"},"Redirect":{"href":"https://lyncws2.kloud.example/x"}}})");
    EXPECT_EQ(j.redirect, "https://lyncws2.kloud.example/x");
    auto u = autodiscoverLinks(R"({"_links":{"user":{"href":"u"},"applications":{"href":"/ap"}}})");
    EXPECT_EQ(u.user, "u");
    EXPECT_EQ(u.applications, "/ap");
    auto x = autodiscoverLinks(
        "<AutodiscoverResponse><Root><Link token=\"Domain\" href=\"d\"/>"
        "<Link token=\"User\" href=\"https://lyncws.kloud.example/u\"/>"
        "<Link token=\"OAuth\" href=\"o\"/></Root></AutodiscoverResponse>");
    EXPECT_EQ(x.user, "https://lyncws.kloud.example/u");
    EXPECT_EQ(x.oauthUser, "o");
    EXPECT_TRUE(x.redirect.empty());
    EXPECT_EQ(autodiscoverLinks("<AutodiscoverResponse><Root><Link token=\"redirect\" "
                                "href=\"r\"/></Root></AutodiscoverResponse>")
                  .redirect,
              "r");
    EXPECT_TRUE(autodiscoverLinks("not a document").user.empty());
}

TEST(Discovery, TheTokenEndpointIsTheMsRtcOAuthHref) {
    auto o = msRtcOAuthOf({"Bearer trusted_issuers=\"x\", client_id=\"y\"",
                           "MsRtcOAuth href=\"https://lyncws.kloud.example/WebTicket/oauthtoken\","
                           "grant_type=\"urn:microsoft.rtc:windows,password\""});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->href, "https://lyncws.kloud.example/WebTicket/oauthtoken");
    EXPECT_EQ(o->grantTypes, "urn:microsoft.rtc:windows,password");
    EXPECT_FALSE(msRtcOAuthOf({"Bearer x", "NTLM"}));
    EXPECT_EQ(msRtcOAuthOf({"MsRtcOAuth grant_type=\"password\""})->href, "");
}

TEST(Discovery, OnlyHttpsOnAPublishedNameOn443IsPublic) {
    const std::vector<std::string> hosts{"lyncws.kloud.example", "lyncws2.kloud.example"};
    EXPECT_EQ(notPublicReason("https://LYNCWS2.kloud.example/x", hosts), "");
    EXPECT_EQ(notPublicReason("https://lyncfe1.kloud.example/x", hosts),
              "host lyncfe1.kloud.example is not a published name");
    EXPECT_EQ(notPublicReason("https://lyncws.kloud.example:4443/x", hosts), "port 4443, not 443");
    EXPECT_EQ(notPublicReason("http://lyncws.kloud.example/x", hosts), "not https");
    EXPECT_EQ(resolveLink("/ucwa/a?b=1", "https://h.example/x/y"), "https://h.example/ucwa/a?b=1");
    EXPECT_EQ(resolveLink("https://o.example/z", "https://h.example/x"), "https://o.example/z");
    EXPECT_EQ(withQueryParameter("https://h/e?ack=2", "timeout=900"),
              "https://h/e?ack=2&timeout=900");
    EXPECT_EQ(withQueryParameter("https://h/e", "timeout=9"), "https://h/e?timeout=9");
}

TEST_F(SignIn, DiscoveryPassesWhenEveryUrlFollowedIsPublic) {
    ev.signin[probe::signInWebTicket()] = goodWebTicket();
    ev.signin[probe::signInUcwa()] = goodUcwa();
    auto r = run("signin.discovery");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    EXPECT_THAT(r.evidence, HasSubstr("8 URL(s)"));
}

TEST_F(SignIn, ARedirectToAnInternalHostFailsDiscoveryNamingItAndItsSource) {
    auto f = goodUcwa();
    f.steps.resize(4);
    f.steps[3].exchange.body =
        R"({"_links":{"redirect":{"href":"https://lyncpool2.kloud.example/Autodiscover/AutodiscoverService.svc/root"}}})";
    f.discovered.resize(3);
    f.discovered.push_back(
        {"redirect", "https://lyncpool2.kloud.example/Autodiscover/AutodiscoverService.svc/root",
         "_links.redirect of GET " + kRoot + "/oauth/user (200)"});
    ev.signin[probe::signInUcwa()] = f;
    ev.signin[probe::signInWebTicket()] = goodWebTicket();
    auto r = run("signin.discovery");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("redirect https://lyncpool2.kloud.example/"));
    EXPECT_THAT(r.evidence,
                HasSubstr("from _links.redirect of GET " + kRoot + "/oauth/user (200)"));
    EXPECT_THAT(r.evidence, HasSubstr("lyncpool2.kloud.example is not a published name"));
    EXPECT_THAT(r.remedy, HasSubstr("external web services FQDN"));
    // The sign-in that stopped there is blocked by it: one cause, one failure.
    CheckContext ctx{lab, target};
    for (auto& res : evaluateAll(catalogue(lab, target), ev, ctx)) {
        if (res.id == "signin.ucwa") {
            EXPECT_EQ(res.verdict, Verdict::Blocked) << res.evidence;
            EXPECT_EQ(res.blockedBy, "signin.discovery");
        }
        if (res.id == "signin.webticket") {
            EXPECT_EQ(res.verdict, Verdict::Pass) << res.evidence;
        }
    }
}

TEST_F(SignIn, AnInternalTokenEndpointIsAuthPassThroughsFailureAlone) {
    auto f = goodUcwa();
    f.steps.resize(2);
    f.discovered.resize(2);
    f.discovered.push_back(
        {"oauth-href", "https://lyncfe1.kloud.example/WebTicket/oauthtoken",
         "WWW-Authenticate: MsRtcOAuth href of GET " + kRoot + "/oauth/user (401)"});
    ev.signin[probe::signInUcwa()] = f;
    HttpExchange challenge = answer(401);
    challenge.url = kRoot + "/oauth/user";
    challenge.responseHeaders.emplace(
        "www-authenticate",
        "MsRtcOAuth "
        "href=\"https://lyncfe1.kloud.example/WebTicket/oauthtoken\",grant_type=\"password\"");
    ev.http[probe::oauthUser()] = challenge;
    auto auth = run("auth.passthrough");
    EXPECT_EQ(auth.verdict, Verdict::Fail);
    EXPECT_THAT(auth.evidence, HasSubstr("host lyncfe1.kloud.example is not a published name"));
    CheckContext ctx{lab, target};
    int failed = 0;
    for (auto& res : evaluateAll(catalogue(lab, target), ev, ctx)) {
        failed += res.verdict == Verdict::Fail;
        if (res.id == "signin.discovery" || res.id == "signin.ucwa") {
            EXPECT_EQ(res.verdict, Verdict::Blocked) << res.id << ": " << res.evidence;
            EXPECT_EQ(res.blockedBy, "auth.passthrough") << res.id;
        }
    }
    // The other probes were not run here: only auth.passthrough has evidence to fail on.
    EXPECT_GE(failed, 1);
}

TEST_F(SignIn, AuthPassThroughReadsTheHrefPort) {
    HttpExchange challenge = answer(401);
    challenge.responseHeaders.emplace(
        "www-authenticate",
        "MsRtcOAuth href=\"https://lyncws.kloud.example:4443/WebTicket/oauthtoken\"");
    ev.http[probe::oauthUser()] = challenge;
    auto r = run("auth.passthrough");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("port 4443, not 443"));
    challenge.responseHeaders.clear();
    challenge.responseHeaders.emplace(
        "www-authenticate",
        "MsRtcOAuth href=\"https://lyncws.kloud.example/WebTicket/oauthtoken\"");
    ev.http[probe::oauthUser()] = challenge;
    EXPECT_EQ(run("auth.passthrough").verdict, Verdict::Pass);
}

TEST_F(SignIn, ARedirectLoopFailsDiscovery) {
    auto f = goodUcwa();
    f.steps.resize(4);
    f.stopped = "a redirect loop: https://lyncws.kloud.example/x was named again";
    ev.signin[probe::signInUcwa()] = f;
    auto r = run("signin.discovery");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("redirect loop"));
}

TEST_F(SignIn, ALegAcceptedOnANewConnectionIsSharedAuthentication) {
    SignInFlow f;
    f.steps = {step("negotiate", 401), step("authenticate", 200)};
    f.found = {{"challenge", "yes"}, {"busy", "24"}, {"sameConnection", "no"}};
    ev.signin[probe::signInNtlmAffinity()] = f;
    auto r = run("signin.ntlm-affinity");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("new client connection"));
    EXPECT_THAT(r.remedy, HasSubstr("never hand it to another client"));
}

TEST_F(SignIn, AnAnonymousRequestAnsweredAfterASignInFails) {
    SignInFlow f;
    f.steps = {step("negotiate", 401), step("authenticate", 200), step("anonymous", 401),
               step("anonymous", 200)};
    f.found = {{"challenge", "yes"}, {"busy", "24"}, {"sameConnection", "yes"}};
    ev.signin[probe::signInNtlmAffinity()] = f;
    auto r = run("signin.anonymous-after-signin");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.evidence, HasSubstr("1 anonymous request(s) on fresh connections got 401"));
    EXPECT_THAT(r.evidence, HasSubstr("answered 200 without credentials"));
    f.steps.back() = step("anonymous", 401);
    ev.signin[probe::signInNtlmAffinity()] = f;
    EXPECT_EQ(run("signin.anonymous-after-signin").verdict, Verdict::Pass);
    f.steps = {step("negotiate", 401), step("authenticate", 401)};
    ev.signin[probe::signInNtlmAffinity()] = f;
    r = run("signin.anonymous-after-signin");
    EXPECT_EQ(r.verdict, Verdict::Skip);
    EXPECT_THAT(r.evidence, HasSubstr("signin.ntlm-affinity"));
}

SignInFlow anonMeeting(long status, std::string body, long unknownStatus, std::string unknownBody) {
    SignInFlow f;
    f.steps = {step("meeting", 302),
               step("meeting", 200),
               step("lyncdiscover", 200),
               step("user", 401),
               step("unknown-grant", unknownStatus, std::move(unknownBody)),
               step("oauthtoken", status, std::move(body),
                    "https://lyncws.kloud.example/WebTicket/oauthtoken")};
    f.found["conference"] = "sip:alice@kloud.example;gruu;opaque=app:conf:focus:id:ABC";
    return f;
}

TEST_F(SignIn, TheAnonymousMeetingGrantPassesSkipsOrFails) {
    ev.signin[probe::signInAnonMeeting()] =
        anonMeeting(200, R"({"access_token":"<9 characters>","expires_in":3600})", 400,
                    R"({"error":"unsupported_grant_type"})");
    auto r = run("signin.anon-meeting");
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    EXPECT_THAT(r.evidence, HasSubstr("expires_in 3600 s"));

    ev.signin[probe::signInAnonMeeting()] = anonMeeting(
        400, R"({"error":"unsupported_grant_type"})", 400, R"({"error":"unsupported_grant_type"})");
    r = run("signin.anon-meeting");
    EXPECT_EQ(r.verdict, Verdict::Skip);
    EXPECT_THAT(r.evidence, HasSubstr("unsupported_grant_type"));

    // Answered as an unknown grant is answered: the grant is not there.
    ev.signin[probe::signInAnonMeeting()] =
        anonMeeting(400, R"({"error":"invalid_grant"})", 400, R"({"error":"invalid_grant"})");
    r = run("signin.anon-meeting");
    EXPECT_EQ(r.verdict, Verdict::Skip);
    EXPECT_THAT(r.evidence, HasSubstr("exactly as an unknown grant type (400 invalid_grant)"));

    // Supported, and refused: the conference or the policy.
    ev.signin[probe::signInAnonMeeting()] = anonMeeting(400, R"({"error":"invalid_grant"})", 400,
                                                        R"({"error":"unsupported_grant_type"})");
    r = run("signin.anon-meeting");
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_THAT(r.remedy, HasSubstr("AllowAnonymousParticipantsInMeetings"));
}

}  // namespace
}  // namespace edgelab::checks
