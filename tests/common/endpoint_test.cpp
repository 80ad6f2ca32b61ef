#include "common/endpoint.hpp"

#include <gtest/gtest.h>

namespace edgelab {
namespace {

TEST(Port, NumbersFromOneTo65535) {
    EXPECT_EQ(parsePort("1").value(), 1);
    EXPECT_EQ(parsePort("443").value(), 443);
    EXPECT_EQ(parsePort("65535").value(), 65535);
    for (const char* bad :
         {"0", "65536", "99999", "4294967297", "xyz", "", "44x", "-1", " 443", "+443"}) {
        auto p = parsePort(bad);
        EXPECT_FALSE(p) << bad;
        EXPECT_NE(p.error().find("\"" + std::string(bad) + "\""), std::string::npos) << p.error();
    }
}

TEST(Port, ZeroWhenTheKernelMayChoose) {
    EXPECT_EQ(parsePort("0", PortZero::Any).value(), 0);
    EXPECT_FALSE(parsePort("65536", PortZero::Any));
}

TEST(Endpoint, Ipv4AndBracketedIpv6) {
    auto v4 = parseEndpoint("127.0.0.1:443");
    ASSERT_TRUE(v4) << v4.error();
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 443);
    EXPECT_EQ(v4->str(), "127.0.0.1:443");

    auto v6 = parseEndpoint("[::1]:8443");
    ASSERT_TRUE(v6) << v6.error();
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 8443);
    EXPECT_EQ(v6->str(), "[::1]:8443");
    EXPECT_EQ(parseEndpoint(v6->str()).value(), *v6);
}

TEST(Endpoint, NamesOnlyWhereTheCallerTakesThem) {
    EXPECT_FALSE(parseEndpoint("lyncfe1.contoso.local:4443"));
    auto named = parseEndpoint("lyncfe1.contoso.local:4443", EndpointHost::AddressOrName);
    ASSERT_TRUE(named) << named.error();
    EXPECT_EQ(named->host, "lyncfe1.contoso.local");
    EXPECT_EQ(named->port, 4443);
}

TEST(Endpoint, RefusalsNameTheValue) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c :
         {Case{"127.0.0.1", "expected ADDR:PORT"}, Case{"127.0.0.1:", "expected a number"},
          Case{"127.0.0.1:0", "from 1 to 65535"}, Case{"127.0.0.1:70000", "\"70000\""},
          Case{"::127.0.0.1:xyz", "\"xyz\""}, Case{"::1:443", "needs brackets"},
          Case{"[127.0.0.1]:443", "IPv6"}, Case{"256.0.0.1:443", "IPv4"}, Case{":443", "IPv4"}}) {
        auto e = parseEndpoint(c.text);
        ASSERT_FALSE(e) << c.text;
        EXPECT_NE(e.error().find("\"" + std::string(c.text) + "\""), std::string::npos)
            << e.error();
        EXPECT_NE(e.error().find(c.says), std::string::npos) << e.error();
    }
    EXPECT_THROW(parseEndpoint("x").value(), std::logic_error);
}

TEST(Endpoint, ListenersMayAskForAnyPort) {
    EXPECT_FALSE(parseEndpoint("127.0.0.1:0"));
    EXPECT_EQ(parseEndpoint("127.0.0.1:0", EndpointHost::Address, PortZero::Any).value().port, 0);
}

}  // namespace
}  // namespace edgelab
