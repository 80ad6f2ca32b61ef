// Nothing a spawned coroutine throws is dropped: a loop that must run for
// the process's life ends the process (exit 3) with a log line naming it;
// a session's exception is logged and the process goes on.
#include "proxy/spawned.hpp"

#include <new>

#include <gtest/gtest.h>

#include "proxy/executor.hpp"

namespace edgelab::proxy {
namespace {

namespace asio = boost::asio;

Task<void> throwsBadAlloc() {
    throw std::bad_alloc();
    co_return;
}

Task<void> returns() { co_return; }

TEST(SpawnedDeathTest, AnExceptionInAnAcceptLoopIsLoggedAndEndsTheProcessWithThree) {
    EXPECT_EXIT(
        {
            AccessLog log(std::nullopt);
            asio::io_context ioc;
            asio::co_spawn(ioc, throwsBadAlloc(), MustRunForever{&log, "accept", true});
            ioc.run();
            std::exit(0);
        },
        ::testing::ExitedWithCode(3), "\"fatal\".*\"accept\".*bad_alloc");
}

TEST(SpawnedDeathTest, AnAcceptLoopThatReturnsEndsTheProcessWithThree) {
    EXPECT_EXIT(
        {
            AccessLog log(std::nullopt);
            asio::io_context ioc;
            asio::co_spawn(ioc, returns(), MustRunForever{&log, "accept", true});
            ioc.run();
            std::exit(0);
        },
        ::testing::ExitedWithCode(3), "\"fatal\".*\"accept\".*it returned");
}

// The housekeeping and the store watch end on a stop or when polling is
// off: their return is no failure, an exception is.
TEST(Spawned, ALoopThatMayReturnReturnsQuietly) {
    AccessLog log(std::nullopt);
    asio::io_context ioc;
    asio::co_spawn(ioc, returns(), MustRunForever{&log, "housekeeping"});
    testing::internal::CaptureStderr();
    ioc.run();
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Spawned, ASessionsExceptionIsLoggedAndTheProcessGoesOn) {
    AccessLog log(std::nullopt);
    asio::io_context ioc;
    asio::co_spawn(ioc, throwsBadAlloc(), LogIfThrown{&log, "session"});
    testing::internal::CaptureStderr();
    ioc.run();
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("\"session-failed\""), std::string::npos) << err;
    EXPECT_NE(err.find("bad_alloc"), std::string::npos) << err;
}

}  // namespace
}  // namespace edgelab::proxy
