#include "tests/support/eventually.hpp"

#include <algorithm>
#include <thread>

namespace edgelab::test {

::testing::AssertionResult eventually(const std::function<bool()>& predicate,
                                      std::string_view description,
                                      std::chrono::milliseconds hangGuard) {
    using namespace std::chrono_literals;
    const auto giveUp = std::chrono::steady_clock::now() + hangGuard;
    // Short pauses first (most events are quick), then at most 50 ms apart so
    // a slow machine is not asked thousands of times.
    auto pause = 1ms;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > giveUp) {
            return ::testing::AssertionFailure()
                   << "never happened: " << description << " (gave up after "
                   << std::chrono::duration_cast<std::chrono::seconds>(hangGuard).count() << " s)";
        }
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::milliseconds>(pause * 2, 50ms);
    }
    return ::testing::AssertionSuccess() << description;
}

}  // namespace edgelab::test
