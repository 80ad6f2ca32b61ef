// A front end that is not the user's home pool (a Director) answers the
// signed-in user resource with a redirect to the home pool, and a front end
// names its token endpoint after the host it was asked for.
#include "backends/lync_frontend.hpp"

#include "backends/signin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace fixture;
using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kUserPath = "/Autodiscover/AutodiscoverService.svc/root/oauth/user";
constexpr auto kHomeRoot =
    "https://lyncws2.example.test/Autodiscover/AutodiscoverService.svc/root"
    "?originalDomain=example.test";

SiteConfig director() {
    SiteConfig site = lyncSite();
    site.users.front().homeWebServices = "lyncws2.example.test";
    return site;
}

Request signedIn(const SiteConfig& site, const char* path,
                 const char* host = "lyncws.example.test") {
    auto req = get(host, path);
    req.set(http::field::authorization,
            "Bearer " + mintToken(site, "alice@example.test", kOAuthAudience,
                                  std::chrono::system_clock::now()));
    return req;
}

TEST(Director, TheUserResourceOfAUserHomedElsewhereIsARedirectToTheHomePool) {
    auto res =
        handle(provision::BackendRole::LyncFrontEnd, director(), signedIn(director(), kUserPath))
            .response;
    ASSERT_EQ(res.result(), http::status::ok);
    json doc = json::parse(res.body());
    EXPECT_EQ(doc["_links"]["redirect"]["href"], kHomeRoot);
    EXPECT_FALSE(doc["_links"].contains("applications"));
    EXPECT_FALSE(doc.contains("SipClientExternalAccess"));

    auto xml = signedIn(director(), kUserPath);
    xml.set(http::field::accept, std::string(kAutodiscoverXml));
    auto body = handle(provision::BackendRole::LyncFrontEnd, director(), xml).response.body();
    EXPECT_THAT(body, HasSubstr("<Root>"));
    EXPECT_THAT(body, HasSubstr("<Link token=\"Redirect\" href=\"" +
                                std::string("https://lyncws2.example.test/Autodiscover/"
                                            "AutodiscoverService.svc/root?originalDomain="
                                            "example.test") +
                                "\"/>"));
}

TEST(Director, TheHomePoolAndAUserHomedAnywhereGetTheUserResource) {
    SiteConfig home = director();
    home.webServices = "lyncws2.example.test";
    auto res = handle(provision::BackendRole::LyncFrontEnd, home,
                      signedIn(home, kUserPath, "lyncws2.example.test"))
                   .response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_FALSE(json::parse(res.body())["_links"].contains("redirect"));
    // Without a home pool the user is served wherever it signs in.
    res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(), signedIn(lyncSite(), kUserPath))
              .response;
    EXPECT_TRUE(json::parse(res.body())["_links"].contains("applications"));
}

TEST(Director, AnAnonymousUserResourceIsStillTheChallenge) {
    auto res = handle(provision::BackendRole::LyncFrontEnd, director(),
                      get("lyncws.example.test", kUserPath))
                   .response;
    EXPECT_EQ(res.result(), http::status::unauthorized);
}

TEST(FrontEnd, TheTokenEndpointIsNamedAfterTheHostAskedFor) {
    auto res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                      get("lyncfe1.corp.example.test:4443", kUserPath))
                   .response;
    ASSERT_EQ(res.result(), http::status::unauthorized);
    EXPECT_THAT(challenges(res),
                Contains(HasSubstr(
                    "MsRtcOAuth href=\"https://lyncfe1.corp.example.test/WebTicket/oauthtoken\"")));
    res = handle(provision::BackendRole::LyncFrontEnd, lyncSite(),
                 get("lyncws.example.test", kUserPath))
              .response;
    EXPECT_THAT(challenges(res),
                Contains(HasSubstr(
                    "MsRtcOAuth href=\"https://lyncws.example.test/WebTicket/oauthtoken\"")));
    EXPECT_THAT(challenges(res), Not(Contains(HasSubstr("lyncfe1"))));
}

}  // namespace
}  // namespace edgelab::backends
