// edgelab-proxy end to end: bindings, routing, translation, refusals.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_fixture.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;
using namespace std::chrono_literals;

TEST_F(ProxyEndToEnd, BadConfigurationExitsTwoNamingTheField) {
    nlohmann::json cfg{{"listeners", {{{"address", kProxyAddress}, {"port", 0}}}},
                       {"certificateStore", (dir / "store").string()},
                       {"bindingStore", (dir / "bindings.json").string()},
                       {"caBundle", (dir / "root.pem").string()},
                       {"applications", {application("lyncws", "https://nowhere.local:4443/")}}};
    test::writeText(dir / "bad.json", cfg.dump());
    bp::ipstream err;
    bp::child c(proxyProgram(), bp::args({"--config", (dir / "bad.json").string()}),
                bp::std_out > bp::null, bp::std_err > err);
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
    EXPECT_TRUE(eventually(
        [&] { return slurp(dir / "access.log").find("handshake-refused") != std::string::npos; }));
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

// Two connections, the second offering the session the first one ended
// with; each answers a request (TLS 1.3 tickets come after the handshake).
struct Reconnection {
    int version = 0;         // of the first connection's session
    bool offerable = false;  // the first connection left a resumable session
    bool resumed = false;    // the second handshake was a resumption
};

Reconnection reconnect(std::uint16_t port, const fs::path& caFile, int maxVersion) {
    const std::string host = name("lyncws");
    TlsClient first(kProxyAddress, port, host, caFile, maxVersion);
    EXPECT_TRUE(first.connected && first.send(get(host, "/first")) && first.readResponse());
    const auto session = first.session();
    TlsClient second(kProxyAddress, port, host, caFile, maxVersion, true, session.get());
    EXPECT_TRUE(second.connected && second.send(get(host, "/second")) && second.readResponse());
    return {SSL_SESSION_get_protocol_version(session.get()),
            SSL_SESSION_is_resumable(session.get()) == 1, second.resumed()};
}

TEST_F(ProxyEndToEnd, AnOfferedSessionIsResumedByDefault) {
    startProxy();
    for (const int maxVersion : {0, TLS1_2_VERSION}) {
        const Reconnection r = reconnect(port, dir / "root.pem", maxVersion);
        EXPECT_EQ(r.version, maxVersion ? maxVersion : TLS1_3_VERSION);
        EXPECT_TRUE(r.offerable) << r.version;
        EXPECT_TRUE(r.resumed) << r.version;
    }
}

// The fixture runs two workers and SO_REUSEPORT spreads connections over
// them: a chain of resumptions that all succeed crosses workers (a session
// cache of each worker's own would fail about every second one).
TEST_F(ProxyEndToEnd, ASessionResumesOnWhicheverWorkerTakesTheConnection) {
    startProxy();
    const std::string host = name("lyncws");
    for (const int maxVersion : {0, TLS1_2_VERSION}) {
        std::vector<std::unique_ptr<TlsClient>> chain;  // each outlives its session's use
        std::shared_ptr<SSL_SESSION> session;
        for (int i = 0; i < 12; ++i) {
            chain.push_back(std::make_unique<TlsClient>(kProxyAddress, port, host, dir / "root.pem",
                                                        maxVersion, true, session.get()));
            TlsClient& c = *chain.back();
            ASSERT_TRUE(c.connected && c.send(get(host, "/chain")) && c.readResponse()) << i;
            if (i > 0) EXPECT_TRUE(c.resumed()) << "connection " << i << ", TLS " << maxVersion;
            session = c.session();
        }
    }
}

// limits.tlsSessionCacheSize bounds the cache: past it, the oldest session
// is dropped, and a client that offers it gets a full handshake.
TEST_F(ProxyEndToEnd, TheSessionCacheKeepsNoMoreThanItsSize) {
    startProxy([](nlohmann::json& cfg) { cfg["limits"]["tlsSessionCacheSize"] = 2; });
    const std::string host = name("lyncws");
    std::vector<std::unique_ptr<TlsClient>> fresh;
    for (int i = 0; i < 4; ++i) {
        fresh.push_back(std::make_unique<TlsClient>(kProxyAddress, port, host, dir / "root.pem"));
        ASSERT_TRUE(fresh.back()->connected && fresh.back()->send(get(host, "/fresh")) &&
                    fresh.back()->readResponse());
    }
    const auto oldest = fresh.front()->session();
    const auto newest = fresh.back()->session();
    TlsClient latest(kProxyAddress, port, host, dir / "root.pem", 0, true, newest.get());
    ASSERT_TRUE(latest.connected && latest.send(get(host, "/newest")) && latest.readResponse());
    EXPECT_TRUE(latest.resumed());
    TlsClient again(kProxyAddress, port, host, dir / "root.pem", 0, true, oldest.get());
    ASSERT_TRUE(again.connected && again.send(get(host, "/oldest")) && again.readResponse());
    EXPECT_FALSE(again.resumed());
}

// A client that offers OpenSSL's default order (AES-256-GCM first) gets the
// proxy's first choice; the setting changes it.
TEST_F(ProxyEndToEnd, Tls13SuiteIsTheProxysChoice) {
    startProxy();
    EXPECT_EQ(client(name("lyncws"))->cipher(), "TLS_AES_128_GCM_SHA256");
    proxy.reset();
    startProxy(
        [](nlohmann::json& cfg) { cfg["tls13CipherSuites"] = "TLS_CHACHA20_POLY1305_SHA256"; });
    EXPECT_EQ(client(name("lyncws"))->cipher(), "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_F(ProxyEndToEnd, WithoutSessionResumptionEveryHandshakeIsFull) {
    startProxy([](nlohmann::json& cfg) { cfg["tlsSessionResumption"] = false; });
    for (const int maxVersion : {0, TLS1_2_VERSION}) {
        const Reconnection r = reconnect(port, dir / "root.pem", maxVersion);
        EXPECT_EQ(r.version, maxVersion ? maxVersion : TLS1_3_VERSION);
        // No ticket and no session id to come back with, and a full handshake.
        EXPECT_FALSE(r.offerable) << r.version;
        EXPECT_FALSE(r.resumed) << r.version;
    }
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
    // Polling off: only SIGHUP can make the proxy see the new store.
    startProxy([](nlohmann::json& cfg) { cfg["bindingStorePollMs"] = 0; });
    BindingStore store = loadBindingStore(dir / "bindings.json");
    store.bindings.push_back(
        {{BindingKind::IpPort, kProxyAddress, 443}, thumbprint, std::string(kWapApplicationId)});
    saveBindingStore(dir / "bindings.json", store);
    // Not yet reloaded: the client without SNI still finds no default binding.
    EXPECT_FALSE(client(std::nullopt)->connected);
    EXPECT_EQ(slurp(dir / "access.log").find("binding-store-loaded"), std::string::npos);
    ::kill(proxy->child.id(), SIGHUP);
    EXPECT_TRUE(eventually([&] {
        std::istringstream log(slurp(dir / "access.log"));
        for (std::string line; std::getline(log, line);) {
            auto event = nlohmann::json::parse(line);
            if (event.value("event", "") == "binding-store-loaded")
                return event.value("trigger", "") == "SIGHUP";
        }
        return false;
    })) << slurp(dir / "access.log");
    EXPECT_TRUE(client(std::nullopt)->connected);
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
    // lyncdiscover has inactiveTransactionsTimeoutSec 1; its backend never
    // answers /stall, and answers / at once.
    res = roundTrip(name("lyncdiscover"), get(name("lyncdiscover"), "/stall"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 504);
    EXPECT_NE(res->body().find("lyncdiscover"), std::string::npos);
    res = roundTrip(name("lyncdiscover"), get(name("lyncdiscover"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
}

// A backend that accepts the connection (the kernel does, from the listen
// backlog) but never answers the TLS handshake: a gateway timeout, as nginx
// answers it, not a bad gateway.
TEST_F(ProxyEndToEnd, BackendSilentInTheTlsHandshakeIs504) {
    const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.4.1.4", &sa.sin_addr);
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(silent, 8), 0);
    socklen_t len = sizeof sa;
    ::getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &len);
    const std::string silentAddress = "127.4.1.4:" + std::to_string(ntohs(sa.sin_port));
    // The application "dead" points at the silent listener here.
    startProxy([&](nlohmann::json& cfg) {
        cfg["internalDns"]["dead.contoso.local:4443"] = silentAddress;
        cfg["limits"]["backendConnectTimeoutSec"] = 1;
    });
    auto res = roundTrip(name("dead"), get(name("dead"), "/"));
    ::close(silent);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 504) << res->body();
}

// The proxy adds its applications' hostname bindings to the store as it
// starts, while `edgelab bindings add` may be writing: both go through the
// store's lock, so neither loses the other's bindings. Three rounds, each
// with 30 writers racing the start.
TEST_F(ProxyEndToEnd, StartingWhileWritersAddKeepsEveryBinding) {
    constexpr int kWriters = 30;
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        fs::remove(dir / "bindings.json");
        std::atomic<int> acknowledged{0};
        std::vector<std::thread> writers;
        for (int i = 0; i < kWriters; ++i) {
            writers.emplace_back([&, i] {
                const auto args = parseNetshArguments(
                    {"ipport=127.9." + std::to_string(round) + "." + std::to_string(i + 1) + ":443",
                     "certhash=" + thumbprint, "appid=" + std::string(kWapApplicationId)});
                const auto update = updateBindingStore(
                    dir / "bindings.json",
                    [&](const BindingStore& store) { return addBinding(store, *args); });
                if (update.change.store) ++acknowledged;
            });
        }
        startProxy();
        for (auto& w : writers) w.join();
        EXPECT_EQ(acknowledged.load(), kWriters);
        const auto store = loadBindingStore(dir / "bindings.json");
        for (int i = 0; i < kWriters; ++i)
            EXPECT_TRUE(
                store.find({BindingKind::IpPort,
                            "127.9." + std::to_string(round) + "." + std::to_string(i + 1), 443}))
                << "writer " << i;
        for (const char* app : {"lyncws", "meet", "lyncdiscover", "owas", "dialin"})
            EXPECT_TRUE(store.find({BindingKind::HostnamePort, name(app), 443})) << app;
        proxy.reset();
    }
}

// HTTP.sys on Windows Server 2012 R2 speaks HTTP/1.1 only and says so by
// ALPN; a client offering only h2 goes on without ALPN (RFC 7301 3.2).
TEST_F(ProxyEndToEnd, AlpnChoosesHttp11) {
    startProxy();
    const std::string both("\x02h2\x08http/1.1", 12);
    auto c = std::make_unique<TlsClient>(kProxyAddress, port, name("lyncws"), dir / "root.pem", 0,
                                         true, nullptr, both);
    ASSERT_TRUE(c->connected);
    EXPECT_EQ(c->alpnSelected(), "http/1.1");
    const std::string h2only("\x02h2", 3);
    auto d = std::make_unique<TlsClient>(kProxyAddress, port, name("lyncws"), dir / "root.pem", 0,
                                         true, nullptr, h2only);
    ASSERT_TRUE(d->connected);
    EXPECT_EQ(d->alpnSelected(), "");
    ASSERT_TRUE(d->send(get(name("lyncws"), "/")));
    auto res = d->readResponse();
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
         400},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
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
    // headerTimeoutSec is 2: the proxy answers 408, closes and logs it.
    auto res = c->readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 408);
    EXPECT_FALSE(res->keep_alive());
    EXPECT_TRUE(c->closedByPeer());
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 1500ms);
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
    writeFileAtomic(storeFile, good);
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
