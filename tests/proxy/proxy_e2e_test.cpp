// edgelab-proxy end to end: real processes on loopback (127.4.0.0/16), real
// TLS (a raw OpenSSL client, so a missing SNI and a reset are visible), real
// HTTP parsed by Beast.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "provision/atomic_file.hpp"
#include "provision/net/asio.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/bindings_command.hpp"
#include "tls_fixture.hpp"

namespace edgelab::proxy {
namespace {

namespace fs = std::filesystem;
namespace bp = boost::process;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

const std::string kProxyAddress = "127.4.0.1";
const std::string kDomain = "contoso.com";

std::string name(const std::string& prefix) { return prefix + "." + kDomain; }

// A started program whose first stdout lines announce readiness.
struct Process {
    bp::ipstream out;
    bp::child child;
    std::vector<std::string> readyLines;

    void start(const std::string& exe, const std::vector<std::string>& args, const fs::path& err,
               const std::string& lastReadyLine) {
        child = bp::child(exe, bp::args(args), bp::std_out > out, bp::std_err > err.string());
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
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        while (child.running(ec) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(10ms);
        }
        if (child.running(ec)) child.terminate(ec);
        child.wait(ec);
    }
};

// A TLS client on the OpenSSL API: it can leave SNI out and reports how the
// handshake ended, errno included.
class TlsClient {
  public:
    TlsClient(const std::string& address, std::uint16_t port, std::optional<std::string> sni,
              const fs::path& caFile, int maxVersion = 0, bool verifyName = true) {
        ctx_ = SSL_CTX_new(TLS_client_method());
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

    bool send(std::string_view bytes) {
        return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    }

    // One response, parsed by Beast; nullopt when the connection ends first.
    std::optional<http::response<http::string_body>> readResponse(bool head = false) {
        http::response_parser<http::string_body> p;
        p.body_limit(std::numeric_limits<std::uint64_t>::max());
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

    bool connected = false;
    int connectErrno = 0;
    int sslError = 0;
    int handshakeErrno = 0;

  private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    std::string pending_;
};

std::string get(const std::string& host, const std::string& target, const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n";
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (p()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return p();
}

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::uint16_t unusedPort(const std::string& address) {
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
        dir = fs::temp_directory_path() /
              ("edgelab-proxy-e2e-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
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
        if (!HasFailure()) fs::remove_all(dir);
    }

    void startBackend(std::unique_ptr<Process>& p, const std::string& host,
                      const std::string& address, const std::string& urlPort) {
        const auto cert = test::issue(host, {host}, &ca);
        const fs::path pem = dir / "backend" / (host + ".pem");
        const fs::path key = dir / "backend" / (host + ".key");
        test::writeText(pem, test::pemOf(cert.cert.get()) + test::pemOf(ca.cert.get()));
        test::writeText(key, test::pemOf(cert.key.get()));
        p = std::make_unique<Process>();
        p->start(std::string(EDGELAB_BIN_DIR) + "/edgelab-proxy-test-backend",
                 {"--listen", address + ":0", "--cert", pem.string(), "--key", key.string(),
                  "--host", host, "--url-port", urlPort},
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

    void startProxy(const std::function<void(nlohmann::json&)>& adjust = {}) {
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
        proxy->start(std::string(EDGELAB_BIN_DIR) + "/edgelab-proxy",
                     {"--config", (dir / "proxy.json").string(), "--threads", "2"},
                     dir / "proxy.err", "READY");
        ASSERT_EQ(proxy->readyLines.size(), 2u);
        EXPECT_EQ(proxy->readyLines.back(), "READY");
        const std::string& line = proxy->readyLines[0];  // READY ADDR:PORT published=443
        ASSERT_EQ(line.rfind("READY " + kProxyAddress + ":", 0), 0u) << line;
        ASSERT_NE(line.find(" published=443"), std::string::npos) << line;
        const auto colon = line.find(':');
        port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
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
        addBindingsCommand(app);
        std::vector<std::string> argv{"edgelab"};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<const char*> cargv;
        for (auto& a : argv) cargv.push_back(a.c_str());
        app.parse(static_cast<int>(cargv.size()), cargv.data());
    }

    fs::path dir;
    test::KeyPair ca;
    std::string thumbprint;
    nlohmann::json internalDns = nlohmann::json::object();
    std::unique_ptr<Process> fe, owas, proxy;
    std::uint16_t port = 0;
};

TEST_F(ProxyEndToEnd, BadConfigurationExitsTwoNamingTheField) {
    nlohmann::json cfg{{"listeners", {{{"address", kProxyAddress}, {"port", 0}}}},
                       {"certificateStore", (dir / "store").string()},
                       {"bindingStore", (dir / "bindings.json").string()},
                       {"caBundle", (dir / "root.pem").string()},
                       {"applications", {application("lyncws", "https://nowhere.local:4443/")}}};
    test::writeText(dir / "bad.json", cfg.dump());
    bp::ipstream err;
    bp::child c(std::string(EDGELAB_BIN_DIR) + "/edgelab-proxy",
                bp::args({"--config", (dir / "bad.json").string()}), bp::std_out > bp::null,
                bp::std_err > err);
    std::string all, line;
    while (std::getline(err, line)) all += line + "\n";
    c.wait();
    EXPECT_EQ(c.exit_code(), 2);
    EXPECT_NE(all.find("/applications/0/backendServerUrl"), std::string::npos) << all;
    EXPECT_NE(all.find("internalDns"), std::string::npos) << all;
}

TEST_F(ProxyEndToEnd, CreatesHostnameBindingsOnlyWhenPublishing) {
    startProxy();
    const auto store = loadBindingStore(dir / "bindings.json");
    EXPECT_EQ(store.bindings.size(), 7u);
    for (const auto& b : store.bindings) {
        EXPECT_EQ(b.key.kind, BindingKind::HostnamePort) << b.key.str();
        EXPECT_EQ(b.certificateHash, thumbprint);
        EXPECT_EQ(b.applicationId, kWapApplicationId);
    }
}

TEST_F(ProxyEndToEnd, ClientWithoutSniIsResetWithoutADefaultBinding) {
    startProxy();
    auto c = client(std::nullopt);
    EXPECT_FALSE(c->connected);
    EXPECT_EQ(c->sslError, SSL_ERROR_SYSCALL) << slurp(dir / "proxy.err");
    EXPECT_EQ(c->handshakeErrno, ECONNRESET) << std::strerror(c->handshakeErrno);
    EXPECT_TRUE(eventually([&] {
        const auto err = slurp(dir / "proxy.err");
        return err.find("handshake-refused") != std::string::npos &&
               err.find("no SNI and no IP:port (default) binding") != std::string::npos;
    }));
    // The access log is written apart from stderr: wait for it too.
    EXPECT_TRUE(eventually([&] {
        return slurp(dir / "access.log").find("handshake-refused") != std::string::npos;
    }));
}

TEST_F(ProxyEndToEnd, UnknownSniIsReset) {
    startProxy();
    auto c = client(std::string("intranet.contoso.com"));
    EXPECT_FALSE(c->connected);
    EXPECT_EQ(c->handshakeErrno, ECONNRESET);
}

TEST_F(ProxyEndToEnd, LegacyTlsIsRefusedByDefaultAndLogged) {
    startProxy();
    TlsClient legacy(kProxyAddress, port, name("lyncws"), dir / "root.pem", TLS1_1_VERSION);
    EXPECT_FALSE(legacy.connected);
    EXPECT_TRUE(eventually([&] {
        const auto err = slurp(dir / "proxy.err");
        return err.find("handshake-refused") != std::string::npos &&
               err.find("protocol: ") != std::string::npos;
    })) << slurp(dir / "proxy.err");
    EXPECT_TRUE(client(name("lyncws"))->connected);
}

TEST_F(ProxyEndToEnd, EveryPublishedNameWithSniReachesItsBackend) {
    startProxy();
    for (const std::string prefix : {"lyncws", "meet", "lyncdiscover"}) {
        auto res = roundTrip(name(prefix), get(name(prefix), "/Autodiscover/x"));
        ASSERT_TRUE(res) << prefix;
        EXPECT_EQ(res->result_int(), 200) << prefix;
        EXPECT_NE(res->body().find("host: lyncfe1.contoso.local:4443\n"), std::string::npos)
            << res->body();
        EXPECT_NE(res->body().find("backend: lyncfe1.contoso.local\n"), std::string::npos);
        EXPECT_NE(res->body().find("x-forwarded-for: 127."), std::string::npos);
        EXPECT_NE(res->body().find("x-forwarded-proto: https"), std::string::npos);
    }
    auto res = roundTrip(name("owas"), get(name("owas"), "/hosting/discovery"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_NE(res->body().find("host: owas.contoso.com\n"), std::string::npos) << res->body();
    // ADFS pre-authentication is not emulated: a redirect to the federation service.
    res = roundTrip(name("dialin"), get(name("dialin"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 302);
    EXPECT_EQ(
        std::string((*res)[http::field::location]).rfind("https://adfs.contoso.com/adfs/ls/?", 0),
        0u);
}

TEST_F(ProxyEndToEnd, SetDefaultServesClientsWithoutSniWhileRunning) {
    startProxy();
    // A keep-alive connection opened before the change must survive it.
    auto before = client(name("lyncws"));
    ASSERT_TRUE(before->connected);
    ASSERT_TRUE(before->send(get(name("lyncws"), "/one")));
    auto first = before->readResponse();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->result_int(), 200);

    EXPECT_FALSE(client(std::nullopt)->connected);
    testing::internal::CaptureStdout();
    runBindings({"bindings", "set-default", "--store", (dir / "bindings.json").string(),
                 "--match-host", name("lyncws"), "--ipport", "0.0.0.0:443"});
    const std::string printed = testing::internal::GetCapturedStdout();
    EXPECT_NE(printed.find("Before:"), std::string::npos);
    EXPECT_NE(printed.find("IP:port                      : 0.0.0.0:443"), std::string::npos);

    ASSERT_TRUE(eventually([&] { return client(std::nullopt)->connected; }));
    auto noSni = client(std::nullopt);
    ASSERT_TRUE(noSni->connected);
    EXPECT_NE(noSni->peerSubject().find("CN=" + name("lyncws")), std::string::npos);
    ASSERT_TRUE(noSni->send(get(name("lyncws"), "/mobile")));
    auto res = noSni->readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);

    ASSERT_TRUE(before->send(get(name("lyncws"), "/two")));
    auto second = before->readResponse();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->result_int(), 200);
    EXPECT_NE(second->body().find("request-line: GET /two"), std::string::npos);
}

TEST_F(ProxyEndToEnd, SighupReloadsTheStore) {
    startProxy();
    BindingStore store = loadBindingStore(dir / "bindings.json");
    store.bindings.push_back(
        {{BindingKind::IpPort, kProxyAddress, 443}, thumbprint, std::string(kWapApplicationId)});
    // Written in place with the same size and mtime second would be missed
    // by a poll alone; SIGHUP covers it either way.
    saveBindingStore(dir / "bindings.json", store);
    ::kill(proxy->child.id(), SIGHUP);
    EXPECT_TRUE(eventually([&] { return client(std::nullopt)->connected; }));
}

TEST_F(ProxyEndToEnd, HeadersAreTranslatedBodiesAreNot) {
    startProxy();
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/redirect"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 302);
    EXPECT_EQ((*res)[http::field::location], "https://lyncws.contoso.com/x");
    EXPECT_EQ((*res)[http::field::content_location], "https://lyncws.contoso.com/y");
    EXPECT_EQ((*res)[http::field::set_cookie], "session=1; Domain=lyncws.contoso.com; Path=/");
    EXPECT_NE(res->body().find("link: https://lyncfe1.contoso.local:4443/in-the-body"),
              std::string::npos);
}

TEST_F(ProxyEndToEnd, TranslationCanBeDisabledPerApplication) {
    startProxy([](nlohmann::json& cfg) {
        cfg["applications"][0]["disableTranslateUrlInRequestHeaders"] = true;
        cfg["applications"][0]["disableTranslateUrlInResponseHeaders"] = true;
    });
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/redirect"));
    ASSERT_TRUE(res);
    EXPECT_NE(res->body().find("host: lyncws.contoso.com\n"), std::string::npos) << res->body();
    EXPECT_EQ((*res)[http::field::location], "https://lyncfe1.contoso.local:4443/x");
    EXPECT_EQ((*res)[http::field::set_cookie], "session=1; Domain=lyncfe1.contoso.local; Path=/");
}

TEST_F(ProxyEndToEnd, RequestLineIsForwardedByteForByte) {
    startProxy();
    const std::string target = "/m/Presenter.aspx?WopiSrc=https%253A%252F%252Fa%2Fb/../c%25&x=/./y";
    auto res = roundTrip(name("owas"), get(name("owas"), target));
    ASSERT_TRUE(res);
    EXPECT_NE(res->body().find("request-line: GET " + target + "\n"), std::string::npos)
        << res->body();
}

TEST_F(ProxyEndToEnd, RoutingAnswers404And421) {
    startProxy();
    auto res = roundTrip(name("lyncws"), get("nothere.contoso.com", "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 404);
    res = roundTrip(name("lyncws"), get(name("extra"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 421);
}

TEST_F(ProxyEndToEnd, BackendDownIs502AndSlowBackendIs504) {
    startProxy();
    auto res = roundTrip(name("dead"), get(name("dead"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502);
    EXPECT_NE(res->body().find("dead"), std::string::npos);
    res = roundTrip(name("lyncws"), get(name("lyncws"), "/drop"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502);
    // lyncdiscover has inactiveTransactionsTimeoutSec 1.
    res = roundTrip(name("lyncdiscover"), get(name("lyncdiscover"), "/hold?ms=3000"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 504);
    EXPECT_NE(res->body().find("lyncdiscover"), std::string::npos);
    res = roundTrip(name("lyncdiscover"), get(name("lyncdiscover"), "/hold?ms=200"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
}

TEST_F(ProxyEndToEnd, StreamsChunkedAndLargeBodies) {
    startProxy();
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/chunked"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), "piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n");
    const std::string body(3 * 1024 * 1024 + 7, 'b');
    res = roundTrip(name("lyncws"), "POST /upload HTTP/1.1\r\nHost: " + name("lyncws") +
                                        "\r\nContent-Length: " + std::to_string(body.size()) +
                                        "\r\n\r\n" + body);
    ASSERT_TRUE(res);
    EXPECT_NE(res->body().find("body-bytes: " + std::to_string(body.size())), std::string::npos);
    res = roundTrip(name("lyncws"), "POST /upload HTTP/1.1\r\nHost: " + name("lyncws") +
                                        "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                                        "6\r\n world\r\n0\r\n\r\n");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body().find("body-bytes: 11"), std::string::npos) << res->body();
}

TEST_F(ProxyEndToEnd, MalformedRequestsAreRefusedAndTheNextIsServed) {
    startProxy();
    const std::string host = name("lyncws");
    struct Case {
        std::string bytes;
        int status;
    };
    const std::vector<Case> cases{
        {"POST / HTTP/1.1\r\nHost: " + host +
             "\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nHost: " + host + "\r\nX-Folded: a\r\n b\r\n\r\n", 400},
        {"GET https://intranet.contoso.local/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + std::string(17000, 'a') + "\r\n\r\n",
         431},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        auto res = roundTrip(host, c.bytes);
        ASSERT_TRUE(res) << c.bytes.substr(0, 80);
        EXPECT_EQ(res->result_int(), c.status) << c.bytes.substr(0, 80);
        auto next = roundTrip(host, get(host, "/after"));
        ASSERT_TRUE(next);
        EXPECT_EQ(next->result_int(), 200);
    }
    const auto err = slurp(dir / "proxy.err");
    EXPECT_NE(err.find("obs-fold"), std::string::npos);
    EXPECT_NE(err.find("Transfer-Encoding other than chunked"), std::string::npos);
}

TEST_F(ProxyEndToEnd, SlowHeaderIsCutOff) {
    startProxy();
    auto c = client(name("lyncws"));
    ASSERT_TRUE(c->connected);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: "));
    // headerTimeoutSec is 2: the proxy closes the connection (and logs 408).
    EXPECT_TRUE(c->closedByPeer());
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 1500ms);
    EXPECT_LT(waited, 5s);
    EXPECT_TRUE(eventually(
        [&] { return slurp(dir / "proxy.err").find("header timeout") != std::string::npos; }));
}

TEST_F(ProxyEndToEnd, TornStoreIsRefusedAndTheLastGoodOneKept) {
    startProxy();
    const fs::path storeFile = dir / "bindings.json";
    const std::string good = slurp(storeFile);
    // A crash of writeFileAtomic before its rename leaves only a temporary.
    test::writeText(dir / ".bindings.json.tmp-999-dead", good.substr(0, good.size() / 3));
    // A writer that does not use it tears the store itself.
    test::writeText(storeFile, good.substr(0, good.size() / 2));
    EXPECT_TRUE(eventually([&] {
        return slurp(dir / "proxy.err").find("binding-store-refused") != std::string::npos;
    }));
    EXPECT_NE(slurp(dir / "proxy.err").find(storeFile.string()), std::string::npos);
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/still"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    // The bindings command refuses to edit a torn store and leaves it alone.
    EXPECT_THROW(runBindings({"bindings", "set-default", "--store", storeFile.string(),
                              "--match-host", name("lyncws")}),
                 CLI::RuntimeError);
    EXPECT_EQ(slurp(storeFile), good.substr(0, good.size() / 2));
    // A good store written atomically is picked up again.
    provision::writeFileAtomic(storeFile, good);
    runBindings(
        {"bindings", "set-default", "--store", storeFile.string(), "--match-host", name("lyncws")});
    EXPECT_TRUE(eventually([&] { return client(std::nullopt)->connected; }));
}

TEST_F(ProxyEndToEnd, MissingStoreIsRefusedAndTheLastGoodOneKept) {
    startProxy();
    const fs::path storeFile = dir / "bindings.json";
    fs::rename(storeFile, dir / "bindings.json.moved");
    ::kill(proxy->child.id(), SIGHUP);
    EXPECT_TRUE(eventually([&] {
        const auto err = slurp(dir / "proxy.err");
        return err.find("binding-store-refused") != std::string::npos &&
               err.find("missing") != std::string::npos;
    })) << slurp(dir / "proxy.err");
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/still"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
}

// HTTP.sys falls back to the IP:port binding when the SNI name matches no
// Hostname:port binding: such a client gets the default certificate.
TEST_F(ProxyEndToEnd, UnknownSniGetsTheDefaultCertificateWhenThereIsOne) {
    startProxy();
    runBindings({"bindings", "set-default", "--store", (dir / "bindings.json").string(),
                 "--match-host", name("lyncws")});
    ASSERT_TRUE(eventually([&] { return client(std::nullopt)->connected; }));
    for (const std::string sni : {std::string("intranet.contoso.com"), name("lyncws") + "."}) {
        // The name is not the certificate's: what is checked is which one is sent.
        TlsClient c(kProxyAddress, port, sni, dir / "root.pem", 0, false);
        ASSERT_TRUE(c.connected) << sni;
        EXPECT_NE(c.peerSubject().find("CN=" + name("lyncws")), std::string::npos) << sni;
    }
}

}  // namespace
}  // namespace edgelab::proxy
