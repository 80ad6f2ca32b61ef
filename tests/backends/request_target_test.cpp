#include "backends/request_target.hpp"

#include <gtest/gtest.h>

namespace edgelab::backends {
namespace {

TEST(RequestTarget, SplitsPathAndQueryAsReceived) {
    auto t = splitTarget("/m/Presenter.aspx?WopiSrc=a%2520b&x=1");
    EXPECT_EQ(t.path, "/m/Presenter.aspx");
    EXPECT_EQ(t.query, "WopiSrc=a%2520b&x=1");
    EXPECT_EQ(rawQueryParam(t.query, "wopisrc"), "a%2520b");
    EXPECT_EQ(rawQueryParam(t.query, "x"), "1");
    EXPECT_FALSE(rawQueryParam(t.query, "y"));
    EXPECT_EQ(splitTarget("/").query, "");
}

TEST(RequestTarget, DecodesPercentEscapes) {
    EXPECT_EQ(percentDecode("https%253A%252F"), "https%3A%2F");
    EXPECT_EQ(percentDecode("a%zz%4"), "a%zz%4");
}

}  // namespace
}  // namespace edgelab::backends
