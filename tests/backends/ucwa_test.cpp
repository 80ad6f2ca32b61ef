#include "backends/ucwa.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends/signin.hpp"
#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace fixture;
using nlohmann::json;
using ::testing::HasSubstr;

const std::string kApps = "/ucwa/oauth/v1/applications";
const std::string kBody =
    R"({"UserAgent":"UCWA Samples","EndpointId":"a917c6f4","Culture":"en-US"})";

// One front end (its application registry) and a user's token on it.
struct Ucwa {
    SiteConfig site = lyncSite();
    std::string token =
        mintToken(site, "alice@example.test", kOAuthAudience, std::chrono::system_clock::now());

    Reply send(http::verb verb, const std::string& target, const std::string& body = {},
               const std::string& bearer = "mine") {
        Request req{verb, target, 11};
        req.set(http::field::host, "lyncws.example.test");
        if (bearer == "mine")
            req.set(http::field::authorization, "Bearer " + token);
        else if (!bearer.empty())
            req.set(http::field::authorization, "Bearer " + bearer);
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
        return handle(provision::BackendRole::LyncFrontEnd, site, req);
    }
    json created() {
        auto r = send(http::verb::post, kApps, kBody);
        EXPECT_EQ(r.response.result(), http::status::created) << r.response.body();
        return json::parse(r.response.body());
    }
};

TEST(Ucwa, CreatingAnApplicationNeedsUserAgentEndpointIdAndCulture) {
    Ucwa u;
    for (const std::string body :
         {"", "{}", "[]", "not json", R"({"UserAgent":"a","EndpointId":"b"})",
          R"({"UserAgent":"a","EndpointId":"b","Culture":"en US"})",
          R"({"UserAgent":"","EndpointId":"b","Culture":"en-US"})",
          R"({"UserAgent":1,"EndpointId":"b","Culture":"en-US"})"}) {
        auto r = u.send(http::verb::post, kApps, body);
        EXPECT_EQ(r.response.result(), http::status::bad_request) << body;
        EXPECT_FALSE(json::parse(r.response.body())["message"].get<std::string>().empty());
    }
    auto anonymous = u.send(http::verb::post, kApps, kBody, "");
    EXPECT_EQ(anonymous.response.result(), http::status::unauthorized);
}

TEST(Ucwa, TheApplicationEmbedsMeAndTheLinksClientsUse) {
    Ucwa u;
    auto r =
        u.send(http::verb::post, kApps, R"({"userAgent":"x","endpointId":"e","culture":"en-US"})");
    ASSERT_EQ(r.response.result(), http::status::created);
    json app = json::parse(r.response.body());
    const std::string self = app["_links"]["self"]["href"];
    EXPECT_EQ(std::string(r.response[http::field::location]), self);
    EXPECT_EQ(app["type"], "Application");
    EXPECT_EQ(app["culture"], "en-US");
    EXPECT_EQ(app["_links"]["events"]["href"], self + "/events?ack=1");
    EXPECT_EQ(app["_embedded"]["me"]["uri"], "sip:alice@example.test");
    EXPECT_EQ(app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"],
              self + "/me/makeMeAvailable");
    for (const char* rel : {"people", "onlineMeetings", "communication"})
        EXPECT_TRUE(app["_embedded"][rel]["_links"]["self"].is_object()) << rel;
    EXPECT_EQ(u.send(http::verb::get, self).response.result(), http::status::ok);
}

TEST(Ucwa, DeleteEndsTheApplicationAndOnlyItsOwnerSeesIt) {
    Ucwa u;
    const std::string self = u.created()["_links"]["self"]["href"];
    const std::string bob =
        mintToken(u.site, "bob@example.test", kOAuthAudience, std::chrono::system_clock::now());
    EXPECT_EQ(u.send(http::verb::get, self, {}, bob).response.result(), http::status::not_found);
    EXPECT_EQ(u.send(http::verb::delete_, self, {}, bob).response.result(),
              http::status::not_found);
    EXPECT_EQ(u.send(http::verb::delete_, self).response.result(), http::status::no_content);
    EXPECT_EQ(u.send(http::verb::get, self).response.result(), http::status::not_found);
    EXPECT_EQ(u.send(http::verb::get, self + "/events?ack=1").response.result(),
              http::status::not_found);
    EXPECT_EQ(u.send(http::verb::delete_, self).response.result(), http::status::not_found);
}

TEST(Ucwa, EventsNeedTheTokenAndAnApplicationThatExists) {
    Ucwa u;
    const std::string events = u.created()["_links"]["events"]["href"];
    EXPECT_EQ(u.send(http::verb::get, events, {}, "").response.result(),
              http::status::unauthorized);
    EXPECT_EQ(u.send(http::verb::get, events, {}, "cwt=forged.x").response.result(),
              http::status::unauthorized);
    EXPECT_EQ(u.send(http::verb::get, kApps + "/101/events?ack=1").response.result(),
              http::status::not_found);
    EXPECT_EQ(u.send(http::verb::get, events).response.result(), http::status::ok);
}

TEST(Ucwa, TheFirstEventsComeAtOnceTheNextAreHeldForTheScaledTimeout) {
    Ucwa u;
    u.site.eventHold = std::chrono::seconds(3);  // 180 s at a scale of 1/60
    const std::string events = u.created()["_links"]["events"]["href"];
    auto first = u.send(http::verb::get, events);
    EXPECT_EQ(first.holdFor.count(), 0);
    const std::string next = json::parse(first.response.body())["_links"]["next"]["href"];
    auto held = u.send(http::verb::get, next + "&timeout=1800");
    EXPECT_EQ(held.response.result(), http::status::ok);
    EXPECT_EQ(held.holdFor, std::chrono::seconds(30));
    EXPECT_FALSE(held.holdKey.empty());
    ASSERT_TRUE(held.ifReplaced);
    EXPECT_EQ(held.ifReplaced->result(), http::status::conflict);
    EXPECT_THAT(held.ifReplaced->body(), HasSubstr("PGetReplaced"));
    EXPECT_DOUBLE_EQ(holdScale(u.site), 1.0 / 60);
    // Outside UCWA's 180..1800 the nearest is served: 90 holds as 180, 9000 as 1800.
    EXPECT_EQ(u.send(http::verb::get, next + "&timeout=90").holdFor, std::chrono::seconds(3));
    EXPECT_EQ(u.send(http::verb::get, next + "&timeout=9000").holdFor, std::chrono::seconds(30));
    for (const char* bad : {"&timeout=x", "&timeout=", "&timeout=-5", "&timeout=1.5"})
        EXPECT_EQ(u.send(http::verb::get, next + bad).response.result(), http::status::bad_request)
            << bad;
}

TEST(Ucwa, AStaleAckGetsAResyncLink) {
    Ucwa u;
    const std::string events = u.created()["_links"]["events"]["href"];
    const std::string base = events.substr(0, events.find('?'));
    u.send(http::verb::get, base + "?ack=1");
    u.send(http::verb::get, base + "?ack=2");
    // The last one again (its answer was lost): answered again.
    auto again = json::parse(u.send(http::verb::get, base + "?ack=2").response.body());
    EXPECT_EQ(again["_links"]["next"]["href"], base + "?ack=3");
    for (const char* stale : {"?ack=1", "?ack=9"}) {
        auto doc = json::parse(u.send(http::verb::get, base + stale).response.body());
        EXPECT_EQ(doc["_links"]["resync"]["href"], base + "?ack=3") << stale;
        EXPECT_FALSE(doc["_links"].contains("next"));
    }
    EXPECT_EQ(u.send(http::verb::get, base + "?ack=0").response.result(),
              http::status::bad_request);
}

TEST(Ucwa, ParsersSayWhatIsWrong) {
    EXPECT_THAT(parseApplicationRequest("{").error(), HasSubstr("JSON object"));
    EXPECT_THAT(parseApplicationRequest(R"({"UserAgent":"a","Culture":"en-US"})").error(),
                HasSubstr("EndpointId"));
    EXPECT_EQ(*parseEventTimeout(std::nullopt), 180);
    EXPECT_EQ(*parseEventTimeout("900"), 900);
    EXPECT_EQ(*parseEventTimeout("90"), 180);
    EXPECT_EQ(*parseEventTimeout("99999999999999999999"), 1800);
    EXPECT_THAT(parseEventTimeout("ninety").error(), HasSubstr("180 to 1800"));
}

}  // namespace
}  // namespace edgelab::backends
