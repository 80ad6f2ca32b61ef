#include "runner/supervisor.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>

// Boost.Process 1.74 compiles its vfork executor only when the system
// headers claim an old POSIX (its config.hpp tests _POSIX_C_SOURCE <
// 200809L); glibc declares vfork with _GNU_SOURCE, which g++ defines. So the
// executor is asked for here, before the first Boost.Process header.
#ifndef BOOST_POSIX_HAS_VFORK
#define BOOST_POSIX_HAS_VFORK 1
#endif
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/posix.hpp>

#include "common/die_with_parent.hpp"

namespace bp = boost::process;

namespace edgelab::runner {

namespace {

int gInterruptPipe[2] = {-1, -1};
std::atomic<int> gSignal{0};

void onSignal(int sig) {
    int expected = 0;
    gSignal.compare_exchange_strong(expected, sig);
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(gInterruptPipe[1], &byte, 1);
}

int pidfdOpen(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int remainingMs(Clock::time_point deadline) {
    // Rounded up: a poll that wakes a fraction of a millisecond early must
    // not be taken for the deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

void drain(int fd) {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

// Every signal blocked in this thread for the scope (a vfork child runs on
// this thread's stack until it execs), the old mask back at the end.
class SignalsBlocked {
  public:
    SignalsBlocked() {
        sigset_t all;
        sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &old_);
    }
    ~SignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
    SignalsBlocked(const SignalsBlocked&) = delete;
    SignalsBlocked& operator=(const SignalsBlocked&) = delete;

  private:
    sigset_t old_{};
};

// Closes the fd on scope exit; inotify instances are per wait.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

void Interrupt::install() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (::pipe2(gInterruptPipe, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        struct sigaction sa {};
        sa.sa_handler = onSignal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(SIGINT, &sa, nullptr);
        ::sigaction(SIGTERM, &sa, nullptr);
    });
}

int Interrupt::fd() { return gInterruptPipe[0]; }
int Interrupt::signal() { return gSignal.load(); }

std::string to_string(WaitStatus s) {
    switch (s) {
        case WaitStatus::Ready:
            return "ready";
        case WaitStatus::Died:
            return "died";
        case WaitStatus::Timeout:
            return "timed out";
        case WaitStatus::Interrupted:
            return "interrupted";
        case WaitStatus::FileAppeared:
            return "file appeared";
    }
    return "?";
}

struct Supervised::Impl {
    bp::child child;
};

Supervised::~Supervised() {
    if (pidfd_ >= 0) ::close(pidfd_);
}

bool Supervised::exited() {
    if (exitCode_ >= 0 || !impl_) return true;
    std::error_code ec;
    if (pidfd_ >= 0) {
        pollfd p{pidfd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        impl_->child.wait(ec);
    } else if (impl_->child.running(ec)) {
        // No pidfd (a kernel before 5.3, or valgrind, which does not know
        // pidfd_open): a wait that does not block, never one that would.
        return false;
    }
    int raw = impl_->child.native_exit_code();
    exitCode_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return true;
}

std::vector<std::string> Supervised::readNewLines() {
    std::vector<std::string> lines;
    int fd = ::open(log_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lines;
    char buf[8192];
    ssize_t n;
    while ((n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(readOffset_))) > 0) {
        readOffset_ += static_cast<std::uint64_t>(n);
        partial_.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    std::size_t start = 0, nl;
    while ((nl = partial_.find('\n', start)) != std::string::npos) {
        std::string line = partial_.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
        start = nl + 1;
    }
    partial_.erase(0, start);
    return lines;
}

double processCpuMs(int pid) {
    const fs::path proc = "/proc/" + std::to_string(pid);
    {
        double runNs = 0;
        bool read = false;
        std::error_code ec;
        for (fs::directory_iterator t(proc / "task", ec), end; !ec && t != end; t.increment(ec)) {
            std::ifstream ns(t->path() / "schedstat");
            double threadNs = 0;
            if (ns >> threadNs) {
                runNs += threadNs;
                read = true;
            }
        }
        if (read) return runNs / 1e6;
    }
    std::ifstream in(proc / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    // After the name: state is field 3, utime 14 and stime 15.
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i >= 14) ticks += std::atof(field.c_str());
    return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Supervisor::Supervisor(Lifetime lifetime) : lifetime_(lifetime) {}

// Whatever was not released (an `up` that failed half way too) is stopped.
Supervisor::~Supervisor() { stopAll(); }

Supervised& Supervisor::start(const ProcessSpec& spec) {
    auto p = std::make_unique<Supervised>();
    p->name_ = spec.name;
    p->log_ = spec.log;
    p->impl_ = std::make_unique<Supervised::Impl>();
    const bool owned = lifetime_ == Lifetime::Owned;
    const pid_t parent = ::getpid();
    std::error_code ec;
    fs::create_directories(spec.log.parent_path(), ec);
    // Boost.Process opens the file without O_TRUNC: a READY line left from
    // the last run would read as this one's.
    fs::remove(spec.log, ec);
    // vfork, not fork: the child borrows this process's memory until it
    // execs, so no page table of a large, many-threaded edgelab is copied
    // and no page of it is made copy-on-write for every thread that runs on
    // (bench/README.md, "A lab's own cost"). While the child runs on this
    // thread's stack no signal handler of edgelab's may run in it: every
    // signal is blocked here, and the child puts the handlers back to their
    // defaults before it unblocks them (a SIGTERM that came meanwhile then
    // ends the child, as it would end the server).
    const SignalsBlocked blocked;
    try {
        p->impl_->child = bp::child(
            bp::exe = spec.exe.string(), bp::args = spec.args,
            (bp::std_out & bp::std_err) > spec.log.string(), bp::std_in < bp::null,
            bp::posix::use_vfork, bp::extend::on_exec_setup = [owned, parent](auto&) {
                // Only stdio crosses exec: no listening socket, pidfd or curl
                // connection of this process leaks into a server. Not
                // bp::limit_handles: in Boost 1.74 it also closes the pipe
                // that reports a failed exec, so a missing binary looked started.
                ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
                // Only system calls from here to exec: the child shares the
                // parent's memory (vfork), so nothing may allocate or lock.
                for (int sig : {SIGINT, SIGTERM, SIGPIPE}) ::signal(sig, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                ::sigprocmask(SIG_SETMASK, &none, nullptr);
                if (owned) {
                    // Own group: a terminal's Ctrl-C reaches edgelab, which
                    // stops the lab in order. PDEATHSIG: a SIGKILLed edgelab
                    // leaves no server behind.
                    ::setpgid(0, 0);
                    dieWithParent(parent);
                } else {
                    ::setsid();
                }
            });
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot start " + spec.name + " (" + spec.exe.string() +
                                 "): " + e.what());
    }
    p->pid_ = p->impl_->child.id();
    p->pidfd_ = pidfdOpen(p->pid_);
    processes_.push_back(std::move(p));
    return *processes_.back();
}

std::optional<std::string> Supervisor::firstDead() {
    for (auto& p : processes_) {
        if (p->exited()) return p->name();
    }
    return std::nullopt;
}

std::vector<Supervised*> Supervisor::processes() {
    std::vector<Supervised*> out;
    for (auto& p : processes_) out.push_back(p.get());
    return out;
}

Supervised* Supervisor::find(const std::string& name) {
    for (auto& p : processes_) {
        if (p->name() == name) return p.get();
    }
    return nullptr;
}

// One loop for every wait: `ready` looks first (a log line, a file), then
// the signal latch, then every child; between looks it sleeps in poll() on
// the inotify fd, the latch and every child's pidfd, so each wakes it.
WaitResult Supervisor::waitUntil(int inotifyFd, const std::function<bool(WaitResult&)>& ready,
                                 Clock::time_point deadline) {
    WaitResult result;
    std::vector<pollfd> fds;
    fds.push_back({inotifyFd, POLLIN, 0});
    if (Interrupt::fd() >= 0) fds.push_back({Interrupt::fd(), POLLIN, 0});
    for (auto& q : processes_) {
        if (q->pidfd_ >= 0) fds.push_back({q->pidfd_, POLLIN, 0});
    }
    for (;;) {
        if (ready(result)) return result;
        if (Interrupt::signal() != 0) {
            result.status = WaitStatus::Interrupted;
            return result;
        }
        if (auto dead = firstDead()) {
            result.status = WaitStatus::Died;
            result.process = *dead;
            return result;
        }
        int ms = remainingMs(deadline);
        if (ms == 0) {
            result.status = WaitStatus::Timeout;
            return result;
        }
        ::poll(fds.data(), fds.size(), ms);
        drain(inotifyFd);
    }
}

WaitResult Supervisor::waitForLine(Supervised& p,
                                   const std::function<bool(const std::string&)>& done,
                                   Clock::time_point deadline) {
    Fd ino{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
    if (ino.fd < 0) throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
    ::inotify_add_watch(ino.fd, p.log().c_str(), IN_MODIFY | IN_CLOSE_WRITE);
    return waitUntil(
        ino.fd,
        [&](WaitResult& r) {
            for (auto& line : p.readNewLines()) {
                r.lines.push_back(line);
                if (done(line)) {
                    r.status = WaitStatus::Ready;
                    return true;
                }
            }
            return false;
        },
        deadline);
}

WaitResult Supervisor::waitForFileOrEvent(const fs::path& file, Clock::time_point deadline) {
    Fd ino{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
    if (ino.fd < 0) throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
    fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    ::inotify_add_watch(ino.fd, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
    return waitUntil(
        ino.fd,
        [&](WaitResult& r) {
            std::error_code ec;
            if (!fs::exists(file, ec)) return false;
            r.status = WaitStatus::FileAppeared;
            return true;
        },
        deadline);
}

int Supervisor::stopAll(std::chrono::milliseconds grace) {
    int stopped = 0;
    std::vector<Supervised*> alive;
    for (auto& p : processes_) {
        if (p->exited()) continue;
        // The group first (the pgid is the pid: setpgid/setsid at start), so
        // anything a server forked goes too.
        if (::kill(-p->pid(), SIGTERM) != 0) ::kill(p->pid(), SIGTERM);
        alive.push_back(p.get());
    }
    auto waitAll = [&](Clock::time_point deadline) {
        for (;;) {
            std::vector<pollfd> fds;
            for (auto* p : alive) {
                if (!p->exited() && p->pidfd_ >= 0) fds.push_back({p->pidfd_, POLLIN, 0});
            }
            if (fds.empty()) return true;
            int ms = remainingMs(deadline);
            if (ms == 0) return false;
            ::poll(fds.data(), fds.size(), ms);
        }
    };
    if (!waitAll(Clock::now() + grace)) {
        for (auto* p : alive) {
            if (!p->exited()) {
                if (::kill(-p->pid(), SIGKILL) != 0) ::kill(p->pid(), SIGKILL);
            }
        }
        waitAll(Clock::now() + std::chrono::seconds(5));
    }
    for (auto* p : alive) stopped += p->exited() ? 1 : 0;
    return stopped;
}

void Supervisor::release() {
    for (auto& p : processes_) {
        if (p->impl_) p->impl_->child.detach();
    }
    processes_.clear();
}

std::string logTail(const fs::path& log, int lines) {
    std::ifstream in(log, std::ios::binary);
    if (!in) return "";
    std::vector<std::string> all;
    std::string line;
    while (std::getline(in, line)) all.push_back(line);
    std::ostringstream out;
    std::size_t from = all.size() > static_cast<std::size_t>(lines) ? all.size() - lines : 0;
    for (std::size_t i = from; i < all.size(); ++i) out << "    | " << all[i] << "\n";
    return out.str();
}

bool stopPid(int pid, std::chrono::milliseconds grace) {
    if (pid <= 0) return true;
    Fd pf{pidfdOpen(pid)};
    if (pf.fd < 0) return errno == ESRCH;
    auto gone = [&](int ms) {
        pollfd p{pf.fd, POLLIN, 0};
        return ::poll(&p, 1, ms) > 0;
    };
    if (::kill(-pid, SIGTERM) != 0) ::kill(pid, SIGTERM);
    if (gone(static_cast<int>(grace.count()))) return true;
    if (::kill(-pid, SIGKILL) != 0) ::kill(pid, SIGKILL);
    return gone(5000);
}

bool pidRuns(int pid, const fs::path& exe) {
    if (pid <= 0 || ::kill(pid, 0) != 0) return false;
    std::error_code ec;
    fs::path target = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    if (ec) return false;
    std::string t = target.string();
    const std::string deleted = " (deleted)";  // the binary was rebuilt while it ran
    if (t.size() > deleted.size() && t.ends_with(deleted)) t.resize(t.size() - deleted.size());
    return fs::weakly_canonical(exe, ec).string() == t;
}

}  // namespace edgelab::runner
