#include "net/asio.hpp"  // first: <utility> before Asio (see net/asio.hpp)

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <fstream>
#include <string>

#include "tests/support/eventually.hpp"

namespace bp = boost::process;

namespace {

// Gone, or a zombie waiting for its new parent to reap it.
bool ended(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// The spawner stands for a test that ctest kills: what it started with
// diesWithTest ends with it; the same without it would run on.
TEST(DiesWithTest, AServerEndsWhenItsTestIsKilled) {
    bp::ipstream out;
    bp::child spawner(std::string(EDGELAB_BIN_DIR) + "/edgelab-test-spawner", "/bin/sleep", "600",
                      bp::std_out > out);
    pid_t server = 0;
    ASSERT_TRUE(out >> server);
    EXPECT_FALSE(ended(server));
    ::kill(spawner.id(), SIGKILL);
    spawner.wait();
    EXPECT_TRUE(edgelab::test::eventually([&] { return ended(server); }, "the server ends"));
    if (!ended(server)) ::kill(server, SIGKILL);
}

}  // namespace
