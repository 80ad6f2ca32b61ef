#include "proxy/backend_source.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "proxy/lingering.hpp"
#include "proxy/spawned.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;
using Clock = std::chrono::steady_clock;

// Whether the backend has ended the connection itself: nothing more will
// come, so there is nothing to linger for.
bool endedByBackend(BackendConnection& conn, const error_code& failure) {
    if (!conn.stream.socket().is_open() || conn.stream.peerEnded()) return true;
    return failure == asio::error::eof || failure == http::error::end_of_stream ||
           failure == asio::ssl::error::stream_truncated ||
           failure == asio::error::connection_reset || failure == asio::error::broken_pipe;
}

std::string endpointName(const tcp::endpoint& endpoint) {
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// The backend side's lingering close: the connection is this coroutine's,
// and is closed at its end.
Task<void> lingerOnBackend(Worker& w, std::unique_ptr<BackendConnection> conn,
                           std::string application, std::string backend) {
    const Lingered lingered = co_await lingeringClose(conn->stream, w.cfg.limits);
    error_code ignored;
    conn->stream.socket().close(ignored);
    if (!w.log.enabled()) co_return;
    w.log.write({{"event", "lingering-close"},
                 {"side", "backend"},
                 {"application", application},
                 {"backend", backend},
                 {"droppedBytes", lingered.droppedBytes},
                 {"ended", lingerEndName(lingered.ended, "backend")}});
}

}  // namespace

BackendSource::~BackendSource() = default;

std::size_t BackendSource::ruleIndex(const PublishingRule& rule) const {
    return static_cast<std::size_t>(&rule - w_.cfg.applications.data());
}

Task<BackendSource::Acquired> BackendSource::acquire(const PublishingRule& rule,
                                                     bool firstAttempt) {
    const std::size_t index = ruleIndex(rule);
    Acquired out;
    if (pinned_ && pinnedRule_ == index) {
        out.pinned = true;
        auto conn = std::move(pinned_);
        // A kept connection the backend closed has lost its authentication;
        // the client's next handshake starts on a new one.
        if (firstAttempt && showsNoCloseFromBackend(*conn)) {
            out.conn = std::move(conn);
            out.reused = true;
            co_return out;
        }
    }
    if (firstAttempt) {
        if ((out.conn = w_.pools[index].take(Clock::now()))) {
            out.reused = true;
            co_return out;
        }
    }
    co_await connect(rule, out);
    co_return out;
}

Task<void> BackendSource::connect(const PublishingRule& rule, Acquired& out) {
    auto conn = std::make_unique<BackendConnection>(w_.ioc, w_.backendTls.native_handle());
    SSL* ssl = conn->stream.native_handle();
    const std::string& host = rule.backendServerUrl.host;
    SSL_set_tlsext_host_name(ssl, host.c_str());
    if (rule.backendServerCertificateValidation) {
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
        SSL_set1_host(ssl, host.c_str());
    } else {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    }
    const bool offered =
        w_.cfg.backendTlsSessionResumption && w_.backendSessions->offer(ssl, ruleIndex(rule));
    conn->stream.expires_after(std::chrono::seconds(w_.cfg.limits.backendConnectTimeoutSec));
    const auto& endpoint = w_.backendEndpoints[ruleIndex(rule)];
    co_await conn->stream.async_connect(endpoint, withError(out.ec));
    if (out.ec) {
        out.why = "connect to " + endpointName(endpoint) + ": " + out.ec.message();
        co_return;
    }
    error_code ignored;
    conn->stream.socket().set_option(tcp::no_delay(true), ignored);
    co_await conn->stream.async_handshake(TlsStream::Side::Client, withError(out.ec));
    if (out.ec) {
        const long verify = SSL_get_verify_result(ssl);
        out.why = "TLS to " + host + ": " +
                  (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify))
                                       : out.ec.message());
        co_return;
    }
    if (w_.log.enabled()) {
        w_.log.write({{"event", "backend-connection"},
                      {"application", rule.name},
                      {"backend", endpointName(endpoint)},
                      {"tls", SSL_session_reused(ssl) ? "resumed" : "full"},
                      {"offered", offered}});
    }
    out.conn = std::move(conn);
}

void BackendSource::release(std::unique_ptr<BackendConnection> conn, const PublishingRule& rule,
                            bool pin) {
    // A connection NTLM or Negotiate has authenticated carries this client's
    // identity: it stays with this client and is closed with it, never pooled.
    if (pin) {
        pinned_ = std::move(conn);
        pinnedRule_ = ruleIndex(rule);
        return;
    }
    w_.pools[ruleIndex(rule)].put(std::move(conn), Clock::now());
}

void BackendSource::abandon(std::unique_ptr<BackendConnection> conn, const PublishingRule& rule,
                            const error_code& failure) {
    if (!conn || endedByBackend(*conn, failure)) return;
    std::string backend = endpointName(w_.backendEndpoints[ruleIndex(rule)]);
    asio::co_spawn(w_.ioc, lingerOnBackend(w_, std::move(conn), rule.name, std::move(backend)),
                   LogIfThrown{&w_.log, "backend lingering close"});
}

}  // namespace edgelab::proxy
