// Waiting for an event rather than for a time: `eventually` asks the
// predicate again and again until it holds. The hang guard only stops a test
// that would otherwise never end; it is generous on purpose and is never a
// statement about speed (speed lives in bench/).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string_view>

namespace edgelab::test {

inline constexpr std::chrono::seconds kHangGuard{60};

// EXPECT_TRUE(eventually([&] { return ...; }, "the proxy logs the reload"));
::testing::AssertionResult eventually(const std::function<bool()>& predicate,
                                      std::string_view description,
                                      std::chrono::milliseconds hangGuard = kHangGuard);

}  // namespace edgelab::test
