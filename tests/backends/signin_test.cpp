#include "backends/signin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backends/wstrust.hpp"
#include "provision/ntlm.hpp"
#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace fixture;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kService = "/WebTicket/WebTicketService.svc";

const std::string kRst =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
    "<trust:RequestSecurityToken xmlns:trust=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">"
    "<trust:TokenType>urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1"
    "</trust:TokenType></trust:RequestSecurityToken></s:Body></s:Envelope>";

Request rst(const std::string& authorization) {
    Request req{http::verb::post, kService, 11};
    req.set(http::field::host, "lyncws.example.test");
    req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.body() = kRst;
    req.prepare_payload();
    return req;
}

// A client's three legs on one connection, as [MS-NLMP] and RFC 4559 run them.
struct NtlmClient {
    std::string scheme = "NTLM";
    ntlm::Credential credential{"alice", "EXAMPLE", "Pa55w.rd"};

    std::string negotiate() const {
        return scheme + " " +
               ntlm::base64(ntlm::encode(ntlm::NegotiateMessage{
                   ntlm::kNegotiateUnicode | ntlm::kNegotiateNtlm |
                   ntlm::kNegotiateExtendedSessionSecurity | ntlm::kNegotiateKeyExchange}));
    }
    std::string authenticate(const Response& challengeResponse) const {
        auto offered = challenges(challengeResponse);
        EXPECT_EQ(offered.size(), 1u);
        auto token = ntlm::unbase64(offered.at(0).substr(scheme.size() + 1));
        auto challenge = ntlm::decodeChallenge(token.value());
        EXPECT_TRUE(challenge);
        auto message =
            ntlm::respond(*challenge, credential, ntlm::Bytes(8, 0x11), 1, ntlm::Bytes(16, 0x22));
        return scheme + " " + ntlm::base64(ntlm::encode(message));
    }
};

Response send(const Request& req, ConnectionAuth& connection) {
    return handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req, connection).response;
}

TEST(WebTicketService, MetadataIsAnsweredAnonymouslyWithPortsOnThePublicName) {
    ConnectionAuth connection;
    auto res = send(get("lyncws.example.test", std::string(kService) + "/mex"), connection);
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_THAT(res.body(),
                HasSubstr("<wsdl:port name=\"WebTicketServiceWinNegotiate\" "
                          "binding=\"tns:WebTicketServiceWinNegotiate\"><soap12:address "
                          "location=\"https://lyncws.example.test/WebTicket/"
                          "WebTicketService.svc\"/>"));
    EXPECT_THAT(res.body(),
                HasSubstr("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"));
    EXPECT_THAT(res.body(), HasSubstr("<http:NegotiateAuthentication/>"));
    EXPECT_THAT(res.body(), Not(HasSubstr("lyncfe1")));
}

TEST(WebTicketService, NtlmOnOneConnectionGetsATicketThatOpensTheUserResource) {
    for (std::string scheme : {"NTLM", "Negotiate"}) {
        NtlmClient client{scheme};
        ConnectionAuth connection;
        auto challenge = send(rst(client.negotiate()), connection);
        ASSERT_EQ(challenge.result(), http::status::unauthorized) << scheme;
        auto issued = send(rst(client.authenticate(challenge)), connection);
        ASSERT_EQ(issued.result(), http::status::ok) << scheme << issued.body();
        EXPECT_THAT(issued.body(), HasSubstr("RequestSecurityTokenResponse"));
        EXPECT_THAT(issued.body(), HasSubstr("<trust:Lifetime>"));
        EXPECT_THAT(issued.body(), HasSubstr("<trust:RequestedProofToken>"));
        const auto& body = issued.body();
        const auto start = body.find("cwt=");
        const std::string ticket = body.substr(start, body.find('<', start) - start);

        auto user = get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/user");
        user.set("X-MS-WebTicket", "opaque=" + ticket);
        user.set(http::field::accept, "application/vnd.microsoft.rtc.autodiscover+xml;v=1");
        ConnectionAuth other;
        auto resource = send(user, other);
        ASSERT_EQ(resource.result(), http::status::ok);
        EXPECT_THAT(resource.body(), HasSubstr("<SipServerExternalAccess fqdn=\"sip.example.test\" "
                                               "port=\"443\"/>"));
        EXPECT_THAT(resource.body(),
                    HasSubstr("<SipClientInternalAccess "
                              "fqdn=\"lyncfe1.corp.example.test\" port=\"5061\"/>"));
    }
}

TEST(WebTicketService, AWrongPasswordGetsExactlyTheAnonymousChallenge) {
    NtlmClient client;
    client.credential.password = "wrong";
    ConnectionAuth connection;
    auto refused =
        send(rst(client.authenticate(send(rst(client.negotiate()), connection))), connection);
    ConnectionAuth fresh;
    auto anonymous = send(rst(""), fresh);
    EXPECT_EQ(refused.result(), http::status::unauthorized);
    EXPECT_THAT(challenges(refused), ElementsAre("Negotiate", "NTLM"));
    EXPECT_EQ(challenges(refused), challenges(anonymous));
    EXPECT_EQ(refused.body(), anonymous.body());
    EXPECT_THAT(refused.body(), Not(HasSubstr("password")));
}

TEST(WebTicketService, TheThirdLegOnAnotherConnectionIsRefused) {
    NtlmClient client;
    ConnectionAuth first, second;
    auto challenge = send(rst(client.negotiate()), first);
    // Another client's handshake on the first connection replaces its challenge.
    send(rst(client.negotiate()), first);
    EXPECT_EQ(send(rst(client.authenticate(challenge)), first).result(),
              http::status::unauthorized);

    auto again = send(rst(client.negotiate()), first);
    EXPECT_EQ(send(rst(client.authenticate(again)), second).result(), http::status::unauthorized);
}

TEST(WebTicketService, ASignedInConnectionStaysSignedIn) {
    NtlmClient client;
    ConnectionAuth connection;
    auto challenge = send(rst(client.negotiate()), connection);
    ASSERT_EQ(send(rst(client.authenticate(challenge)), connection).result(), http::status::ok);
    EXPECT_EQ(send(rst(""), connection).result(), http::status::ok);
    EXPECT_EQ(connection.signedInSipUri, "alice@example.test");
}

Request tokenRequest(const std::string& body) {
    Request req{http::verb::post, "/WebTicket/oauthtoken", 11};
    req.set(http::field::host, "lyncws.example.test");
    req.set(http::field::content_type, "application/x-www-form-urlencoded");
    req.body() = body;
    req.prepare_payload();
    return req;
}

TEST(OAuthToken, ThePasswordGrantGivesATokenOnlyForTheRightPassword) {
    ConnectionAuth c;
    auto ok = send(
        tokenRequest("grant_type=password&username=alice%40example.test&password=Pa55w.rd"), c);
    ASSERT_EQ(ok.result(), http::status::ok);
    auto token = json::parse(ok.body())["access_token"].get<std::string>();
    EXPECT_EQ(tokenSubject(lyncSite(), token, kOAuthAudience, std::chrono::system_clock::now()),
              "alice@example.test");
    // A web ticket is not an OAuth token, nor the other way round.
    EXPECT_FALSE(
        tokenSubject(lyncSite(), token, kWebTicketAudience, std::chrono::system_clock::now()));

    auto wrong =
        send(tokenRequest("grant_type=password&username=alice%40example.test&password=x"), c);
    auto unknown =
        send(tokenRequest("grant_type=password&username=bob%40example.test&password=x"), c);
    EXPECT_EQ(wrong.result(), http::status::bad_request);
    EXPECT_EQ(json::parse(wrong.body())["error"], "invalid_grant");
    EXPECT_EQ(unknown.body(), wrong.body());
}

// pidgin-sipe's request (src/core/sipe-svc.c, sipe_svc_webticket): SOAP 1.1,
// text/xml, a SAML 1.1 token with Claims and 256 bits of Entropy.
std::string sipeRst() {
    std::ifstream in(std::string(EDGELAB_SOURCE_DIR) + "/tests/fixtures/signin/sipe-rst-soap11.xml",
                     std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Request soapRequest(const std::string& body, const std::string& contentType) {
    Request req{http::verb::post, kService, 11};
    req.set(http::field::host, "lyncws.example.test");
    req.set(http::field::content_type, contentType);
    req.set("SOAPAction", "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\"");
    req.body() = body;
    req.prepare_payload();
    return req;
}

// A connection signed in with NTLM, as sipe's HTTP stack does it: the body
// is sent with each leg.
Response signedIn(const std::string& body, const std::string& contentType, ConnectionAuth& c) {
    NtlmClient client;
    auto leg1 = soapRequest(body, contentType);
    leg1.set(http::field::authorization, client.negotiate());
    auto challenge = send(leg1, c);
    auto leg2 = soapRequest(body, contentType);
    leg2.set(http::field::authorization, client.authenticate(challenge));
    return send(leg2, c);
}

// What sipe cuts out of the response (sipe_xml_extract_raw "Assertion").
std::string rawAssertion(const std::string& body) {
    const auto start = body.find("<saml:Assertion");
    const auto end = body.find("</saml:Assertion>");
    if (start == std::string::npos || end == std::string::npos) return {};
    return body.substr(start, end + 17 - start);
}

Response userResource(const std::string& ticketHeader) {
    auto user = get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/user");
    user.set("X-MS-WebTicket", ticketHeader);
    user.set(http::field::accept, "application/vnd.microsoft.rtc.autodiscover+xml;v=1");
    ConnectionAuth fresh;
    return send(user, fresh);
}

std::string b64(const std::string& text) {
    return ntlm::base64(ntlm::Bytes(text.begin(), text.end()));
}

TEST(WebTicketSaml, SipesSoap11RequestGetsASaml11AssertionInSoap11) {
    ConnectionAuth c;
    auto res = signedIn(sipeRst(), "text/xml", c);
    ASSERT_EQ(res.result(), http::status::ok) << res.body();
    EXPECT_THAT(header(res, http::field::content_type), HasSubstr("text/xml"));
    const auto& body = res.body();
    EXPECT_THAT(body,
                HasSubstr("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""));
    EXPECT_THAT(body, HasSubstr("<trust:TokenType>" + std::string(kSaml11TokenType)));
    EXPECT_THAT(body, HasSubstr("Context=\"4b1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d\""));
    EXPECT_THAT(body, HasSubstr("<trust:Lifetime><wsu:Created"));
    EXPECT_THAT(body, HasSubstr("<trust:ComputedKey>http://docs.oasis-open.org/ws-sx/ws-trust/"
                                "200512/CK/PSHA1</trust:ComputedKey>"));
    // The server's entropy: the first BinarySecret (sipe takes the first), 32 bytes.
    const auto secret = body.find("BinarySecret>") + 13;
    ASSERT_GT(body.find("<trust:Entropy>"), 0u);
    EXPECT_LT(body.find("<trust:Entropy>"), secret);
    EXPECT_EQ(ntlm::unbase64(body.substr(secret, body.find('<', secret) - secret))->size(), 32u);
    const std::string assertion = rawAssertion(body);
    ASSERT_FALSE(assertion.empty());
    EXPECT_THAT(assertion, HasSubstr("AssertionID=\"_"));
    EXPECT_THAT(assertion, HasSubstr("<saml:Conditions NotBefore="));
    EXPECT_THAT(assertion, HasSubstr("sip:alice@example.test"));

    auto resource = userResource("opaque=" + b64(assertion));
    ASSERT_EQ(resource.result(), http::status::ok) << resource.body();
    EXPECT_THAT(resource.body(),
                HasSubstr("<SipClientExternalAccess fqdn=\"sip.example.test\" port=\"443\"/>"));
}

TEST(WebTicketSaml, Soap12IsAnsweredInSoap12) {
    std::string body = sipeRst();
    body.replace(body.find("http://schemas.xmlsoap.org/soap/envelope/"), 41,
                 "http://www.w3.org/2003/05/soap-envelope");
    ConnectionAuth c;
    auto res = signedIn(body, "application/soap+xml; charset=utf-8", c);
    ASSERT_EQ(res.result(), http::status::ok) << res.body();
    EXPECT_THAT(header(res, http::field::content_type), HasSubstr("application/soap+xml"));
    EXPECT_THAT(res.body(), HasSubstr("xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""));
    EXPECT_THAT(res.body(), HasSubstr("<saml:Assertion"));
}

TEST(WebTicketSaml, BadRequestsGetAFaultWithDiagnosticsNever200) {
    std::string unknownType = sipeRst();
    unknownType.replace(unknownType.find(std::string(kSaml11TokenType)), kSaml11TokenType.size(),
                        "urn:example:no-such-token");
    std::string badEntropy = sipeRst();
    badEntropy.replace(badEntropy.find("<wst:BinarySecret>") + 18, 4, "!!!!");
    const std::pair<std::string, std::string> cases[] = {
        {unknownType, "not supported: urn:example:no-such-token"},
        {"this is not XML <", "not well-formed XML"},
        {"<a/>", "not a SOAP Envelope"},
        {"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/>"
         "</s:Envelope>",
         "no RequestSecurityToken"},
        {badEntropy, "Entropy"},
        {sipeRst().substr(0, 400), "not well-formed XML"},
    };
    for (const auto& [body, reason] : cases) {
        ConnectionAuth c;
        auto res = signedIn(body, "text/xml", c);
        EXPECT_EQ(res.result(), http::status::bad_request) << reason;
        EXPECT_THAT(header(res, "X-Ms-diagnostics"), HasSubstr(reason));
        EXPECT_THAT(header(res, "X-Ms-diagnostics"),
                    HasSubstr("source=\"lyncfe1.corp.example.test\""));
        EXPECT_THAT(res.body(), HasSubstr("<faultstring xml:lang=\"en-US\">"));
        EXPECT_THAT(res.body(), HasSubstr("<faultcode>s:Client</faultcode>"));
    }
}

TEST(WebTicketSaml, AClaimForAnotherUserIsRefused) {
    std::string body = sipeRst();
    body.replace(body.find("sip:alice@"), 10, "sip:bob@");
    ConnectionAuth c;
    auto res = signedIn(body, "text/xml", c);
    EXPECT_EQ(res.result(), http::status::forbidden);
    EXPECT_THAT(header(res, "X-Ms-diagnostics"), HasSubstr("not the user who signed in"));
}

TEST(WebTicketSaml, ForgedExpiredAndBrokenTicketsAreRefused) {
    ConnectionAuth c;
    const std::string assertion = rawAssertion(signedIn(sipeRst(), "text/xml", c).body());
    ASSERT_FALSE(assertion.empty());
    std::string otherUser = assertion;
    otherUser.replace(otherUser.find("sip:alice@"), 10, "sip:bob@");
    std::string longer = assertion;
    longer.replace(longer.find("NotOnOrAfter=\"") + 14, 4, "2099");
    SiteConfig other = lyncSite();
    other.tokenKey = "another-front-end";
    const auto now = std::chrono::system_clock::now();
    const std::string foreign = samlAssertion(
        {newAssertionId(), "alice@example.test", "x", now, now + std::chrono::hours(1)}, "x",
        other.tokenKey);
    const std::vector<std::string> refused = {
        "opaque=" + b64(otherUser),
        "opaque=" + b64(longer),
        "opaque=" + b64(foreign),
        "opaque=" + b64(assertion).substr(1),
        "opaque=%%%%",
        "opaque=",
        "opaque=" + mintToken(lyncSite(), "alice@example.test", kOAuthAudience, now),
        b64(assertion)};
    for (const std::string& ticket : refused) {
        auto res = userResource(ticket);
        EXPECT_EQ(res.result(), http::status::unauthorized) << ticket;
        EXPECT_THAT(header(res, "X-Ms-diagnostics"), HasSubstr("The web ticket is refused: "))
            << ticket;
    }
    // Issued for another service (AppliesTo elsewhere), signed by this key:
    // not replayed on the user resource.
    const std::string elsewhere =
        samlAssertion({newAssertionId(), "alice@example.test", "https://sts.other.test/service",
                       now, now + std::chrono::hours(1)},
                      "x", lyncSite().tokenKey);
    EXPECT_THAT(header(userResource("opaque=" + b64(elsewhere)), "X-Ms-diagnostics"),
                HasSubstr("issued for another service"));
    EXPECT_EQ(userResource("opaque=" + b64(assertion)).result(), http::status::ok);

    auto later = verifySamlAssertion(assertion, lyncSite().tokenKey, now + std::chrono::hours(9));
    ASSERT_FALSE(later);
    EXPECT_THAT(later.error(), HasSubstr("expired"));
    // A date no clock holds (found by fuzz_webticket: a chrono overflow) reads as no date.
    std::string farFuture = assertion;
    farFuture.replace(farFuture.find("NotOnOrAfter=\"") + 14, 4, "4052");
    EXPECT_THAT(verifySamlAssertion(farFuture, lyncSite().tokenKey, now).error(),
                HasSubstr("lacks an AssertionID, a subject, its Conditions"));
    auto forged = verifySamlAssertion(otherUser, lyncSite().tokenKey, now);
    ASSERT_FALSE(forged);
    EXPECT_THAT(forged.error(), HasSubstr("signature"));
}

TEST(WebTicketSaml, TheServiceTakesOnlyPost) {
    ConnectionAuth c;
    ASSERT_EQ(signedIn(sipeRst(), "text/xml", c).result(), http::status::ok);
    auto get = fixture::get("lyncws.example.test", kService);
    EXPECT_EQ(send(get, c).result(), http::status::method_not_allowed);
}

TEST(OAuthToken, EveryAnswerIsUncachedJson) {
    ConnectionAuth c;
    for (const std::string body :
         {"grant_type=password&username=alice%40example.test&password=Pa55w.rd",
          "grant_type=password&username=alice%40example.test&password=x", "grant_type=implicit",
          ""}) {
        auto res = send(tokenRequest(body), c);
        EXPECT_EQ(header(res, http::field::cache_control), "no-store") << body;
        EXPECT_TRUE(json::accept(res.body())) << body;
    }
}

TEST(OAuthToken, UnknownGrantsAreUnsupported) {
    ConnectionAuth c;
    for (const std::string body : {"grant_type=client_credentials", "grant_type=", "x=y", ""}) {
        auto res = send(tokenRequest(body), c);
        EXPECT_EQ(res.result(), http::status::bad_request) << body;
        EXPECT_EQ(json::parse(res.body())["error"], "unsupported_grant_type") << body;
    }
}

TEST(OAuthToken, TheWindowsGrantSignsInWithNtlmOnTheTokenEndpoint) {
    for (std::string scheme : {"NTLM", "Negotiate"}) {
        NtlmClient client{scheme};
        ConnectionAuth c;
        auto anonymous = send(tokenRequest("grant_type=urn:microsoft.rtc:windows"), c);
        EXPECT_EQ(anonymous.result(), http::status::unauthorized);
        EXPECT_THAT(challenges(anonymous), ElementsAre("Negotiate", "NTLM"));
        auto leg1 = tokenRequest("grant_type=urn:microsoft.rtc:windows");
        leg1.set(http::field::authorization, client.negotiate());
        auto challenge = send(leg1, c);
        ASSERT_EQ(challenge.result(), http::status::unauthorized);
        auto leg2 = tokenRequest("grant_type=urn:microsoft.rtc:windows");
        leg2.set(http::field::authorization, client.authenticate(challenge));
        auto ok = send(leg2, c);
        ASSERT_EQ(ok.result(), http::status::ok) << scheme << ok.body();
        json doc = json::parse(ok.body());
        EXPECT_EQ(doc["expires_in"], 28800);
        EXPECT_EQ(doc["ms_rtc_identityscope"], "local");
        EXPECT_EQ(doc["token_type"], "Bearer");
        EXPECT_EQ(tokenSubject(lyncSite(), doc["access_token"].get<std::string>(), kOAuthAudience,
                               std::chrono::system_clock::now()),
                  "alice@example.test");
    }
}

TEST(OAuthToken, AnAnonymousMeetingJoinGetsAnHourForAConferenceOfTheSite) {
    ConnectionAuth c;
    const std::string conference =
        "sip%3Aalice%40example.test%3Bgruu%3Bopaque%3Dapp%3Aconf%3Afocus%3Aid%3AK7QP2X";
    auto ok = send(tokenRequest("grant_type=urn:microsoft.rtc:anonmeeting&password=&"
                                "ms_rtc_conferenceuri=" +
                                conference),
                   c);
    ASSERT_EQ(ok.result(), http::status::ok) << ok.body();
    json doc = json::parse(ok.body());
    EXPECT_EQ(doc["expires_in"], 3600);
    EXPECT_EQ(doc["ms_rtc_identityscope"], "anonymous");
    for (const std::string bad :
         {"sip%3Aalice%40other.test%3Bgruu%3Bopaque%3Dapp%3Aconf%3Afocus%3Aid%3AK7QP2X",
          "sip%3Aalice%40example.test", "alice", "",
          "sip%3Aal%20ice%40example.test%3Bgruu%3Bopaque%3Dapp%3Aconf%3Afocus%3Aid%3AK7"}) {
        auto res = send(
            tokenRequest("grant_type=urn:microsoft.rtc:anonmeeting&ms_rtc_conferenceuri=" + bad),
            c);
        EXPECT_EQ(res.result(), http::status::bad_request) << bad;
        EXPECT_EQ(json::parse(res.body())["error"], "invalid_grant") << bad;
    }
}

}  // namespace
}  // namespace edgelab::backends
