#include "backends/owas.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace ::testing;
using namespace fixture;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kWopiSrc = "https%253A%252F%252Flyncws.example.test%252Fwopi%252Ffiles%252F1";

TEST(Owas, DiscoveryHasBothZonesAndActionsOnTheRequestHost) {
    auto res = handle(provision::BackendRole::Owas, owasSite(),
                      get("owas.example.test", "/hosting/discovery"))
                   .response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.count(http::field::www_authenticate), 0u);
    const auto& body = res.body();
    EXPECT_THAT(body, HasSubstr("<wopi-discovery>"));
    EXPECT_THAT(body, HasSubstr("<net-zone name=\"internal-https\">"));
    EXPECT_THAT(body, HasSubstr("<net-zone name=\"external-https\">"));
    for (const char* app : {"Word", "Excel", "PowerPoint", "WopiTest"})
        EXPECT_THAT(body, HasSubstr("<app name=\"" + std::string(app) + "\"")) << app;
    EXPECT_THAT(body, HasSubstr("urlsrc=\"https://owas.example.test/p/PowerPointFrame.aspx?"));
    EXPECT_THAT(body, HasSubstr("urlsrc=\"https://owas.example.test/m/Presenter.aspx?"));
    // Every urlsrc is on the host asked for: none names the server itself.
    std::size_t at = 0, count = 0;
    while ((at = body.find("urlsrc=\"", at)) != std::string::npos) {
        at += 8;
        EXPECT_EQ(body.compare(at, 26, "https://owas.example.test/"), 0) << body.substr(at, 60);
        ++count;
    }
    EXPECT_GE(count, 10u);
}

TEST(Owas, DiscoveryAskedByTheServerNameNamesTheServer) {
    auto res = handle(provision::BackendRole::Owas, owasSite(),
                      get("owas1.corp.example.test", "/hosting/discovery"))
                   .response;
    EXPECT_THAT(res.body(), HasSubstr("urlsrc=\"https://owas1.corp.example.test/"));
    EXPECT_THAT(res.body(), Not(HasSubstr("https://owas.example.test/")));
}

TEST(Owas, PresenterPageNamesTheRequestHostInHeadersAndBody) {
    auto res = handle(provision::BackendRole::Owas, owasSite(),
                      get("owas.example.test",
                          std::string("/m/Presenter.aspx?WopiSrc=") + kWopiSrc + "&ui=en-US"))
                   .response;
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(header(res, "X-OfficeFE"), "OWAS1");
    EXPECT_EQ(header(res, "X-OfficeVersion"), kOfficeVersion);
    EXPECT_EQ(header(res, "X-OfficeWebAppsUrl"), "https://owas.example.test/m/");
    EXPECT_THAT(res.body(), HasSubstr("<script src=\"https://owas.example.test/m/s/1033/"));
    // The farm InternalURL shows too, as the seed saw; it is not the cause.
    EXPECT_THAT(res.body(), HasSubstr("https://owas1.corp.example.test/"));

    auto asServer = handle(provision::BackendRole::Owas, owasSite(),
                           get("owas1.corp.example.test",
                               std::string("/m/ParticipantFrame.aspx?WopiSrc=") + kWopiSrc))
                        .response;
    ASSERT_EQ(asServer.result(), http::status::ok);
    EXPECT_THAT(asServer.body(), HasSubstr("<script src=\"https://owas1.corp.example.test/m/"));
    EXPECT_THAT(asServer.body(), Not(HasSubstr("owas.example.test")));
}

TEST(Owas, WopiSrcDecodedOnTheWayIs400) {
    for (const char* wopiSrc :
         {"https%3A%2F%2Flyncws.example.test%2Fwopi%2Ffiles%2F1",     // encoded once
          "https://lyncws.example.test/wopi/files/1",                 // decoded
          "https%253A%252F%252Flyncws.example.test/wopi/files/1"}) {  // partly normalised
        auto res =
            handle(provision::BackendRole::Owas, owasSite(),
                   get("owas.example.test", std::string("/m/Presenter.aspx?WopiSrc=") + wopiSrc))
                .response;
        EXPECT_EQ(res.result(), http::status::bad_request) << wopiSrc;
    }
    EXPECT_EQ(handle(provision::BackendRole::Owas, owasSite(),
                     get("owas.example.test", "/m/Presenter.aspx"))
                  .response.result(),
              http::status::bad_request);
}

TEST(Owas, WopiSrcRule) {
    EXPECT_TRUE(wopiSrcIntact(kWopiSrc));
    EXPECT_FALSE(wopiSrcIntact("https%3A%2F%2Fh%2Fx"));
    EXPECT_FALSE(wopiSrcIntact("https%3a%2f%2fh%2fx"));
    EXPECT_FALSE(wopiSrcIntact("https://h/x"));
    EXPECT_FALSE(wopiSrcIntact("plain"));
}

TEST(Owas, PresentationRootRedirectsOnTheRequestHost) {
    auto res =
        handle(provision::BackendRole::Owas, owasSite(), get("owas.example.test", "/m/")).response;
    ASSERT_EQ(res.result(), http::status::found);
    std::string location = header(res, http::field::location);
    EXPECT_THAT(location, StartsWith("https://owas.example.test/m/Presenter.aspx?WopiSrc="));
    auto wopiSrc = location.substr(location.find("WopiSrc=") + 8);
    EXPECT_TRUE(wopiSrcIntact(wopiSrc.substr(0, wopiSrc.find('&'))));
}

TEST(Owas, AnythingElseIs404) {
    EXPECT_EQ(handle(provision::BackendRole::Owas, owasSite(), get("owas.example.test", "/x"))
                  .response.result(),
              http::status::not_found);
}

}  // namespace
}  // namespace edgelab::backends
