// The fixture of edgelab-proxy's end-to-end tests: real processes on
// loopback (127.4.0.0/16), real TLS (a raw OpenSSL client, so a missing SNI
// and a reset are visible), real HTTP parsed by Beast.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <nlohmann/json.hpp>

#include "cli/bindings_command.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "net/asio.hpp"
#include "proxy/binding_store.hpp"
#include "tests/support/dies_with_test.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"
#include "tls_fixture.hpp"

namespace edgelab::proxy::test {

namespace fs = std::filesystem;
namespace bp = boost::process;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

inline const std::string kProxyAddress = "127.4.0.1";
inline const std::string kDomain = "contoso.com";

inline std::string name(const std::string& prefix) { return prefix + "." + kDomain; }

// The edgelab-proxy the tests start: the one built beside them, or the
// program EDGELAB_TEST_PROXY names (`make sanitize` runs these tests against
// builds with sanitizers, sanitize/README.md).
inline std::string proxyProgram() {
    const char* chosen = std::getenv("EDGELAB_TEST_PROXY");
    if (chosen && *chosen) return chosen;
    return std::string(EDGELAB_BIN_DIR) + "/edgelab-proxy";
}

// Whether EDGELAB_TEST_PROXY chose the program: a test that measures the
// proxy's own memory skips itself then (a sanitizer's shadow memory and
// quarantine are not the proxy's).
inline bool proxyIsChosen() {
    const char* chosen = std::getenv("EDGELAB_TEST_PROXY");
    return chosen && *chosen;
}

// A figure of a process's memory from /proc/PID/status, in KiB ("VmRSS",
// "VmHWM"); -1 if the process or the field is not there.
inline long procStatusKiB(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return -1;
}

// A started program whose first stdout lines announce readiness.
struct Process {
    bp::ipstream out;
    bp::child child;
    std::vector<std::string> readyLines;

    // `fileLimit`: RLIMIT_NOFILE for the child, set between fork and exec.
    void start(const std::string& exe, const std::vector<std::string>& args, const fs::path& err,
               const std::string& lastReadyLine, rlim_t fileLimit = 0) {
        child = bp::child(
            exe, bp::args(args), bp::std_out > out, bp::std_err > err.string(),
            bp::extend::on_exec_setup = [fileLimit, parent = ::getpid()](auto&) {
                edgelab::dieWithParent(parent);
                if (!fileLimit) return;
                const rlimit limit{fileLimit, fileLimit};
                ::setrlimit(RLIMIT_NOFILE, &limit);
            });
        std::string line;
        while (std::getline(out, line)) {
            readyLines.push_back(line);
            // "READY " matches as a prefix, "READY" only whole.
            if (line == lastReadyLine ||
                (lastReadyLine.ends_with(' ') && line.rfind(lastReadyLine, 0) == 0)) {
                return;
            }
        }
        throw std::runtime_error(exe + " exited before READY; see " + err.string());
    }
    ~Process() {
        std::error_code ec;
        if (!child.valid() || !child.running(ec)) return;
        ::kill(child.id(), SIGTERM);
        const bool exited = edgelab::test::eventually([&] { return !child.running(ec); },
                                                      "the process exits on SIGTERM", 10s);
        if (!exited) child.terminate(ec);
        child.wait(ec);
    }
};

// A TLS client on the OpenSSL API: it can leave SNI out, offer a session
// from an earlier connection, and reports how the handshake ended, errno
// included.
class TlsClient {
  public:
    TlsClient(const std::string& address, std::uint16_t port, std::optional<std::string> sni,
              const fs::path& caFile, int maxVersion = 0, bool verifyName = true,
              SSL_SESSION* offer = nullptr, std::string_view alpn = {}) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        // `alpn` in the wire format: each protocol name after its length byte.
        if (!alpn.empty())
            SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(alpn.data()),
                                    static_cast<unsigned>(alpn.size()));
        if (maxVersion) {
            // A legacy client profile: Debian's defaults would not even offer it.
            SSL_CTX_set_security_level(ctx_, 0);
            SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
            SSL_CTX_set_max_proto_version(ctx_, maxVersion);
        }
        SSL_CTX_load_verify_locations(ctx_, caFile.c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            connectErrno = errno;
            return;
        }
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        if (sni) {
            SSL_set_tlsext_host_name(ssl_, sni->c_str());
            if (verifyName) SSL_set1_host(ssl_, sni->c_str());
        }
        if (offer) SSL_set_session(ssl_, offer);
        // SSL_get_error reads the thread's error queue: start it empty.
        ERR_clear_error();
        errno = 0;
        const int r = SSL_connect(ssl_);
        if (r != 1) {
            sslError = SSL_get_error(ssl_, r);
            handshakeErrno = errno;
            return;
        }
        connected = true;
    }
    ~TlsClient() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
        SSL_CTX_free(ctx_);
    }

    std::string peerSubject() const {
        X509* cert = SSL_get0_peer_certificate(ssl_);
        if (!cert) return "";
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
        return buf;
    }

    // The connection's session as it stands: a TLS 1.3 ticket arrives after
    // the handshake, so read a response before taking it. The connection must
    // outlive its use (freed without a TLS close, OpenSSL marks the session
    // not resumable).
    std::shared_ptr<SSL_SESSION> session() const {
        return {SSL_get1_session(ssl_), SSL_SESSION_free};
    }
    bool resumed() const { return SSL_session_reused(ssl_) == 1; }
    // The protocol the server chose by ALPN; empty when it chose none.
    std::string alpnSelected() const {
        const unsigned char* p = nullptr;
        unsigned int n = 0;
        SSL_get0_alpn_selected(ssl_, &p, &n);
        return std::string(reinterpret_cast<const char*>(p), n);
    }
    std::string cipher() const { return SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)); }

    bool send(std::string_view bytes) {
        return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    }

    // One response, parsed by Beast; nullopt when the connection ends first.
    std::optional<http::response<http::string_body>> readResponse(bool head = false) {
        http::response_parser<http::string_body> p;
        p.body_limit(std::numeric_limits<std::uint64_t>::max());
        p.header_limit(1024 * 1024);
        if (head) p.skip(true);
        for (;;) {
            if (!pending_.empty()) {
                boost::beast::error_code ec;
                const auto n = p.put(boost::asio::buffer(pending_), ec);
                pending_.erase(0, n);
                if (ec && ec != http::error::need_more) return std::nullopt;
                if (p.is_done()) return p.release();
                if (!ec && n > 0) continue;
            }
            char buf[16384];
            const int n = SSL_read(ssl_, buf, sizeof buf);
            if (n <= 0) {
                if (p.is_header_done() && !p.chunked() && !p.content_length()) {
                    boost::beast::error_code ec;
                    p.put_eof(ec);
                    if (!ec) return p.release();
                }
                return std::nullopt;
            }
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // True when the peer has closed (or reset) the connection.
    bool closedByPeer() {
        char c;
        return SSL_read(ssl_, &c, 1) <= 0;
    }

    // Whatever one read returns (bytes already buffered first); empty at the
    // end, and endOfConnection() then says how it ended.
    std::string readSome() {
        if (!pending_.empty()) return std::exchange(pending_, {});
        char buf[16384];
        ERR_clear_error();
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
        end_ = SSL_get_error(ssl_, n);
        return {};
    }

    // Reads to the end of the connection: SSL_ERROR_ZERO_RETURN for a clean
    // TLS close (close_notify), SSL_ERROR_SYSCALL for a reset or a bare FIN.
    int endOfConnection() {
        while (!end_) readSome();
        return end_;
    }

    int fd() const { return fd_; }

    bool connected = false;
    int connectErrno = 0;
    int sslError = 0;
    int handshakeErrno = 0;

  private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    std::string pending_;
    int end_ = 0;  // SSL_get_error of the read that ended the connection
};

inline std::string get(const std::string& host, const std::string& target,
                       const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n";
}

template <class Predicate>
inline ::testing::AssertionResult eventually(
    Predicate p, std::chrono::milliseconds hangGuard = edgelab::test::kHangGuard) {
    return edgelab::test::eventually(p, "the condition", hangGuard);
}

inline std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::uint16_t unusedPort(const std::string& address) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);  // nothing listens there afterwards: connections are refused
    return ntohs(sa.sin_port);
}

class ProxyEndToEnd : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::create_directories(dir / "backend");
        ca = test::issue("edgelab test root", {}, nullptr);
        test::writeText(dir / "root.pem", test::pemOf(ca.cert.get()));
        // The proxy certificate covers every public name but extra.contoso.com,
        // which is published so that a Host outside the certificate can be asked for.
        const auto proxyCert = test::issue(name("lyncws"),
                                           {name("lyncws"), name("meet"), name("dialin"),
                                            name("lyncdiscover"), name("owas"), name("dead")},
                                           &ca);
        thumbprint = test::addToStore(dir / "store", proxyCert, ca);
        startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443");
        startBackend(owas, name("owas"), "127.4.1.2", "443");
    }

    void TearDown() override {
        proxy.reset();
        fe.reset();
        owas.reset();
    }

    void startBackend(std::unique_ptr<Process>& p, const std::string& host,
                      const std::string& address, const std::string& urlPort,
                      const std::vector<std::string>& extra = {}) {
        const test::KeyPair& issuer = backendIssuer ? *backendIssuer : ca;
        const auto cert = test::issue(host, {host}, &issuer);
        const fs::path pem = dir / "backend" / (host + ".pem");
        const fs::path key = dir / "backend" / (host + ".key");
        test::writeText(pem, test::pemOf(cert.cert.get()) + test::pemOf(issuer.cert.get()));
        test::writeText(key, test::pemOf(cert.key.get()));
        p = std::make_unique<Process>();
        std::vector<std::string> args{"--listen",   address + ":0", "--cert", pem.string(),
                                      "--key",      key.string(),   "--host", host,
                                      "--url-port", urlPort};
        args.insert(args.end(), extra.begin(), extra.end());
        p->start(std::string(EDGELAB_BIN_DIR) + "/edgelab-proxy-test-backend", args,
                 dir / (host + ".err"), "READY ");
        const std::string& line = p->readyLines.back();
        internalDns[host + ":" + urlPort] = line.substr(line.rfind('/') + 1);
    }

    nlohmann::json application(const std::string& prefix, const std::string& backend,
                               const std::string& preauth = "PassThrough") {
        return {{"name", prefix},
                {"externalUrl", "https://" + name(prefix) + "/"},
                {"backendServerUrl", backend},
                {"externalPreAuthentication", preauth},
                {"externalCertificateThumbprint", thumbprint}};
    }

    void startProxy(const std::function<void(nlohmann::json&)>& adjust = {},
                    const std::string& threads = "2") {
        internalDns["dead.contoso.local:4443"] =
            "127.4.1.3:" + std::to_string(unusedPort("127.4.1.3"));
        auto lyncdiscover = application("lyncdiscover", "https://lyncfe1.contoso.local:4443/");
        lyncdiscover["inactiveTransactionsTimeoutSec"] = 1;
        nlohmann::json cfg{
            {"listeners", {{{"address", kProxyAddress}, {"port", 0}, {"publishedPort", 443}}}},
            {"certificateStore", (dir / "store").string()},
            {"bindingStore", (dir / "bindings.json").string()},
            {"caBundle", (dir / "root.pem").string()},
            {"accessLog", (dir / "access.log").string()},
            {"adfsUrl", "https://adfs.contoso.com/adfs/ls/"},
            {"internalDns", internalDns},
            {"limits", {{"headerTimeoutSec", 2}}},
            {"applications",
             {application("lyncws", "https://lyncfe1.contoso.local:4443/"),
              application("meet", "https://lyncfe1.contoso.local:4443/"), lyncdiscover,
              application("owas", "https://owas.contoso.com/"),
              application("dialin", "https://lyncfe1.contoso.local:4443/", "ADFS"),
              application("dead", "https://dead.contoso.local:4443/"),
              application("extra", "https://lyncfe1.contoso.local:4443/")}}};
        if (adjust) adjust(cfg);
        test::writeText(dir / "proxy.json", cfg.dump(2));
        proxy = std::make_unique<Process>();
        proxy->start(proxyProgram(),
                     {"--config", (dir / "proxy.json").string(), "--threads", threads},
                     dir / "proxy.err", "READY", proxyFileLimit);
        ASSERT_EQ(proxy->readyLines.size(), 2u);
        EXPECT_EQ(proxy->readyLines.back(), "READY");
        const std::string& line = proxy->readyLines[0];  // READY ADDR:PORT published=443
        ASSERT_EQ(line.rfind("READY " + kProxyAddress + ":", 0), 0u) << line;
        ASSERT_NE(line.find(" published=443"), std::string::npos) << line;
        const auto space = line.find(' ', 6);
        const auto listener = parseEndpoint(line.substr(6, space - 6));
        ASSERT_TRUE(listener) << listener.error();
        port = listener->port;
    }

    std::unique_ptr<TlsClient> client(std::optional<std::string> sni) {
        return std::make_unique<TlsClient>(kProxyAddress, port, std::move(sni), dir / "root.pem");
    }

    std::optional<http::response<http::string_body>> roundTrip(const std::string& sni,
                                                               const std::string& request) {
        auto c = client(sni);
        if (!c->connected || !c->send(request)) return std::nullopt;
        return c->readResponse();
    }

    void runBindings(const std::vector<std::string>& args) {
        CLI::App app;
        cli::addBindingsCommand(app);
        std::vector<std::string> argv{"edgelab"};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<const char*> cargv;
        for (auto& a : argv) cargv.push_back(a.c_str());
        app.parse(static_cast<int>(cargv.size()), cargv.data());
    }

    edgelab::test::TempDir scratch{"proxy-e2e"};
    fs::path dir = scratch.path();
    test::KeyPair ca;
    // Who issues the certificates of backends started from now on (null: ca,
    // which the proxy trusts).
    const test::KeyPair* backendIssuer = nullptr;
    std::string thumbprint;
    nlohmann::json internalDns = nlohmann::json::object();
    std::unique_ptr<Process> fe, owas, proxy;
    std::uint16_t port = 0;
    rlim_t proxyFileLimit = 0;  // 0: inherited
};

}  // namespace edgelab::proxy::test
