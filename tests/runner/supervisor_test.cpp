#include "runner/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace edgelab::runner;
using namespace std::chrono_literals;

namespace {

fs::path workDir() {
    auto d = fs::temp_directory_path() /
             ("edgelab-sup-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

ProcessSpec shell(const std::string& name, const fs::path& dir, const std::string& script) {
    return {name, "/bin/sh", {"-c", script}, dir / (name + ".log")};
}

bool gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

TEST(Supervisor, ReadsTheReadyLineAndStopsTheProcess) {
    auto dir = workDir();
    int pid = 0;
    {
        Supervisor sup(Lifetime::Owned);
        auto& p = sup.start(shell("srv", dir,
                                  "echo booting; echo 'READY https://127.64.250.9:1'; "
                                  "exec sleep 600"));
        pid = p.pid();
        auto r = sup.waitForLine(
            p, [](const std::string& l) { return l.starts_with("READY "); }, Clock::now() + 10s);
        ASSERT_EQ(r.status, WaitStatus::Ready);
        ASSERT_EQ(r.lines.size(), 2u);
        EXPECT_EQ(r.lines[1], "READY https://127.64.250.9:1");
        EXPECT_FALSE(sup.firstDead());
        EXPECT_EQ(sup.stopAll(), 1);
        EXPECT_TRUE(gone(pid));
    }
    fs::remove_all(dir);
}

TEST(Supervisor, AChildThatDiesBeforeReadyIsNamed) {
    auto dir = workDir();
    Supervisor sup(Lifetime::Owned);
    auto& p = sup.start(shell("fe1", dir, "echo 'cannot bind 127.0.0.1:4443' >&2; exit 3"));
    auto r = sup.waitForLine(
        p, [](const std::string& l) { return l.starts_with("READY"); }, Clock::now() + 10s);
    EXPECT_EQ(r.status, WaitStatus::Died);
    EXPECT_EQ(r.process, "fe1");
    EXPECT_EQ(p.exitCode(), 3);
    EXPECT_NE(logTail(p.log()).find("cannot bind 127.0.0.1:4443"), std::string::npos);
    fs::remove_all(dir);
}

TEST(Supervisor, ADeadlineEndsTheWait) {
    auto dir = workDir();
    Supervisor sup(Lifetime::Owned);
    auto& p = sup.start(shell("slow", dir, "exec sleep 600"));
    auto start = Clock::now();
    auto r = sup.waitForLine(
        p, [](const std::string&) { return true; }, start + 200ms);
    EXPECT_EQ(r.status, WaitStatus::Timeout);
    EXPECT_GE(Clock::now() - start, 200ms);
    EXPECT_LT(Clock::now() - start, 5s);
    fs::remove_all(dir);
}

TEST(Supervisor, DestructorLeavesNoProcess) {
    auto dir = workDir();
    std::vector<int> pids;
    {
        Supervisor sup(Lifetime::Owned);
        for (auto n : {"a", "b", "c"})
            pids.push_back(sup.start(shell(n, dir, "exec sleep 600")).pid());
    }
    for (int pid : pids) EXPECT_TRUE(gone(pid)) << pid;
    fs::remove_all(dir);
}

TEST(Supervisor, AProcessIgnoringSigtermIsKilled) {
    auto dir = workDir();
    Supervisor sup(Lifetime::Owned);
    auto& p =
        sup.start(shell("stubborn", dir, "trap '' TERM; echo READY; while :; do sleep 1; done"));
    ASSERT_EQ(sup.waitForLine(
                     p, [](const std::string& l) { return l == "READY"; }, Clock::now() + 10s)
                  .status,
              WaitStatus::Ready);
    int pid = p.pid();
    EXPECT_EQ(sup.stopAll(200ms), 1);
    EXPECT_TRUE(gone(pid));
    fs::remove_all(dir);
}

TEST(Supervisor, WaitForFileSeesTheFileOrADeath) {
    auto dir = workDir();
    Supervisor sup(Lifetime::Owned);
    sup.start(
        shell("toucher", dir, "sleep 0.1; touch " + (dir / "go").string() + "; exec sleep 600"));
    auto r = sup.waitForFileOrEvent(dir / "go", Clock::now() + 10s);
    EXPECT_EQ(r.status, WaitStatus::FileAppeared);
    auto* victim = sup.find("toucher");
    ASSERT_NE(victim, nullptr);
    ::kill(victim->pid(), SIGKILL);
    r = sup.waitForFileOrEvent(dir / "never", Clock::now() + 10s);
    EXPECT_EQ(r.status, WaitStatus::Died);
    EXPECT_EQ(r.process, "toucher");
    fs::remove_all(dir);
}

TEST(Supervisor, ReleasedProcessesOutliveTheSupervisorAndStopPidEndsThem) {
    auto dir = workDir();
    int pid = 0;
    {
        Supervisor sup(Lifetime::Detached);
        pid = sup.start({"kept", "/bin/sleep", {"600"}, dir / "kept.log"}).pid();
        sup.release();
    }
    EXPECT_FALSE(gone(pid));
    EXPECT_TRUE(pidRuns(pid, "/bin/sleep"));
    EXPECT_FALSE(pidRuns(pid, "/bin/sh"));
    EXPECT_TRUE(stopPid(pid, 500ms));
    // A released child is ours until reaped; its pidfd said it exited.
    ::waitpid(pid, nullptr, 0);
    EXPECT_TRUE(gone(pid));
    fs::remove_all(dir);
}

TEST(Supervisor, StartingAMissingExecutableNamesIt) {
    auto dir = workDir();
    Supervisor sup(Lifetime::Owned);
    try {
        sup.start({"ghost", dir / "no-such-binary", {}, dir / "ghost.log"});
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-binary"), std::string::npos);
    }
    fs::remove_all(dir);
}
