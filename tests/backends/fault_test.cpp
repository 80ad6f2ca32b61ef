#include "backends/server.hpp"

#include <gtest/gtest.h>

namespace edgelab::backends {
namespace {

TEST(Fault, ParsesEveryMode) {
    std::string error;
    auto f = parseFault(R"({"mode":"slow","delayMs":250})", error);
    ASSERT_TRUE(f) << error;
    EXPECT_EQ(f->mode, FaultMode::Slow);
    EXPECT_EQ(f->delay.count(), 250);
    for (auto [text, mode] : {std::pair{"none", FaultMode::None},
                              {"reset", FaultMode::Reset},
                              {"stop", FaultMode::Stop}}) {
        auto g = parseFault(std::string(R"({"mode":")") + text + "\"}", error);
        ASSERT_TRUE(g) << text;
        EXPECT_EQ(g->mode, mode);
    }
}

TEST(Fault, RejectionsNameTheField) {
    std::string error;
    EXPECT_FALSE(parseFault("{", error));
    EXPECT_FALSE(parseFault(R"({"mode":"explode"})", error));
    EXPECT_NE(error.find("/mode"), std::string::npos) << error;
    EXPECT_FALSE(parseFault(R"({"mode":"slow","delayMs":-1})", error));
    EXPECT_NE(error.find("/delayMs"), std::string::npos) << error;
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
