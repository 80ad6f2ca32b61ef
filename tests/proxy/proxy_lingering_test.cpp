// Answers sent before the request was read to its end reach the client: the
// proxy closes with a lingering close (RFC 9112 9.6), and Debian's nginx,
// configured as the same publishing in the same run, is held to the same
// test. Without it about half of the over-limit requests ended in a reset
// that destroyed the answer.
#include <signal.h>

#include <csignal>
#include <fstream>

#include <gtest/gtest.h>
#include <boost/process.hpp>

#include "proxy_fixture.hpp"
#include "tests/support/dies_with_test.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;
using namespace std::chrono_literals;

constexpr int kRounds = 50;
const std::string kNginxAddress = "127.4.0.2";

std::string host() { return name("lyncws"); }

// What a client sends that is refused before it has all been read.
struct EarlyRefusal {
    const char* name;
    std::string bytes;
};

std::vector<EarlyRefusal> earlyRefusals() {
    const std::string post = "POST /upload HTTP/1.1\r\nHost: " + host() + "\r\n";
    return {
        // A Negotiate token of a user in many groups is this shape.
        {"header block over the limit", "GET / HTTP/1.1\r\nHost: " + host() +
                                            "\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n"},
        {"body over the limit",
         post + "Content-Length: 4194304\r\n\r\n" + std::string(2 * 1024 * 1024, 'x')},
        {"bad chunk followed by more data",
         post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + std::string(512 * 1024, 'y')},
    };
}

bool accepts(const std::string& address, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
}

class LingeringClose : public ProxyEndToEnd {
  protected:
    void SetUp() override {
        ProxyEndToEnd::SetUp();
        // The proxy closes while these clients still write: EPIPE, not SIGPIPE.
        ::signal(SIGPIPE, SIG_IGN);
    }
    void TearDown() override {
        if (nginx.valid()) {
            // SIGTERM: the master stops its worker and then exits. SIGKILL
            // (terminate) would leave the worker running, orphaned.
            std::error_code ec;
            if (nginx.running(ec)) ::kill(nginx.id(), SIGTERM);
            nginx.wait(ec);
        }
        ProxyEndToEnd::TearDown();
    }

    // nginx publishing the same backend with the same certificate and a
    // 1 MiB body limit; its other limits are its defaults.
    void startNginx() {
        nginxPort = unusedPort(kNginxAddress);
        const fs::path prefix = dir / "nginx";
        fs::create_directories(prefix / "tmp");
        const std::string store = (dir / "store" / thumbprint).string();
        std::string conf = "daemon off;\nworker_processes 1;\nerror_log stderr;\npid " +
                           (prefix / "nginx.pid").string() +
                           ";\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n";
        for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
            conf +=
                "  " + std::string(temp) + "_temp_path " + (prefix / "tmp" / temp).string() + ";\n";
        conf += "  client_max_body_size 1m;\n  server {\n    listen " + kNginxAddress + ":" +
                std::to_string(nginxPort) + " ssl;\n    server_name " + host() +
                ";\n    ssl_certificate " + store + ".pem;\n    ssl_certificate_key " + store +
                ".key;\n    location / {\n      proxy_pass https://" +
                internalDns.at("lyncfe1.contoso.local:4443").get<std::string>() +
                ";\n      proxy_http_version 1.1;\n    }\n  }\n}\n";
        test::writeText(prefix / "nginx.conf", conf);
        nginx =
            bp::child("/usr/sbin/nginx", "-c", (prefix / "nginx.conf").string(), "-p",
                      prefix.string(), bp::std_out > bp::null,
                      bp::std_err > (prefix / "error.log").string(), edgelab::test::diesWithTest());
        ASSERT_TRUE(edgelab::test::eventually([&] { return accepts(kNginxAddress, nginxPort); },
                                              "nginx listens"));
    }

    // Sends the whole request (what the server does not take is lost, as it
    // is for a real client), then reads: the answer, or nothing.
    std::optional<int> answerTo(const std::string& address, std::uint16_t at,
                                const std::string& bytes) {
        TlsClient c(address, at, host(), dir / "root.pem");
        if (!c.connected) return std::nullopt;
        c.send(bytes);
        auto res = c.readResponse();
        if (!res) return std::nullopt;
        return res->result_int();
    }

    // How many of kRounds tries got an answer in the 4xx range.
    int answered(const std::string& address, std::uint16_t at, const std::string& bytes) {
        int n = 0;
        for (int i = 0; i < kRounds; ++i) {
            const auto status = answerTo(address, at, bytes);
            n += status && *status >= 400 && *status < 500;
        }
        return n;
    }

    std::string accessLog() {
        std::ifstream in(dir / "access.log");
        return {std::istreambuf_iterator<char>(in), {}};
    }

    bp::child nginx;
    std::uint16_t nginxPort = 0;
};

TEST_F(LingeringClose, EveryEarlyAnswerReachesTheClientAsNginxs) {
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["requestBodyLimitBytes"] = 1048576; });
    startNginx();
    for (const auto& c : earlyRefusals()) {
        SCOPED_TRACE(c.name);
        EXPECT_EQ(answered(kNginxAddress, nginxPort, c.bytes), kRounds) << "nginx";
        EXPECT_EQ(answered(kProxyAddress, port, c.bytes), kRounds) << "edgelab-proxy";
    }
    // Each of the proxy's refused connections lingered until the client
    // closed (or reset, having read the answer), none until a bound. (The
    // backend connections that got part of a bad request linger too, with
    // "side": "backend".)
    auto count = [&](const std::string& needle) {
        const std::string log = accessLog();
        std::size_t n = 0;
        for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
            ++n;
        return n;
    };
    EXPECT_TRUE(
        edgelab::test::eventually([&] { return count("\"side\":\"client\"") == 3u * kRounds; },
                                  "every refused connection's lingering close ends"))
        << accessLog();
    EXPECT_EQ(count("\"ended\":\"client-closed\"") + count("\"ended\":\"client-reset\""),
              3u * kRounds)
        << accessLog();
}

// A client that goes silent after its refused request, without closing:
// the proxy closes once lingeringTimeoutSec has passed without a byte.
TEST_F(LingeringClose, ASilentClientIsClosedAfterTheLingeringTimeout) {
    startProxy([](nlohmann::json& cfg) {
        cfg["limits"]["lingeringTimeoutSec"] = 1;
        cfg["limits"]["lingeringTimeSec"] = 3600;
    });
    TlsClient c(kProxyAddress, port, host(), dir / "root.pem");
    ASSERT_TRUE(c.connected);
    c.send("GET / HTTP/1.1\r\nHost: " + host() + "\r\nX-Big: " + std::string(20000, 'b'));
    auto res = c.readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 400);
    EXPECT_NE(res->body().find("The size of the request headers is too long"), std::string::npos);
    ASSERT_TRUE(edgelab::test::eventually(
        [&] { return accessLog().find("\"ended\":\"timeout\"") != std::string::npos; },
        "the proxy ends the lingering close"));
    // The end of the connection reaches the client too.
    c.endOfConnection();
}

// A client that never stops sending: the proxy closes once lingeringTimeSec
// has passed in all, however steadily it sends.
TEST_F(LingeringClose, AClientThatNeverStopsIsClosedAfterTheLingeringTime) {
    startProxy([](nlohmann::json& cfg) {
        cfg["limits"]["lingeringTimeSec"] = 1;
        cfg["limits"]["lingeringTimeoutSec"] = 3600;
        cfg["limits"]["lingeringBytes"] = 1ull << 40;
    });
    TlsClient c(kProxyAddress, port, host(), dir / "root.pem");
    ASSERT_TRUE(c.connected);
    ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: " + host() +
                       "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
    const std::string piece(16384, 'z');
    // Sends until the proxy has closed: the event this test waits on.
    while (c.send(piece)) {
    }
    EXPECT_TRUE(edgelab::test::eventually(
        [&] { return accessLog().find("\"ended\":\"time\"") != std::string::npos; },
        "the proxy logs the end of the lingering close"))
        << accessLog();
}

}  // namespace
}  // namespace edgelab::proxy
