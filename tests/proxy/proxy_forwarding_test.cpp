// edgelab-proxy end to end, the forwarding path: pooled, pinned and
// upgraded backend connections, framing errors in bodies, hop-by-hop fields,
// interim answers, backend faults. Each test started as a regression test
// that failed before its fix.
#include <gtest/gtest.h>

#include "proxy_fixture.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;
using namespace std::chrono_literals;

std::size_t countOf(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

class ProxyForwarding : public ProxyEndToEnd {
  protected:
    // One worker thread, so that every client shares one backend pool.
    void startSingleThreadProxy(const std::function<void(nlohmann::json&)>& adjust = {}) {
        startProxy(adjust, "1");
    }

    // Fills lyncws's pool with `n` connections: the backend answers once n
    // requests wait in it at the same time, on n connections.
    void fillPool(int n) {
        std::vector<std::unique_ptr<TlsClient>> clients;
        const std::string target = "/together?n=" + std::to_string(n);
        for (int i = 0; i < n; ++i) {
            clients.push_back(client(name("lyncws")));
            ASSERT_TRUE(clients.back()->send(get(name("lyncws"), target)));
        }
        for (auto& c : clients) {
            auto res = c->readResponse();
            ASSERT_TRUE(res);
            ASSERT_EQ(res->result_int(), 200);
        }
    }
};

TEST_F(ProxyForwarding, UpgradedConnectionIsTunnelledForItsClientAlone) {
    startSingleThreadProxy();
    const std::string host = name("lyncws");
    auto upgraded = client(host);
    ASSERT_TRUE(upgraded->send(get(host, "/upgrade", "Upgrade: echo\r\nConnection: Upgrade\r\n")));
    auto switched = upgraded->readResponse();
    ASSERT_TRUE(switched);
    ASSERT_EQ(switched->result_int(), 101);
    EXPECT_EQ((*switched)[http::field::upgrade], "echo");
    ASSERT_TRUE(upgraded->send("ping from the upgraded client"));
    EXPECT_EQ(upgraded->readSome(), "ping from the upgraded client");

    // A second client's request reaches the backend on its own connection,
    // never inside the upgraded stream (which would echo it back).
    auto other = roundTrip(host, get(host, "/second", "Cookie: session=other\r\n"));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->result_int(), 200);
    EXPECT_NE(other->body().find("request-line: GET /second"), std::string::npos);
    ASSERT_TRUE(upgraded->send("still mine"));
    EXPECT_EQ(upgraded->readSome(), "still mine");
}

TEST_F(ProxyForwarding, UnsolicitedSwitchIsRefusedAndNeverPooled) {
    startSingleThreadProxy();
    const std::string host = name("lyncws");
    // Without an Upgrade request the proxy strips Upgrade; a backend that
    // switches anyway is the backend's error.
    auto res = roundTrip(host, get(host, "/upgrade"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502);
    res = roundTrip(host, get(host, "/after", "Cookie: session=next\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
}

TEST_F(ProxyForwarding, RetryAfterAStaleConnectionUsesANewOne) {
    const fs::path log = dir / "fe-requests.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443",
                 {"--requests-per-connection", "1", "--log", log.string()});
    startSingleThreadProxy();
    fillPool(4);
    // Every pooled connection is now one its backend closes on its next
    // request. Before the fix the retry took the next one of them: 502.
    for (int i = 0; i < 8; ++i) {
        auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/seq" + std::to_string(i)));
        ASSERT_TRUE(res) << i;
        EXPECT_EQ(res->result_int(), 200) << i << " " << res->body();
    }
}

TEST_F(ProxyForwarding, RequestThatMayHaveBeenActedOnIsNotRetried) {
    const fs::path log = dir / "fe-requests.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443",
                 {"--requests-per-connection", "1", "--log", log.string()});
    startSingleThreadProxy();
    fillPool(1);
    // The backend read the whole POST before closing: it may have acted on
    // it, so it is not sent again (RFC 9110 9.2.2).
    auto res = roundTrip(name("lyncws"), "POST /once HTTP/1.1\r\nHost: " + name("lyncws") +
                                             "\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502);
    EXPECT_EQ(countOf(slurp(log), "POST /once"), 1u) << slurp(log);
}

TEST_F(ProxyForwarding, IdlePooledConnectionsExpire) {
    const fs::path log = dir / "fe-requests.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", log.string()});
    startSingleThreadProxy([](nlohmann::json& cfg) { cfg["limits"]["backendIdleTimeoutSec"] = 1; });
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/first"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    // The proxy closes the idle connection itself, before the backend would.
    EXPECT_TRUE(eventually([&] { return slurp(log).find("peer-closed") != std::string::npos; }))
        << slurp(log);
    res = roundTrip(name("lyncws"), get(name("lyncws"), "/second"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
}

// A backend may close a keep-alive connection while it sits in the pool. The
// proxy notices before reuse, so even a request it may not send twice goes
// out on a new connection instead of failing on the closed one.
TEST_F(ProxyForwarding, PooledConnectionsTheBackendClosedAreNotReused) {
    const fs::path log = dir / "fe-requests.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", log.string()});
    startSingleThreadProxy();
    const std::string host = name("lyncws");
    auto res = roundTrip(host, get(host, "/then-close"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    ASSERT_TRUE(eventually([&] { return slurp(log).find("closed 1") != std::string::npos; }))
        << slurp(log);
    res = roundTrip(host,
                    "POST /after HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200) << slurp(log);
    EXPECT_NE(slurp(log).find("request 2 POST /after"), std::string::npos) << slurp(log);
}

// A new backend connection offers the TLS session the backend gave an
// earlier one (any worker's), as Schannel's client cache does for WAP; the
// backend sees a resumed handshake. Off, every one is a full handshake.
TEST_F(ProxyForwarding, NewBackendConnectionsResumeTheBackendsTlsSession) {
    for (const bool resumption : {true, false}) {
        SCOPED_TRACE(resumption ? "backendTlsSessionResumption on" : "off");
        const fs::path log = dir / (resumption ? "fe-on.log" : "fe-off.log");
        startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", log.string()});
        startProxy([&](nlohmann::json& cfg) { cfg["backendTlsSessionResumption"] = resumption; });
        const std::string host = name("lyncws");
        auto res = roundTrip(host, get(host, "/then-close"));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result_int(), 200);
        ASSERT_TRUE(eventually([&] { return slurp(log).find("closed 1") != std::string::npos; }));
        res = roundTrip(host, get(host, "/second"));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result_int(), 200);
        EXPECT_NE(slurp(log).find("tls 1 full"), std::string::npos) << slurp(log);
        EXPECT_NE(slurp(log).find(resumption ? "tls 2 resumed" : "tls 2 full"), std::string::npos)
            << slurp(log);
        const std::string access = slurp(dir / "access.log");
        EXPECT_EQ(countOf(access, R"("event":"backend-connection")"), 2u) << access;
        EXPECT_EQ(countOf(access, R"("tls":"resumed")"), resumption ? 1u : 0u) << access;
        proxy.reset();
        fs::remove(dir / "access.log");
    }
}

// A session made without validation (an application with
// backendServerCertificateValidation None) is never offered for an
// application that validates the same backend: its certificate is still
// checked there, and refused when the proxy does not trust it.
TEST_F(ProxyForwarding, ASessionNeverSkipsAValidationItWasNotMadeWith) {
    const test::KeyPair stranger = test::issue("a root the proxy does not trust", {}, nullptr);
    backendIssuer = &stranger;
    const fs::path log = dir / "fe.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", log.string()});
    startSingleThreadProxy([](nlohmann::json& cfg) {
        for (auto& app : cfg["applications"])
            if (app["name"] == "meet") app["backendServerCertificateValidation"] = "None";
    });
    auto res = roundTrip(name("meet"), get(name("meet"), "/then-close"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    ASSERT_TRUE(eventually([&] { return slurp(log).find("closed 1") != std::string::npos; }));
    res = roundTrip(name("lyncws"), get(name("lyncws"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502) << slurp(dir / "access.log");
    EXPECT_EQ(slurp(log).find("resumed"), std::string::npos) << slurp(log);
    res = roundTrip(name("meet"), get(name("meet"), "/"));  // its own session still serves
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_NE(slurp(log).find(" resumed"), std::string::npos) << slurp(log);
}

TEST_F(ProxyForwarding, MalformedBodiesAreTheClientsError) {
    startProxy([](nlohmann::json& cfg) { cfg["applications"][0]["requestBodyLimitBytes"] = 1000; });
    const std::string host = name("lyncws");
    const std::string chunked =
        "POST /up HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    struct Case {
        std::string bytes;
        int status;
    };
    const std::vector<Case> cases{
        {chunked + "zz\r\nhello\r\n0\r\n\r\n", 400},
        {chunked + "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
        {chunked + "-5\r\nhello\r\n0\r\n\r\n", 400},
        {chunked + "5\r\nhelloEXTRA\r\n0\r\n\r\n", 400},
        {"POST /up HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: \"  5  \"\r\n\r\nhello", 400},
        {"POST /up HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 2000\r\n\r\n", 413},
        {chunked + "7d0\r\n" + std::string(2000, 'x') + "\r\n0\r\n\r\n", 413},
    };
    for (const auto& c : cases) {
        auto res = roundTrip(host, c.bytes);
        ASSERT_TRUE(res) << c.bytes.substr(0, 90);
        EXPECT_EQ(res->result_int(), c.status) << c.bytes.substr(0, 90);
        auto next = roundTrip(host, get(host, "/after"));
        ASSERT_TRUE(next);
        EXPECT_EQ(next->result_int(), 200);
    }
}

TEST_F(ProxyForwarding, RequestsThatCannotEndAreAnsweredAtOnce) {
    startProxy();
    const std::string host = name("lyncws");
    // headerTimeoutSec is 2: a 408 would mean the proxy waited for it.
    for (const std::string bytes :
         {"GET / HTTP/1.1\nHost: " + host + "\n\n", std::string("GET /\r\n"),
          "GET / HTTP/1.1\rHost: " + host + "\r\n\r\n"}) {
        auto c = client(host);
        ASSERT_TRUE(c->send(bytes));
        auto res = c->readResponse();
        ASSERT_TRUE(res) << bytes;
        EXPECT_EQ(res->result_int(), 400) << bytes;
        EXPECT_TRUE(c->closedByPeer());
    }
}

TEST_F(ProxyForwarding, ExpectContinueGetsContinue) {
    startProxy();
    const std::string host = name("lyncws");
    auto c = client(host);
    ASSERT_TRUE(c->send("POST /headers HTTP/1.1\r\nHost: " + host +
                        "\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    auto interim = c->readResponse();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->result_int(), 100);
    ASSERT_TRUE(c->send("hello"));
    auto res = c->readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_NE(res->body().find("body-bytes: 5"), std::string::npos) << res->body();
    // The proxy took the expectation on itself.
    EXPECT_EQ(res->body().find("field: Expect"), std::string::npos) << res->body();
}

TEST_F(ProxyForwarding, HopByHopFieldsStopAtTheProxy) {
    startProxy();
    const std::string host = name("lyncws");
    auto res = roundTrip(host, get(host, "/headers",
                                   "Connection: X-Remove\r\nX-Remove: 1\r\nKeep-Alive: 300\r\n"
                                   "Proxy-Connection: keep-alive\r\nTE: trailers\r\n"
                                   "Upgrade: h2c\r\nX-End-To-End: kept\r\n"));
    ASSERT_TRUE(res);
    const std::string& body = res->body();
    for (const char* gone : {"field: X-Remove", "field: Keep-Alive", "field: Proxy-Connection",
                             "field: TE", "field: Upgrade"}) {
        EXPECT_EQ(body.find(gone), std::string::npos) << gone << "\n" << body;
    }
    EXPECT_NE(body.find("field: X-End-To-End: kept"), std::string::npos) << body;
    res = roundTrip(host, get(host, "/hop-by-hop"));
    ASSERT_TRUE(res);
    for (const char* gone : {"X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"}) {
        EXPECT_EQ(res->count(gone), 0u) << gone;
    }
    EXPECT_EQ((*res)["X-End-To-End"], "kept");
}

TEST_F(ProxyForwarding, InterimAnswerKeepsTheResponseHeaderLimit) {
    startProxy();
    const std::string host = name("lyncws");
    auto c = client(host);
    ASSERT_TRUE(c->send(get(host, "/interim")));
    auto hints = c->readResponse();
    ASSERT_TRUE(hints);
    EXPECT_EQ(hints->result_int(), 103);
    auto res = c->readResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_EQ((*res)["X-Large"].size(), 20u * 1024);
}

TEST_F(ProxyForwarding, AbsoluteFormReachesTheBackendInOriginForm) {
    startProxy();
    const std::string host = name("lyncws");
    auto res = roundTrip(
        host, "GET https://" + host + "/abs/%2Fpath?x=1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_NE(res->body().find("request-line: GET /abs/%2Fpath?x=1\n"), std::string::npos)
        << res->body();
}

TEST_F(ProxyForwarding, BackendResetMidResponseIsNeverPresentedAsComplete) {
    startProxy();
    const std::string host = name("lyncws");
    for (const std::string target : {"/truncate", "/truncate-close"}) {
        auto c = client(host);
        ASSERT_TRUE(c->send(get(host, target)));
        // The head and the first 10 bytes of the body reach the client; only
        // then does the backend reset (the test lets it go on).
        std::string received;
        while (received.find("0123456789") == std::string::npos) {
            const std::string piece = c->readSome();
            ASSERT_FALSE(piece.empty()) << target << " ended before the body began: " << received;
            received += piece;
        }
        EXPECT_NE(received.find(" 200 "), std::string::npos) << target << received;
        auto released = roundTrip(host, get(host, "/release?name=truncate"));
        ASSERT_TRUE(released);
        // Not a clean TLS close, or a close-delimited body would pass as whole.
        EXPECT_EQ(c->endOfConnection(), SSL_ERROR_SYSCALL) << target;
        auto next = roundTrip(host, get(host, "/after"));
        ASSERT_TRUE(next);
        EXPECT_EQ(next->result_int(), 200);
    }
}

// A reset before any answer: the proxy's own 502, and the next request
// goes through.
TEST_F(ProxyForwarding, BackendResetBeforeTheAnswerIs502) {
    startProxy();
    const std::string host = name("lyncws");
    auto res = roundTrip(host, get(host, "/reset"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502) << res->body();
    auto next = roundTrip(host, get(host, "/after"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->result_int(), 200);
}

// A client connection that starts NTLM keeps its backend connection (as WAP
// does); with connectionAffinity off, another client takes it between the
// two legs and the handshake fails as it does behind a shared pool.
// A backend's response refused early while the backend still sends (a
// header block over responseHeaderBlockBytes that never ends): the client
// gets its 502, and the backend connection gets a lingering close of its
// own, close_notify and a FIN (a close at once would have reset it, with
// the backend's bytes unread), and never goes back to the pool.
TEST_F(ProxyForwarding, ARefusedResponseGetsALingeringCloseTowardTheBackend) {
    const fs::path backendLog = dir / "backend.log";
    startBackend(fe, "lyncfe1.contoso.local", "127.4.1.1", "4443", {"--log", backendLog.string()});
    startSingleThreadProxy();
    auto res = roundTrip(name("lyncws"), get(name("lyncws"), "/endless-header"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 502);
    EXPECT_NE(res->body().find("header"), std::string::npos) << res->body();
    ASSERT_TRUE(
        eventually([&] { return slurp(backendLog).find("endless-ended") != std::string::npos; }));
    EXPECT_NE(slurp(backendLog).find("endless-ended 1 close_notify"), std::string::npos)
        << slurp(backendLog);
    ASSERT_TRUE(eventually([&] {
        return slurp(dir / "access.log").find("\"side\":\"backend\"") != std::string::npos;
    })) << slurp(dir / "access.log");
    EXPECT_NE(slurp(dir / "access.log").find("\"ended\":\"backend-closed\""), std::string::npos)
        << slurp(dir / "access.log");
    // The next request is served on a new backend connection.
    res = roundTrip(name("lyncws"), get(name("lyncws"), "/"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_NE(slurp(backendLog).find("request 2 GET /\n"), std::string::npos) << slurp(backendLog);
}

class ProxyAffinity : public ProxyForwarding, public ::testing::WithParamInterface<bool> {};

TEST_P(ProxyAffinity, NtlmHandshakeNeedsItsBackendConnection) {
    const bool affinity = GetParam();
    startSingleThreadProxy([&](nlohmann::json& cfg) { cfg["connectionAffinity"] = affinity; });
    fillPool(3);
    const std::string host = name("lyncws");
    auto signer = client(host);
    ASSERT_TRUE(signer->send(get(host, "/ntlm", "Authorization: NTLM TlRMTVNTUAABAAAAtype1\r\n")));
    auto challenge = signer->readResponse();
    ASSERT_TRUE(challenge);
    ASSERT_EQ(challenge->result_int(), 401);
    // Other clients keep pooled connections busy meanwhile (their bodies
    // never end while the test runs).
    std::vector<std::unique_ptr<TlsClient>> busy;
    for (int i = 0; i < 2; ++i) {
        busy.push_back(client(host));
        ASSERT_TRUE(busy.back()->send(get(host, "/stall-body")));
        ASSERT_NE(busy.back()->readSome().find("200"), std::string::npos);
    }
    ASSERT_TRUE(signer->send(get(host, "/ntlm", "Authorization: NTLM TlRMTVNTUAADAAAAtype3\r\n")));
    auto result = signer->readResponse();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->result_int(), affinity ? 200 : 401) << result->body();
}

INSTANTIATE_TEST_SUITE_P(ConnectionAffinity, ProxyAffinity, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace edgelab::proxy

namespace edgelab::proxy {
namespace {

// The lab's own front-end simulator behind the proxy, driven by its fault
// control (backends/README.md, "Faults").
class ProxyBackendFaults : public ProxyForwarding {
  protected:
    void startSimulator() {
        const std::string host = "lyncfe1.contoso.local";
        const auto cert = test::issue(host, {host}, &ca);
        const fs::path pem = dir / "backend" / "simulator.pem";
        const fs::path key = dir / "backend" / "simulator.key";
        test::writeText(pem, test::pemOf(cert.cert.get()) + test::pemOf(ca.cert.get()));
        test::writeText(key, test::pemOf(cert.key.get()));
        fe = std::make_unique<Process>();
        fe->start(
            std::string(EDGELAB_BIN_DIR) + "/edgelab-backend",
            {"--role", "lync-frontend", "--listen", "127.4.1.1:0", "--cert", pem.string(), "--key",
             key.string(), "--server-fqdn", host, "--domain", kDomain, "--control", "127.4.1.1:0"},
            dir / "simulator.err", "CONTROL ");
        const std::string& ready = fe->readyLines[fe->readyLines.size() - 2];
        internalDns[host + ":4443"] = ready.substr(ready.rfind('/') + 1);
        const std::string& control = fe->readyLines.back();
        // "CONTROL http://ADDR:PORT"
        const auto endpoint = parseEndpoint(control.substr(control.rfind('/') + 1));
        ASSERT_TRUE(endpoint) << endpoint.error();
        controlPort = endpoint->port;
    }

    void setFault(const std::string& mode, int delayMs = 0) {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket socket(ioc);
        socket.connect({boost::asio::ip::make_address("127.4.1.1"), controlPort});
        http::request<http::string_body> req{http::verb::post, "/fault", 11};
        req.set(http::field::host, "127.4.1.1");
        req.body() = nlohmann::json{{"mode", mode}, {"delayMs", delayMs}}.dump();
        req.prepare_payload();
        http::write(socket, req);
        boost::beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        ASSERT_EQ(res.result_int(), 200) << res.body();
    }

    int status(const std::string& prefix) {
        auto res = roundTrip(name(prefix),
                             get(name(prefix), "/Autodiscover/AutodiscoverService.svc/root"));
        return res ? res->result_int() : 0;
    }

    std::uint16_t controlPort = 0;
};

TEST_F(ProxyBackendFaults, PoolRecoversWhenTheBackendReturns) {
    fe.reset();
    startSimulator();
    startSingleThreadProxy();
    EXPECT_EQ(status("lyncws"), 200);  // a pooled connection now exists
    setFault("stop");
    EXPECT_EQ(status("lyncws"), 502);  // the pooled one is gone, a new one is refused
    setFault("reset");
    EXPECT_EQ(status("lyncws"), 502);
    // lyncdiscover's inactiveTransactionsTimeoutSec is 1.
    setFault("slow", 3000);
    EXPECT_EQ(status("lyncdiscover"), 504);
    setFault("none");
    // Back without restarting the proxy.
    EXPECT_EQ(status("lyncws"), 200);
    EXPECT_EQ(status("lyncdiscover"), 200);
}

}  // namespace
}  // namespace edgelab::proxy
