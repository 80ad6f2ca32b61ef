#include "backends/signin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST(OAuthToken, UcwaSignInCreatesAnApplicationWhoseFirstEventsComeAtOnce) {
    SiteConfig site = lyncSite();
    site.eventHold = std::chrono::seconds(7);
    const std::string token =
        mintToken(site, "alice@example.test", kOAuthAudience, std::chrono::system_clock::now());
    auto user = get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/oauth/user");
    user.set(http::field::authorization, "Bearer " + token);
    auto resource = handle(provision::BackendRole::LyncFrontEnd, site, user).response;
    ASSERT_EQ(resource.result(), http::status::ok);
    const std::string apps = json::parse(resource.body())["_links"]["applications"]["href"];
    EXPECT_EQ(apps, "https://lyncws.example.test/ucwa/oauth/v1/applications");

    Request create{http::verb::post, "/ucwa/oauth/v1/applications", 11};
    create.set(http::field::host, "lyncws.example.test");
    create.set(http::field::authorization, "Bearer " + token);
    auto app = handle(provision::BackendRole::LyncFrontEnd, site, create).response;
    ASSERT_EQ(app.result(), http::status::created);
    const std::string events = json::parse(app.body())["_links"]["events"]["href"];
    auto first =
        handle(provision::BackendRole::LyncFrontEnd, site, get("lyncws.example.test", events));
    EXPECT_EQ(first.response.result(), http::status::ok);
    EXPECT_EQ(first.holdFor.count(), 0);
    const std::string next = json::parse(first.response.body())["_links"]["next"]["href"];
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, site, get("lyncws.example.test", next))
                  .holdFor,
              std::chrono::seconds(7));

    // A token signed with another key, or tampered with, is no token.
    SiteConfig other = site;
    other.tokenKey = "another-front-end";
    user.set(http::field::authorization,
             "Bearer " + mintToken(other, "alice@example.test", kOAuthAudience,
                                   std::chrono::system_clock::now()));
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, site, user).response.result(),
              http::status::unauthorized);
    create.set(http::field::authorization, "Bearer " + token + "x");
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, site, create).response.result(),
              http::status::unauthorized);
}

}  // namespace
}  // namespace edgelab::backends
