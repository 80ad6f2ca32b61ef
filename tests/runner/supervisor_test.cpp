#include "runner/supervisor.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

using namespace edgelab::runner;
using namespace std::chrono_literals;

namespace {

ProcessSpec shell(const std::string& name, const fs::path& dir, const std::string& script) {
    return {name, "/bin/sh", {"-c", script}, dir / (name + ".log")};
}

bool gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

TEST(Supervisor, ReadsTheReadyLineAndStopsTheProcess) {
    const edgelab::test::TempDir dir("supervisor");
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
}

TEST(Supervisor, AChildThatDiesBeforeReadyIsNamed) {
    const edgelab::test::TempDir dir("supervisor");
    Supervisor sup(Lifetime::Owned);
    auto& p = sup.start(shell("fe1", dir, "echo 'cannot bind 127.0.0.1:4443' >&2; exit 3"));
    auto r = sup.waitForLine(
        p, [](const std::string& l) { return l.starts_with("READY"); }, Clock::now() + 10s);
    EXPECT_EQ(r.status, WaitStatus::Died);
    EXPECT_EQ(r.process, "fe1");
    EXPECT_EQ(p.exitCode(), 3);
    EXPECT_NE(logTail(p.log()).find("cannot bind 127.0.0.1:4443"), std::string::npos);
}

TEST(Supervisor, ADeadlineEndsTheWait) {
    const edgelab::test::TempDir dir("supervisor");
    Supervisor sup(Lifetime::Owned);
    auto& p = sup.start(shell("slow", dir, "exec sleep 600"));
    auto start = Clock::now();
    auto r = sup.waitForLine(
        p, [](const std::string&) { return true; }, start + 200ms);
    EXPECT_EQ(r.status, WaitStatus::Timeout);
    // Not before the deadline; how long after it is the machine's business.
    EXPECT_GE(Clock::now() - start, 200ms);
}

TEST(Supervisor, DestructorLeavesNoProcess) {
    const edgelab::test::TempDir dir("supervisor");
    std::vector<int> pids;
    {
        Supervisor sup(Lifetime::Owned);
        for (auto n : {"a", "b", "c"})
            pids.push_back(sup.start(shell(n, dir, "exec sleep 600")).pid());
    }
    for (int pid : pids) EXPECT_TRUE(gone(pid)) << pid;
}

TEST(Supervisor, AProcessIgnoringSigtermIsKilled) {
    const edgelab::test::TempDir dir("supervisor");
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
}

TEST(Supervisor, WaitForFileSeesTheFileOrADeath) {
    const edgelab::test::TempDir dir("supervisor");
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
}

TEST(Supervisor, ReleasedProcessesOutliveTheSupervisorAndStopPidEndsThem) {
    const edgelab::test::TempDir dir("supervisor");
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
}

TEST(Supervisor, StartingAMissingExecutableNamesIt) {
    const edgelab::test::TempDir dir("supervisor");
    Supervisor sup(Lifetime::Owned);
    try {
        sup.start({"ghost", dir / "no-such-binary", {}, dir / "ghost.log"});
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-binary"), std::string::npos);
    }
}

// A process's CPU is every thread's, not its first thread's alone (what
// /proc/PID/schedstat gives): a second thread that has burnt 50 ms of CPU,
// by its own clock, shows in the count while it runs.
TEST(ProcessCpu, CountsEveryThreadOfTheProcess) {
    std::mutex m;
    std::condition_variable cv;
    bool burnt = false, done = false;
    double burntMs = 0;
    std::thread burner([&] {
        clockid_t clock;
        pthread_getcpuclockid(pthread_self(), &clock);
        auto cpuMs = [&] {
            timespec t{};
            clock_gettime(clock, &t);
            return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
        };
        volatile unsigned spin = 0;
        while (cpuMs() < 50)
            for (int i = 0; i < 100000; ++i) spin = spin + 1;
        std::unique_lock lock(m);
        burntMs = cpuMs();
        burnt = true;
        cv.notify_all();
        cv.wait(lock, [&] { return done; });
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return burnt; });
    }
    timespec self{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &self);
    const double mainMs = self.tv_sec * 1e3 + self.tv_nsec / 1e6;
    const double counted = processCpuMs(::getpid());
    {
        std::lock_guard lock(m);
        done = true;
    }
    cv.notify_all();
    burner.join();
    EXPECT_GE(counted, mainMs + burntMs);
    EXPECT_EQ(processCpuMs(999999999), 0);  // no such process
}
