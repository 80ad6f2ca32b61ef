#include "common/url.hpp"

#include <gtest/gtest.h>

namespace edgelab {
namespace {

TEST(Url, ReadsWhatWapTakes) {
    auto u = Url::parse("HTTPS://LyncWS.Contoso.com/ucwa/v1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, "https");
    EXPECT_EQ(u->host, "lyncws.contoso.com");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->path, "/ucwa/v1");
    EXPECT_TRUE(u->defaultPort());
    EXPECT_EQ(u->str(), "https://lyncws.contoso.com/ucwa/v1");
    EXPECT_EQ(u->hostPort(), "lyncws.contoso.com:443");

    auto fe = Url::parse("https://lyncfe1.contoso.local:4443");
    ASSERT_TRUE(fe);
    EXPECT_EQ(fe->port, 4443);
    EXPECT_EQ(fe->path, "/");
    EXPECT_EQ(fe->hostHeader(), "lyncfe1.contoso.local:4443");
    EXPECT_EQ(fe->origin(), "https://lyncfe1.contoso.local:4443");
    EXPECT_EQ(Url::parse(fe->str()), fe);

    auto plain = Url::parse("http://owas.contoso.com/");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->port, 80);
}

TEST(Url, RefusesWhatWapRefuses) {
    for (const char* bad :
         {"lyncws.contoso.com", "ftp://x.contoso.com/", "https://", "https:///x",
          "https://user@x.contoso.com/", "https://x.contoso.com:0/", "https://x.contoso.com:65536/",
          "https://x.contoso.com:44x/", "https://x.contoso.com:/", "https://[::1]:443/",
          "https://x..contoso.com/", "https://x_y.contoso.com/"})
        EXPECT_FALSE(Url::parse(bad)) << bad;
}

TEST(Url, HostHeaderLosesPortCaseBracketsAndRootDot) {
    EXPECT_EQ(hostOfHostHeader(" Meet.Example.Test:4443 "), "meet.example.test");
    EXPECT_EQ(hostOfHostHeader("Meet.Example.Test:4443"), "meet.example.test");
    EXPECT_EQ(hostOfHostHeader("owas.example.test."), "owas.example.test");
    EXPECT_EQ(hostOfHostHeader("[::1]:443"), "::1");
    EXPECT_EQ(hostOfHostHeader("lyncws.example.test"), "lyncws.example.test");
}

TEST(Url, PercentEncodesAllButUnreserved) {
    EXPECT_EQ(percentEncode("https://h/x y?a=b&c"), "https%3A%2F%2Fh%2Fx%20y%3Fa%3Db%26c");
    EXPECT_EQ(percentEncode("https://h/x y"), "https%3A%2F%2Fh%2Fx%20y");
    EXPECT_EQ(percentEncode("Az09-._~"), "Az09-._~");
    EXPECT_EQ(percentEncode("\xC3\xA9"), "%C3%A9");
}

}  // namespace
}  // namespace edgelab
