#include "backends/server.hpp"

#include <gtest/gtest.h>

namespace edgelab::backends {
namespace {

TEST(Fault, ParsesEveryMode) {
    auto f = parseFault(R"({"mode":"slow","delayMs":250})");
    ASSERT_TRUE(f) << f.error();
    EXPECT_EQ(f->mode, FaultMode::Slow);
    EXPECT_EQ(f->delay.count(), 250);
    for (auto [text, mode] : {std::pair{"none", FaultMode::None},
                              {"reset", FaultMode::Reset},
                              {"stop", FaultMode::Stop}}) {
        auto g = parseFault(std::string(R"({"mode":")") + text + "\"}");
        ASSERT_TRUE(g) << text;
        EXPECT_EQ(g->mode, mode);
    }
}

TEST(Fault, RejectionsNameTheField) {
    EXPECT_FALSE(parseFault("{"));
    const auto mode = parseFault(R"({"mode":"explode"})");
    EXPECT_FALSE(mode);
    EXPECT_NE(mode.error().find("/mode"), std::string::npos) << mode.error();
    EXPECT_NE(mode.error().find("explode"), std::string::npos) << mode.error();
    const auto delay = parseFault(R"({"mode":"slow","delayMs":-1})");
    EXPECT_FALSE(delay);
    EXPECT_NE(delay.error().find("/delayMs"), std::string::npos) << delay.error();
}

TEST(Endpoint, ParsesAddressAndPort) {
    auto ep = parseEndpoint("127.3.0.1:0");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->address().to_string(), "127.3.0.1");
    EXPECT_EQ(ep->port(), 0);
    EXPECT_EQ(endpointText(*parseEndpoint("[::1]:443")), "[::1]:443");
    EXPECT_FALSE(parseEndpoint("localhost:443"));
    EXPECT_FALSE(parseEndpoint("127.0.0.1"));
    EXPECT_FALSE(parseEndpoint("127.0.0.1:70000"));
}

}  // namespace
}  // namespace edgelab::backends
