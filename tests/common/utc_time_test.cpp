#include "common/utc_time.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono;

// 2026-11-27T11:22:40.123Z, built from its parts so the test does not use
// the formatter's own arithmetic.
system_clock::time_point sample() {
    const auto day = sys_days{year{2026} / November / 27};
    return day + hours{11} + minutes{22} + seconds{40} + milliseconds{123};
}

TEST(UtcTime, ThreeLengthsOfOneInstant) {
    EXPECT_EQ(edgelab::utcDate(sample()), "2026-11-27");
    EXPECT_EQ(edgelab::utcSeconds(sample()), "2026-11-27T11:22:40Z");
    EXPECT_EQ(edgelab::utcMillis(sample()), "2026-11-27T11:22:40.123Z");
}

TEST(UtcTime, MillisecondsArePaddedAndTheEpochIsUtc) {
    const system_clock::time_point epoch{};
    EXPECT_EQ(edgelab::utcMillis(epoch + milliseconds{7}), "1970-01-01T00:00:00.007Z");
    EXPECT_EQ(edgelab::utcSeconds(epoch + days{365}), "1971-01-01T00:00:00Z");
}

}  // namespace
