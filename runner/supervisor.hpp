// The lab's processes: started with Boost.Process, their stdout and stderr
// in a log file each, readiness read from that log as it grows (inotify, no
// sleeps), death seen the moment it happens (a pidfd per child), and a stop
// that leaves nothing behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgelab::runner {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// SIGINT and SIGTERM, latched: once one arrives, fd() stays readable for
// every waiter in every thread, so each lab in a run stops at its next wait.
class Interrupt {
  public:
    static void install();  // idempotent
    static int fd();        // -1 before install()
    static int signal();    // 0 until a signal came
};

// How a process is started: `Owned` children belong to this edgelab process
// (their own process group, SIGTERM when it dies); `Detached` ones outlive it
// (`edgelab up`: a session of their own, stopped later by `edgelab down`).
enum class Lifetime { Owned, Detached };

struct ProcessSpec {
    std::string name;  // "proxy", or the backend's name
    fs::path exe;
    std::vector<std::string> args;
    fs::path log;  // stdout and stderr, truncated at start
};

class Supervised;

enum class WaitStatus { Ready, Died, Timeout, Interrupted, FileAppeared };

struct WaitResult {
    WaitStatus status = WaitStatus::Timeout;
    std::vector<std::string> lines;  // log lines read during the wait
    std::string process;             // the one that died, for Died
};

std::string to_string(WaitStatus);

class Supervisor {
  public:
    explicit Supervisor(Lifetime lifetime);
    ~Supervisor();  // stops whatever was not released
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Throws std::runtime_error when the executable cannot be started.
    Supervised& start(const ProcessSpec& spec);

    // Reads `p`'s log until `done` returns true for a line (Ready), `p` or
    // any other supervised process exits (Died), the deadline passes or a
    // signal comes.
    WaitResult waitForLine(Supervised& p, const std::function<bool(const std::string&)>& done,
                           Clock::time_point deadline);

    // Waits until `file` exists (FileAppeared), a process exits, a signal
    // comes, or the deadline passes.
    WaitResult waitForFileOrEvent(const fs::path& file, Clock::time_point deadline);

    // The name of a process that has exited, if any (non-blocking).
    std::optional<std::string> firstDead();

    // SIGTERM to every process, SIGKILL to those still alive after `grace`,
    // reaped. Returns how many were stopped.
    int stopAll(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

    // Leaves every process running and forgets it (for `edgelab up`).
    void release();

    std::vector<Supervised*> processes();
    Supervised* find(const std::string& name);

  private:
    WaitResult waitUntil(int inotifyFd, const std::function<bool(WaitResult&)>& ready,
                         Clock::time_point deadline);

    Lifetime lifetime_;
    std::vector<std::unique_ptr<Supervised>> processes_;
};

class Supervised {
  public:
    ~Supervised();
    const std::string& name() const { return name_; }
    int pid() const { return pid_; }
    const fs::path& log() const { return log_; }
    std::string address;  // what it listens on, once known ("127.A.B.C:PORT")
    bool exited();        // non-blocking
    int exitCode() const { return exitCode_; }

  private:
    friend class Supervisor;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string name_;
    fs::path log_;
    int pid_ = -1;
    int pidfd_ = -1;
    int exitCode_ = -1;
    std::uint64_t readOffset_ = 0;
    std::string partial_;

    std::vector<std::string> readNewLines();
};

// CPU a running process has used so far, in ms, every thread of it: the
// scheduler's count in ns for each thread (/proc/PID/task/TID/schedstat;
// /proc/PID/schedstat is the first thread's alone), else /proc/PID/stat's
// clock ticks (10 ms). 0 once the process is gone.
double processCpuMs(int pid);

// The last `lines` lines of a log file, for error messages ("" if unreadable).
std::string logTail(const fs::path& log, int lines = 15);

// Stops a process this edgelab did not start (from a state file): SIGTERM,
// then SIGKILL after `grace`. True when it is gone.
bool stopPid(int pid, std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

// Whether `pid` is alive and still runs `exe` (guards against a recycled pid).
bool pidRuns(int pid, const fs::path& exe);

}  // namespace edgelab::runner
