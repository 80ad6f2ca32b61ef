#include "backends/lync_frontend.hpp"

#include "backends/signin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace ::testing;
using namespace fixture;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kRoot = "https://lyncws.example.test/Autodiscover/AutodiscoverService.svc/root";

TEST(LyncFrontEnd, LyncdiscoverRootIsJsonWithLinksOnTheExternalWebServicesName) {
    auto reply = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                        get("lyncdiscover.example.test", "/?sipuri=alice@example.test"));
    ASSERT_EQ(reply.response.result(), http::status::ok);
    EXPECT_EQ(reply.holdFor.count(), 0);
    EXPECT_THAT(header(reply.response, http::field::content_type), HasSubstr("json"));
    json doc = json::parse(reply.response.body());
    EXPECT_EQ(doc["_links"]["self"]["href"], std::string(kRoot) + "?originalDomain=example.test");
    EXPECT_EQ(doc["_links"]["user"]["href"],
              std::string(kRoot) + "/oauth/user?originalDomain=example.test");
    EXPECT_EQ(doc["_links"]["xframe"]["href"],
              "https://lyncws.example.test/Autodiscover/XFrame/XFrame.html");
}

TEST(LyncFrontEnd, RootLinksNeverNameTheAddressTheRequestReached) {
    // Through a proxy the request may arrive for the server's own name; the
    // links still name the external web services URL of the lab.
    auto reply =
        handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
               get("lyncfe1.corp.example.test:4443", "/Autodiscover/AutodiscoverService.svc/root"));
    ASSERT_EQ(reply.response.result(), http::status::ok);
    EXPECT_THAT(reply.response.body(), Not(HasSubstr("lyncfe1")));
    EXPECT_THAT(reply.response.body(), HasSubstr("https://lyncws.example.test/"));
}

TEST(LyncFrontEnd, LyncdiscoverRootIsXmlWhenTheClientAsksForIt) {
    auto req = get("lyncdiscover.example.test", "/");
    req.set(http::field::accept, std::string(kAutodiscoverXml));
    auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(header(res, http::field::content_type), kAutodiscoverXml);
    const auto& body = res.body();
    auto response = body.find("<AutodiscoverResponse");
    auto root = body.find("<Root>");
    auto rootEnd = body.find("</Root>");
    ASSERT_NE(response, std::string::npos);
    ASSERT_LT(response, root);
    ASSERT_LT(root, rootEnd);
    // No default namespace: clients read the plain path AutodiscoverResponse/Root/Link.
    EXPECT_THAT(body, Not(HasSubstr("xmlns=")));
    EXPECT_THAT(body, HasSubstr("AccessLocation=\"External\""));
    std::string links = body.substr(root, rootEnd - root);
    EXPECT_THAT(links,
                HasSubstr("<Link token=\"Domain\" href=\"" + std::string(kRoot) + "/domain\"/>"));
    EXPECT_THAT(links,
                HasSubstr("<Link token=\"User\" href=\"" + std::string(kRoot) + "/user\"/>"));
}

TEST(LyncFrontEnd, OAuthUserWithoutTokenChallengesAsTheFrontEndDoes) {
    auto res =
        handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
               get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/oauth/user"))
            .response;
    ASSERT_EQ(res.result(), http::status::unauthorized);
    EXPECT_THAT(challenges(res),
                ElementsAre("Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", "
                            "client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
                            "MsRtcOAuth href=\"https://lyncws.example.test/WebTicket/oauthtoken\","
                            "grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,"
                            "password\""));
    EXPECT_EQ(header(res, "X-MS-Server-Fqdn"), "lyncfe1.corp.example.test");
}

TEST(LyncFrontEnd, LegacyUserWithoutTicketNamesTheWebTicketService) {
    auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                      get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/user"))
                   .response;
    ASSERT_EQ(res.result(), http::status::unauthorized);
    EXPECT_EQ(header(res, "X-MS-WebTicketURL"),
              "https://lyncws.example.test/WebTicket/WebTicketService.svc");
}

TEST(LyncFrontEnd, UserResourceWithTokenListsExternalLinksOnThePublicName) {
    auto req = get("lyncws.example.test", "/Autodiscover/AutodiscoverService.svc/root/oauth/user");
    req.set(http::field::authorization,
            "Bearer " + mintToken(lyncSite(), "alice@example.test", kOAuthAudience,
                                  std::chrono::system_clock::now()));
    req.set(http::field::accept, std::string(kAutodiscoverXml));
    auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response;
    ASSERT_EQ(res.result(), http::status::ok);
    const auto& body = res.body();
    EXPECT_THAT(body, HasSubstr("<Link token=\"External/Ucwa\" "
                                "href=\"https://lyncws.example.test/ucwa/v1/applications\"/>"));
    EXPECT_THAT(body,
                HasSubstr("<Link token=\"Internal/Ucwa\" "
                          "href=\"https://lyncfe1.corp.example.test/ucwa/v1/applications\"/>"));
    EXPECT_THAT(body, HasSubstr("<Link token=\"External/AuthBroker\" "
                                "href=\"https://lyncws.example.test/Reach/sip.svc\"/>"));

    req.set(http::field::accept, "application/json");
    json doc =
        json::parse(handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response.body());
    int external = 0;
    for (const auto& link : doc["Links"]) {
        std::string token = link["token"];
        if (token.rfind("External/", 0) == 0) {
            ++external;
            EXPECT_EQ(std::string(link["href"]).rfind("https://lyncws.example.test/", 0), 0u)
                << token;
        }
    }
    EXPECT_EQ(external, 6);
}

TEST(LyncFrontEnd, WindowsAuthenticationServicesChallengeWithNegotiateAndNtlm) {
    for (const char* path :
         {"/abs/handler", "/groupexpansion/service.svc", "/CertProv/CertProvisioningService.svc",
          "/WebTicket/WebTicketService.svc"}) {
        auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                          get("lyncws.example.test", path))
                       .response;
        EXPECT_EQ(res.result(), http::status::unauthorized) << path;
        EXPECT_THAT(challenges(res), ElementsAre("Negotiate", "NTLM")) << path;
    }
}

TEST(LyncFrontEnd, OAuthServicesChallengeWithMsRtcOAuth) {
    for (const char* path : {"/ucwa/v1/applications", "/Mcx/McxService.svc"}) {
        auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                          get("lyncws.example.test", path))
                       .response;
        EXPECT_EQ(res.result(), http::status::unauthorized) << path;
        EXPECT_THAT(challenges(res), Contains(StartsWith("MsRtcOAuth href="))) << path;
    }
}

TEST(LyncFrontEnd, PagesAnswer200) {
    for (const char* path : {"/Reach/sip.svc", "/Scheduler", "/lwa/WebPages/LwaClient.aspx",
                             "/Autodiscover/XFrame/XFrame.html"}) {
        auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                          get("lyncws.example.test", path))
                       .response;
        EXPECT_EQ(res.result(), http::status::ok) << path;
    }
}

TEST(LyncFrontEnd, MeetSimpleUrlNamesTheConferenceAndLinksTheWebApp) {
    auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                      get("meet.example.test", "/alice/K7QP2X"))
                   .response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_THAT(res.body(), HasSubstr("K7QP2X"));
    EXPECT_THAT(res.body(),
                HasSubstr("href=\"https://lyncws.example.test/lwa/WebPages/LwaClient.aspx?"));
}

TEST(LyncFrontEnd, MeetRedirectIsBuiltFromTheRequestHostAndTheListeningPort) {
    auto res =
        handle(provision::BackendRole::LyncFrontEnd, lyncSite(), get("meet.example.test", "/alice"))
            .response;
    ASSERT_EQ(res.result(), http::status::found);
    EXPECT_THAT(header(res, http::field::location),
                MatchesRegex("https://meet\\.example\\.test:4443/alice/[A-Z0-9]{8}"));

    res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                 get("lyncfe1.corp.example.test", "/meet/alice/K7QP2X"))
              .response;
    ASSERT_EQ(res.result(), http::status::found);
    EXPECT_THAT(header(res, http::field::location),
                StartsWith("https://lyncfe1.corp.example.test:4443/lwa/WebPages/LwaClient.aspx?"));
}

TEST(LyncFrontEnd, DialinPageListsAccessNumbers) {
    auto res =
        handle(provision::BackendRole::LyncFrontEnd, lyncSite(), get("dialin.example.test", "/"))
            .response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_THAT(res.body(), HasSubstr("id=\"access-numbers\""));
    EXPECT_THAT(res.body(), HasSubstr("+1 (425) 555-0100"));
}

TEST(LyncFrontEnd, AnythingElseIs404) {
    auto site = lyncSite();
    EXPECT_EQ(
        handle(provision::BackendRole::LyncFrontEnd, site, get("lyncws.example.test", "/nothing"))
            .response.result(),
        http::status::not_found);
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, site, get("elsewhere.example.test", "/"))
                  .response.result(),
              http::status::not_found);
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, site, get("meet.example.test", "/a/b/c"))
                  .response.result(),
              http::status::not_found);
}

TEST(LyncFrontEnd, MissingHostIs400) {
    Request req{http::verb::get, "/", 11};
    EXPECT_EQ(handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response.result(),
              http::status::bad_request);
}

TEST(LyncFrontEnd, HeadCarriesTheLengthButNoBody) {
    auto req = get("lyncdiscover.example.test", "/");
    auto full = handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response;
    req.method(http::verb::head);
    auto head = handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req).response;
    EXPECT_TRUE(head.body().empty());
    EXPECT_EQ(header(head, http::field::content_length), std::to_string(full.body().size()));
}

}  // namespace
}  // namespace edgelab::backends
