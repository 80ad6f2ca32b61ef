// edgelab-proxy end to end with slow and abusive clients: each is bounded
// (a timeout, a back-off), and a normal client is served meanwhile. No
// assertion bounds the wall clock; the bounds are the proxy's own.
#include <poll.h>

#include <gtest/gtest.h>

#include "proxy_fixture.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;
using namespace std::chrono_literals;

// A plain TCP connection (no TLS): what an idle or aborting client holds.
int tcpConnect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, kProxyAddress.c_str(), &sa.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void resetAndClose(int fd) {
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

// User plus system CPU time of a process, in clock ticks (proc(5)).
long cpuTicks(pid_t pid) {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14) std::istringstream(f) >> utime;
        if (i == 15) std::istringstream(f) >> stime;
    }
    return utime + stime;
}

std::size_t openDescriptors(pid_t pid) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        ++n;
    }
    return n;
}

// The test holds thousands of sockets: raise its own soft limit (the
// proxy, started after, inherits it).
void raiseOwnFileLimit(rlim_t want) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = std::min(std::max(limit.rlim_cur, want), limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

// The JSON of the first "edgelab-proxy: {...}" line that names `event`.
nlohmann::json eventLine(const std::string& log, const std::string& event) {
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("\"" + event + "\"") == std::string::npos) continue;
        return nlohmann::json::parse(line.substr(line.find('{')));
    }
    return nlohmann::json::object();
}

class ProxySlowClients : public ProxyEndToEnd {
  protected:
    void expectServed() {
        auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/normal"));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result_int(), 200);
    }

    // Two kept-alive connections to `host`: one after a single answered
    // request, one after two (the proxy treats the second as busy).
    auto onceAndBusy(const std::string& host) {
        auto once = client(host);
        auto busy = client(host);
        EXPECT_TRUE(once->send(get(host, "/once")));
        EXPECT_TRUE(once->readResponse());
        for (const std::string target : {"/first", "/second"}) {
            EXPECT_TRUE(busy->send(get(host, target)));
            auto res = busy->readResponse();
            EXPECT_TRUE(res && res->result_int() == 200) << target;
        }
        return std::pair{std::move(once), std::move(busy)};
    }
};

TEST_F(ProxySlowClients, SlowlorisGets408WhileOthersAreServed) {
    startProxy();  // headerTimeoutSec 2
    auto slow = client(name("lyncws"));
    ASSERT_TRUE(slow->connected);
    const std::string request = get(name("lyncws"), "/slow") + "X-Pad: " + std::string(200, 'p');
    pollfd pfd{slow->fd(), POLLIN, 0};
    std::size_t sent = 0;
    // One byte per 100 ms, until the proxy says something.
    while (sent < request.size() && ::poll(&pfd, 1, 100) == 0) {
        ASSERT_TRUE(slow->send(request.substr(sent++, 1)));
        if (sent == 5) expectServed();
    }
    ASSERT_LT(sent, request.size()) << "the whole header went through";
    auto res = slow->readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 408);
    EXPECT_TRUE(slow->closedByPeer());
    expectServed();
}

TEST_F(ProxySlowClients, StalledBodyIsCutOff) {
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["idleTimeoutSec"] = 2; });
    auto slow = client(name("lyncws"));
    ASSERT_TRUE(slow->send("POST /upload HTTP/1.1\r\nHost: " + name("lyncws") +
                           "\r\nContent-Length: 100\r\n\r\n0123456789"));
    expectServed();
    // idleTimeoutSec bounds each read of the body: the connection is closed
    // (the request never reached its end, so no answer can be trusted) and
    // the 408 is logged.
    EXPECT_TRUE(slow->closedByPeer());
    EXPECT_TRUE(eventually([&] {
        const auto err = slurp(dir / "proxy.err");
        return err.find("body timeout") != std::string::npos &&
               err.find("\"status\":408") != std::string::npos;
    })) << slurp(dir / "proxy.err");
}

TEST_F(ProxySlowClients, ClientThatNeverReadsIsCutOff) {
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["idleTimeoutSec"] = 2; });
    auto sink = client(name("lyncws"));
    // 64 MiB of chunks: far more than the socket buffers hold.
    ASSERT_TRUE(sink->send(get(name("lyncws"), "/large?mb=64")));
    expectServed();
    EXPECT_TRUE(eventually(
        [&] {
            const auto log = slurp(dir / "access.log");
            return log.find("\"target\":\"/large?mb=64\"") != std::string::npos &&
                   log.find("client: ") != std::string::npos;
        },
        20s))
        << slurp(dir / "access.log");
    expectServed();
}

// A kept-alive connection waits for its next request without a timer of its
// own (parked: after one request at once, after more once the worker's sweep
// finds it idle); the sweep keeps its idle deadline.
TEST_F(ProxySlowClients, IdleKeepAliveConnectionsCloseQuietlyAfterTheIdleTimeout) {
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["idleTimeoutSec"] = 2; });
    const std::string host = name("lyncws");
    auto [once, busy] = onceAndBusy(host);
    expectServed();
    // Closed by the proxy (not the client's own 10 s receive timeout), and
    // quietly: no close_notify (RFC 9112 9.8).
    for (auto* c : {once.get(), busy.get()}) {
        const int end = c->endOfConnection();
        EXPECT_NE(end, SSL_ERROR_WANT_READ);
        EXPECT_NE(end, SSL_ERROR_ZERO_RETURN);
    }
    expectServed();
}

// Parked connections, woken by their next request, are served as before.
TEST_F(ProxySlowClients, ParkedKeepAliveConnectionsAreServedWhenTheyAskAgain) {
    const fs::path log = dir / "fe-requests.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", log.string()});
    // The sweep runs every half second with a 1 s backend idle timeout.
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["backendIdleTimeoutSec"] = 1; }, "1");
    const std::string host = name("lyncws");
    auto [once, busy] = onceAndBusy(host);
    // The pooled backend connection expires in a sweep at least a whole
    // period after the last request: the client connections were idle
    // through it too.
    EXPECT_TRUE(eventually([&] { return slurp(log).find("peer-closed") != std::string::npos; }))
        << slurp(log);
    for (auto* c : {once.get(), busy.get()}) {
        ASSERT_TRUE(c->send(get(host, "/again")));
        auto res = c->readResponse();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result_int(), 200);
        EXPECT_NE(res->body().find("/again"), std::string::npos) << res->body();
    }
}

TEST_F(ProxySlowClients, ThousandsOfIdleConnectionsDoNotStarveAClient) {
    raiseOwnFileLimit(8192);
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["headerTimeoutSec"] = 30; });
    std::vector<int> idle;
    for (int i = 0; i < 2000; ++i) {
        const int fd = tcpConnect(port);
        ASSERT_GE(fd, 0) << i << ": " << std::strerror(errno);
        idle.push_back(fd);
    }
    std::vector<std::unique_ptr<TlsClient>> idleTls;
    for (int i = 0; i < 20; ++i) idleTls.push_back(client(name("lyncws")));
    expectServed();
    for (int fd : idle) ::close(fd);
    idleTls.clear();
    expectServed();
}

TEST_F(ProxySlowClients, AbortedHandshakesLeaveNothingBehind) {
    startProxy();
    const pid_t pid = proxy->child.id();
    expectServed();
    const std::size_t before = openDescriptors(pid);
    // The start of a ClientHello record, then a reset.
    const std::string partialHello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    for (int i = 0; i < 5000; ++i) {
        const int fd = tcpConnect(port);
        ASSERT_GE(fd, 0) << i;
        if (i % 2 == 0) [[maybe_unused]]
            auto n = ::send(fd, partialHello.data(), partialHello.size(), 0);
        resetAndClose(fd);
        if (i == 2500) expectServed();
    }
    expectServed();
    EXPECT_TRUE(eventually([&] { return openDescriptors(pid) <= before + 2; }))
        << openDescriptors(pid) << " descriptors, " << before << " before";
}

// With its descriptor limit reached the proxy pauses accepting (a back-off
// timer) instead of retrying accept(2) at once, and serves again once
// descriptors free up.
TEST_F(ProxySlowClients, DescriptorExhaustionBacksOffAndRecovers) {
    // A sanitizer's runtime needs descriptors of its own: with none free,
    // UBSan's vptr check (it probes memory through a pipe) calls a valid
    // object invalid, and no report file can be opened.
    if (proxyIsChosen()) GTEST_SKIP() << "exhausts the descriptors of " << proxyProgram();
    proxyFileLimit = 40;
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["headerTimeoutSec"] = 60; }, "1");
    const pid_t pid = proxy->child.id();
    std::vector<int> held;
    for (int i = 0; i < 60; ++i) held.push_back(tcpConnect(port));
    ASSERT_TRUE(eventually([&] {
        return slurp(dir / "proxy.err").find("accept-paused") != std::string::npos;
    })) << slurp(dir / "proxy.err");
    // A spinning accept loop burns a core: 20 ticks (0.2 s of CPU) come
    // within a second even on a loaded machine. A paused one uses none.
    const long ticksPaused = cpuTicks(pid);
    const bool spun = eventually([&] { return cpuTicks(pid) - ticksPaused >= 20; }, 1s);
    const long ticksDuringPause = cpuTicks(pid) - ticksPaused;
    for (int fd : held) ::close(fd);
    ASSERT_TRUE(eventually(
        [&] { return slurp(dir / "proxy.err").find("accept-resumed") != std::string::npos; }));
    EXPECT_FALSE(spun) << ticksDuringPause << " ticks while paused";
    // The proxy's own count: one retry per back-off, not one per wake-up.
    const auto line = eventLine(slurp(dir / "proxy.err"), "accept-resumed");
    const auto retries = line["retries"].get<long>();
    const auto pausedMs = line["pausedMs"].get<long>();
    EXPECT_LE(retries, pausedMs / 50 + 3) << line.dump();
    expectServed();
}

}  // namespace
}  // namespace edgelab::proxy
