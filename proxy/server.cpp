#include "proxy/server.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "provision/markup.hpp"
#include "provision/net/asio.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/publishing.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using beast::error_code;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

auto withError(error_code& ec) { return asio::redirect_error(use_awaitable, ec); }

std::string nowIso8601() {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

// JSON lines, one write(2) each on an O_APPEND descriptor: lines from every
// thread stay whole without a lock.
class AccessLog {
  public:
    explicit AccessLog(const std::optional<std::filesystem::path>& file) {
        if (!file) return;
        fd_ = ::open(file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) throw ConfigError("/accessLog: cannot open " + file->string());
    }
    ~AccessLog() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool enabled() const { return fd_ >= 0; }
    void write(nlohmann::json line) const {
        if (fd_ < 0) return;
        line["time"] = nowIso8601();
        const std::string text =
            line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        [[maybe_unused]] auto n = ::write(fd_, text.data(), text.size());
    }

  private:
    int fd_ = -1;
};

// Problems an operator must see go to stderr as well as to the access log.
void logEvent(const AccessLog& log, nlohmann::json line) {
    std::cerr << "edgelab-proxy: "
              << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    log.write(std::move(line));
}

// --- certificates and the binding snapshot ---

struct CertificateEntry {
    std::string thumbprint;
    std::shared_ptr<ssl::context> context;
    std::vector<std::string> dnsNames;
};

struct TlsSnapshot {
    BindingStore store;
    std::map<std::string, std::shared_ptr<const CertificateEntry>> certificates;
};

void applyProtocolPolicy(SSL_CTX* ctx, const ProxyConfig& cfg) {
    SSL_CTX_set_min_proto_version(ctx, cfg.allowLegacyTls ? TLS1_VERSION : TLS1_2_VERSION);
    if (cfg.allowLegacyTls) SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    static const unsigned char sid[] = "edgelab-proxy";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    // Resumption by stateless tickets only: OpenSSL's server session cache
    // takes a lock per handshake that every worker thread would share. One
    // TLS 1.3 ticket per handshake instead of two: clients use one.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
}

std::vector<std::string> dnsNamesOf(X509* cert) {
    std::vector<std::string> names;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
            if (n->type != GEN_DNS) continue;
            const auto* s = n->d.dNSName;
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
        }
        GENERAL_NAMES_free(sans);
    }
    return names;
}

// Loads STORE/<THUMB>.pem (leaf and chain) and STORE/<THUMB>.key.
std::shared_ptr<const CertificateEntry> loadCertificate(const ProxyConfig& cfg,
                                                        const std::string& thumbprint,
                                                        std::string& error) {
    const auto pem = cfg.certificateStore / (thumbprint + ".pem");
    const auto key = cfg.certificateStore / (thumbprint + ".key");
    auto entry = std::make_shared<CertificateEntry>();
    entry->thumbprint = thumbprint;
    entry->context = std::make_shared<ssl::context>(ssl::context::tls_server);
    error_code ec;
    entry->context->use_certificate_chain_file(pem.string(), ec);
    if (!ec) entry->context->use_private_key_file(key.string(), ssl::context::pem, ec);
    if (ec) {
        error = "certificate " + thumbprint + " (" + pem.string() + "): " + ec.message();
        return nullptr;
    }
    SSL_CTX* ctx = entry->context->native_handle();
    applyProtocolPolicy(ctx, cfg);
    entry->dnsNames = dnsNamesOf(SSL_CTX_get0_certificate(ctx));
    return entry;
}

std::shared_ptr<const TlsSnapshot> buildSnapshot(const ProxyConfig& cfg, BindingStore store,
                                                 const TlsSnapshot* previous,
                                                 const AccessLog& log) {
    auto snap = std::make_shared<TlsSnapshot>();
    snap->store = std::move(store);
    for (const auto& b : snap->store.bindings) {
        if (snap->certificates.count(b.certificateHash)) continue;
        if (previous) {
            auto it = previous->certificates.find(b.certificateHash);
            if (it != previous->certificates.end()) {
                snap->certificates.emplace(b.certificateHash, it->second);
                continue;
            }
        }
        std::string error;
        if (auto entry = loadCertificate(cfg, b.certificateHash, error)) {
            snap->certificates.emplace(b.certificateHash, std::move(entry));
        } else {
            // The binding stays; its handshakes are refused, as HTTP.sys
            // does for a binding whose certificate is gone.
            logEvent(log, {{"event", "certificate-unavailable"},
                           {"binding", b.key.str()},
                           {"reason", error}});
        }
    }
    return snap;
}

// --- workers ---

struct BackendConnection {
    BackendConnection(asio::io_context& ioc, ssl::context& ctx) : stream(ioc, ctx) {}
    Stream stream;
    beast::flat_buffer buffer;
};

struct Worker {
    Worker(const ProxyConfig& c, const AccessLog& l)
        : cfg(c), log(l), front(ssl::context::tls_server), backendTls(ssl::context::tls_client) {}

    asio::io_context ioc{1};
    const ProxyConfig& cfg;
    const AccessLog& log;
    std::shared_ptr<const TlsSnapshot> tls;
    ssl::context front;       // every handshake starts here; the hello callback switches
    ssl::context backendTls;  // trusts caBundle
    std::vector<tcp::endpoint> backendEndpoints;  // by application index
    // Idle keep-alive connections to each application's backend. Only this
    // worker's thread touches them.
    std::vector<std::vector<std::unique_ptr<BackendConnection>>> idle;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
};

struct HandshakeState {
    Worker* worker = nullptr;
    std::string listenerAddress;
    std::uint16_t publishedPort = 443;
    std::optional<std::string> sni;
    std::shared_ptr<const CertificateEntry> certificate;
    std::optional<std::string> refusal;
};

int handshakeIndex() {
    // Asio keeps its verify callback in the SSL's app data (ex_data 0), so
    // the proxy takes an index of its own.
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::optional<std::string> sniOf(SSL* ssl) {
    const unsigned char* p = nullptr;
    std::size_t len = 0;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len)) return std::nullopt;
    // RFC 6066 3: a list (2-byte length) of {type, 2-byte length, name}.
    if (len < 5) return std::string();
    const std::size_t listLen = (std::size_t(p[0]) << 8) | p[1];
    if (listLen + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name) return std::string();
    const std::size_t nameLen = (std::size_t(p[3]) << 8) | p[4];
    if (nameLen + 3 > listLen) return std::string();
    return std::string(reinterpret_cast<const char*>(p + 5), nameLen);
}

// DESIGN.md "How to refuse exactly as HTTP.sys does": RETRY pauses the
// handshake without an alert; the session then resets the connection.
int onClientHello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
    auto* hs = static_cast<HandshakeState*>(SSL_get_ex_data(ssl, handshakeIndex()));
    if (!hs) return SSL_CLIENT_HELLO_ERROR;
    hs->sni = sniOf(ssl);
    const TlsSnapshot& snap = *hs->worker->tls;
    const auto lookup = selectBinding(snap.store, hs->sni, hs->listenerAddress, hs->publishedPort);
    if (!lookup.binding) {
        hs->refusal = std::string(describe(lookup.reason));
        return SSL_CLIENT_HELLO_RETRY;
    }
    auto it = snap.certificates.find(lookup.binding->certificateHash);
    if (it == snap.certificates.end()) {
        hs->refusal = "the certificate " + lookup.binding->certificateHash + " of binding " +
                      lookup.binding->key.str() + " is not in the certificate store";
        return SSL_CLIENT_HELLO_RETRY;
    }
    hs->certificate = it->second;
    SSL_set_SSL_CTX(ssl, it->second->context->native_handle());
    return SSL_CLIENT_HELLO_SUCCESS;
}

void resetConnection(Stream& stream) {
    auto& socket = beast::get_lowest_layer(stream).socket();
    error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

std::string page(unsigned code, std::string_view title, const std::string& text) {
    return "<!DOCTYPE html><html><head><title>" + std::to_string(code) + " " + std::string(title) +
           "</title></head><body><h1>" + std::to_string(code) + " " + std::string(title) +
           "</h1><p>" + text + "</p><p>edgelab-proxy</p></body></html>\n";
}

// The part of the session that reads and writes one client connection.
class ClientSession {
  public:
    ClientSession(Worker& w, tcp::socket socket, const Listener& listener)
        : w_(w), stream_(std::move(socket), w.front) {
        error_code ec;
        auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        clientAddress_ = ec ? "?" : remote.address().to_string();
        clientPort_ = ec ? 0 : remote.port();
        hs_.worker = &w;
        hs_.listenerAddress = listener.address;
        hs_.publishedPort = listener.publishedPort;
        listenerName_ = listener.address + ":" + std::to_string(listener.publishedPort);
        SSL_set_ex_data(stream_.native_handle(), handshakeIndex(), &hs_);
    }

    awaitable<void> run() {
        const auto& limits = w_.cfg.limits;
        error_code ec;
        beast::get_lowest_layer(stream_).expires_after(
            std::chrono::seconds(limits.headerTimeoutSec));
        co_await stream_.async_handshake(ssl::stream_base::server, withError(ec));
        if (ec) {
            refuseHandshake(ec);
            co_return;
        }
        bool keepAlive = true;
        while (keepAlive) keepAlive = co_await serveOne();
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
        co_await stream_.async_shutdown(withError(ec));
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

  private:
    void refuseHandshake(const error_code& ec) {
        std::string reason;
        if (hs_.refusal) {
            reason = *hs_.refusal;
            resetConnection(stream_);
        } else if (ec == beast::error::timeout) {
            reason = "handshake timeout";
        } else if (ec.category() == asio::error::get_ssl_category()) {
            char buf[256];
            ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
            reason = std::string("protocol: ") + buf;
        } else {
            // The client went away; nothing to tell anyone.
            return;
        }
        nlohmann::json line{{"event", "handshake-refused"},
                            {"listener", listenerName_},
                            {"client", clientAddress_ + ":" + std::to_string(clientPort_)},
                            {"reason", reason}};
        line["sni"] = hs_.sni ? nlohmann::json(*hs_.sni) : nlohmann::json(nullptr);
        logEvent(w_.log, std::move(line));
    }

    std::string_view received() const {
        auto d = buffer_.data();
        return {static_cast<const char*>(d.data()), d.size()};
    }

    // Reads one header block into buffer_; false when the connection ends.
    awaitable<std::optional<std::size_t>> readHeaderBlock(bool& tooLarge) {
        const auto& limits = w_.cfg.limits;
        auto& tcpStream = beast::get_lowest_layer(stream_);
        // Until its first byte a request waits as long as an idle
        // connection may; from then on it has headerTimeoutSec in all.
        const bool first = requests_ == 0;
        if (buffer_.size() == 0) {
            tcpStream.expires_after(
                std::chrono::seconds(first ? limits.headerTimeoutSec : limits.idleTimeoutSec));
        } else {
            tcpStream.expires_after(std::chrono::seconds(limits.headerTimeoutSec));
        }
        bool started = buffer_.size() > 0;
        for (;;) {
            if (auto end = findHeaderBlockEnd(received())) {
                if (*end > limits.headerBlockBytes) {
                    tooLarge = true;
                    co_return std::nullopt;
                }
                co_return end;
            }
            if (buffer_.size() >= limits.headerBlockBytes) {
                tooLarge = true;
                co_return std::nullopt;
            }
            error_code ec;
            const std::size_t n = co_await stream_.async_read_some(
                buffer_.prepare(
                    std::max<std::size_t>(4096, limits.headerBlockBytes + 4 - buffer_.size())),
                withError(ec));
            buffer_.commit(n);
            if (ec) {
                if (ec == beast::error::timeout && started) headerTimedOut_ = true;
                co_return std::nullopt;
            }
            if (!started) {
                started = true;
                tcpStream.expires_after(std::chrono::seconds(limits.headerTimeoutSec));
            }
        }
    }

    // Local answers are built outside any co_await expression: g++ 12
    // destroys temporaries in such expressions twice (a double free here).
    void prepareLocal(http::status status, std::string body, unsigned version, bool keepAlive,
                      std::string location = {}) {
        local_ = {};
        local_.result(status);
        local_.version(version ? version : 11);
        local_.set(http::field::server, "edgelab-proxy");
        local_.set(http::field::content_type, "text/html; charset=utf-8");
        local_.set(http::field::cache_control, "no-store");
        if (!location.empty()) local_.set(http::field::location, location);
        local_.body() = std::move(body);
        local_.keep_alive(keepAlive);
        local_.prepare_payload();
    }

    awaitable<bool> writeLocal() {
        error_code ec;
        beast::get_lowest_layer(stream_).expires_after(
            std::chrono::seconds(w_.cfg.limits.idleTimeoutSec));
        co_await http::async_write(stream_, local_, withError(ec));
        co_return !ec && local_.keep_alive();
    }

    void logRequest(const http::request_header<>* req, int status, const PublishingRule* rule,
                    Clock::time_point start, const std::string& note = {}) {
        if (!w_.log.enabled() && status < 400) return;
        nlohmann::json line{{"event", "request"},
                            {"listener", listenerName_},
                            {"client", clientAddress_ + ":" + std::to_string(clientPort_)},
                            {"status", status}};
        line["sni"] = hs_.sni ? nlohmann::json(*hs_.sni) : nlohmann::json(nullptr);
        if (req) {
            line["method"] = std::string(toStd(req->method_string()));
            line["target"] = std::string(toStd(req->target()));
            line["host"] = std::string(toStd((*req)[http::field::host]));
        }
        line["application"] = rule ? nlohmann::json(rule->name) : nlohmann::json(nullptr);
        line["durationMs"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        if (!note.empty()) line["reason"] = note;
        // Refusals of malformed requests are what an operator looks for.
        if (status == 400 || status == 501 || status == 431 || status == 505 || status == 408) {
            logEvent(w_.log, std::move(line));
        } else {
            w_.log.write(std::move(line));
        }
    }

    awaitable<bool> serveOne() {
        bool tooLarge = false;
        auto end = co_await readHeaderBlock(tooLarge);
        const auto start = Clock::now();
        if (!end) {
            if (tooLarge) {
                logRequest(nullptr, 431, nullptr, start, "header block over the limit");
                prepareLocal(http::status::request_header_fields_too_large,
                             page(431, "Request Header Fields Too Large",
                                  "The request header block is over the limit."),
                             11, false);
                co_await writeLocal();
            } else if (headerTimedOut_) {
                // tcp_stream has closed the socket on its timeout: nothing
                // can be answered, the line in the log is what remains.
                logRequest(nullptr, 408, nullptr, start, "header timeout");
            }
            co_return false;
        }
        ++requests_;
        request_.emplace();
        auto& parser = *request_;
        parser.eager(false);
        parser.header_limit(static_cast<std::uint32_t>(w_.cfg.limits.headerBlockBytes + 4));
        parser.body_limit(w_.cfg.limits.requestBodyLimitBytes);
        const std::string rawHeader(received().substr(0, *end));
        error_code ec;
        parser.put(asio::buffer(rawHeader), ec);
        buffer_.consume(*end);
        if (ec || !parser.is_header_done()) {
            const std::string why = ec ? ec.message() : "incomplete header";
            logRequest(nullptr, 400, nullptr, start, why);
            prepareLocal(http::status::bad_request, page(400, "Bad Request", provision::escapeMarkup(why)), 11,
                         false);
            co_await writeLocal();
            co_return false;
        }
        auto& req = parser.get();
        const unsigned version = req.version();
        if (auto refusal = validateRequest(req, rawHeader)) {
            logRequest(&req, static_cast<int>(refusal->status), nullptr, start, refusal->reason);
            prepareLocal(
                refusal->status,
                page(static_cast<unsigned>(refusal->status),
                     toStd(http::obsolete_reason(refusal->status)), provision::escapeMarkup(refusal->reason)),
                version, false);
            co_await writeLocal();
            co_return false;
        }
        const bool clientKeepAlive = req.keep_alive();
        // Without a body the connection can stay open after a local answer.
        const bool hasBody =
            parser.chunked() || (parser.content_length() && *parser.content_length() > 0);
        const bool localKeepAlive = clientKeepAlive && !hasBody;
        static const std::vector<std::string> kNoNames;
        const auto decision =
            routeRequest(w_.cfg.applications, toStd(req[http::field::host]), toStd(req.target()),
                         hs_.publishedPort, hs_.certificate ? hs_.certificate->dnsNames : kNoNames);
        if (decision.outcome == RouteOutcome::UnknownHost) {
            logRequest(&req, 404, nullptr, start);
            prepareLocal(http::status::not_found,
                         page(404, "Not Found",
                              "No application is published for " +
                                  provision::escapeMarkup(toStd(req[http::field::host])) + "."),
                         version, localKeepAlive);
            co_return co_await writeLocal();
        }
        const PublishingRule& rule = *decision.rule;
        if (decision.outcome == RouteOutcome::MisdirectedRequest) {
            logRequest(&req, 421, &rule, start);
            prepareLocal(http::status::misdirected_request,
                         page(421, "Misdirected Request",
                              "The certificate of this connection does not cover " +
                                  provision::escapeMarkup(toStd(req[http::field::host])) + "."),
                         version, localKeepAlive);
            co_return co_await writeLocal();
        }
        if (rule.externalPreAuthentication == PreAuthentication::ADFS) {
            // Not emulated: the redirect is what a client of a real WAP sees first.
            logRequest(&req, 302, &rule, start);
            prepareLocal(http::status::found, page(302, "Found", "AD FS pre-authentication."),
                         version, localKeepAlive,
                         adfsRedirectLocation(w_.cfg.adfsUrl, rule, toStd(req.target())));
            co_return co_await writeLocal();
        }
        co_return co_await forward(rule, clientKeepAlive, start);
    }

    std::size_t ruleIndex(const PublishingRule& rule) const {
        return static_cast<std::size_t>(&rule - w_.cfg.applications.data());
    }

    awaitable<std::unique_ptr<BackendConnection>> connectBackend(const PublishingRule& rule,
                                                                 std::string& error) {
        auto conn = std::make_unique<BackendConnection>(w_.ioc, w_.backendTls);
        SSL* ssl = conn->stream.native_handle();
        const std::string& host = rule.backendServerUrl.host;
        SSL_set_tlsext_host_name(ssl, host.c_str());
        if (rule.backendServerCertificateValidation) {
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
            SSL_set1_host(ssl, host.c_str());
        } else {
            SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        }
        auto& tcpStream = beast::get_lowest_layer(conn->stream);
        tcpStream.expires_after(std::chrono::seconds(w_.cfg.limits.backendConnectTimeoutSec));
        error_code ec;
        const auto& endpoint = w_.backendEndpoints[ruleIndex(rule)];
        co_await tcpStream.async_connect(endpoint, withError(ec));
        if (ec) {
            error = "connect to " + endpoint.address().to_string() + ":" +
                    std::to_string(endpoint.port()) + ": " + ec.message();
            co_return nullptr;
        }
        tcpStream.socket().set_option(tcp::no_delay(true), ec);
        co_await conn->stream.async_handshake(ssl::stream_base::client, withError(ec));
        if (ec) {
            const long verify = SSL_get_verify_result(ssl);
            error = "TLS to " + host + ": " +
                    (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify))
                                         : ec.message());
            co_return nullptr;
        }
        co_return conn;
    }

    // Relays one message's body from `in` (whose header `p` has read) to
    // `out` through `sr`, a buffer at a time: nothing is held whole.
    template <bool isRequest, class In, class Out>
    awaitable<error_code> relay(In& in, beast::flat_buffer& inBuffer,
                                http::parser<isRequest, http::buffer_body>& p, Out& out,
                                std::chrono::seconds readTimeout, std::chrono::seconds writeTimeout,
                                bool& wroteAnything) {
        http::serializer<isRequest, http::buffer_body> sr{p.get()};
        error_code ec;
        // The header goes out alone only when the body is not here yet (a
        // held response, a client waiting for 100 Continue); otherwise it
        // shares one TLS record and one write with the first piece.
        if (!p.is_done() && inBuffer.size() == 0) {
            beast::get_lowest_layer(out).expires_after(writeTimeout);
            co_await http::async_write_header(out, sr, withError(ec));
            if (ec) co_return ec;
        }
        wroteAnything = true;
        while (!sr.is_done()) {
            if (!p.is_done()) {
                p.get().body().data = relayBuffer_.data();
                p.get().body().size = relayBuffer_.size();
                beast::get_lowest_layer(in).expires_after(readTimeout);
                co_await http::async_read_some(in, inBuffer, p, withError(ec));
                if (ec == http::error::need_buffer) ec = {};
                if (ec) co_return ec;
                const std::size_t got = relayBuffer_.size() - p.get().body().size;
                // An empty piece (a chunk header alone) must not reach the
                // serializer: a zero-size chunk is the chunked terminator.
                if (got == 0 && !p.is_done()) continue;
                p.get().body().size = got;
                p.get().body().data = got ? relayBuffer_.data() : nullptr;
                p.get().body().more = !p.is_done();
            } else {
                p.get().body().data = nullptr;
                p.get().body().size = 0;
                p.get().body().more = false;
            }
            beast::get_lowest_layer(out).expires_after(writeTimeout);
            co_await http::async_write(out, sr, withError(ec));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) co_return ec;
        }
        co_return ec;
    }

    awaitable<bool> forward(const PublishingRule& rule, bool clientKeepAlive,
                            Clock::time_point start) {
        auto& req = request_->get();
        const unsigned version = req.version();
        const std::string target(toStd(req.target()));
        const std::string host(toStd(req[http::field::host]));
        translateRequestHeaders(req, rule, clientAddress_);
        req.keep_alive(true);  // toward the backend, whatever the client asked
        if (rule.requestBodyLimitBytes) request_->body_limit(rule.requestBodyLimitBytes);
        const bool hasBody =
            request_->chunked() || (request_->content_length() && *request_->content_length() > 0);
        const auto idle = std::chrono::seconds(w_.cfg.limits.idleTimeoutSec);
        const auto inactive = std::chrono::seconds(rule.inactiveTransactionsTimeoutSec);
        auto& pool = w_.idle[ruleIndex(rule)];

        auto fail = [&](http::status status, const std::string& why) {
            const unsigned code = static_cast<unsigned>(status);
            logRequest(&req, static_cast<int>(code), &rule, start, why);
            prepareLocal(status,
                         page(code, toStd(http::obsolete_reason(status)),
                              "The backend of application <b>" + provision::escapeMarkup(rule.name) + "</b> (" +
                                  provision::escapeMarkup(rule.backendServerUrl.hostHeader()) + ") " +
                                  (status == http::status::gateway_timeout
                                       ? "did not answer within " +
                                             std::to_string(rule.inactiveTransactionsTimeoutSec) +
                                             " s (inactiveTransactionsTimeoutSec)."
                                       : "could not be reached: " + provision::escapeMarkup(why) + ".")),
                         version, false);
        };

        std::unique_ptr<BackendConnection> conn;
        std::optional<http::response_parser<http::buffer_body>> response;
        // A pooled connection the backend has closed meanwhile fails on first
        // use; a request without a body is then sent again on a new one.
        for (int attempt = 0; attempt < 2; ++attempt) {
            bool reused = false;
            if (!pool.empty()) {
                conn = std::move(pool.back());
                pool.pop_back();
                reused = true;
            } else {
                std::string error;
                conn = co_await connectBackend(rule, error);
                if (!conn) {
                    fail(http::status::bad_gateway, error);
                    co_return co_await writeLocal();
                }
            }
            bool wrote = false;
            error_code ec =
                co_await relay(stream_, buffer_, *request_, conn->stream, idle, inactive, wrote);
            const char* stage = ec ? "sending the request" : "reading the response header";
            if (!ec) {
                response.emplace();
                response->header_limit(64 * 1024);
                // No limit: boost::none is taken as 0 by Boost 1.74.
                response->body_limit(std::numeric_limits<std::uint64_t>::max());
                if (req.method() == http::verb::head) response->skip(true);
                beast::get_lowest_layer(conn->stream).expires_after(inactive);
                co_await http::async_read_header(conn->stream, conn->buffer, *response,
                                                 withError(ec));
                // 1xx interim answers (100 Continue) go to the client as they come.
                while (!ec && response->get().result_int() / 100 == 1 &&
                       response->get().result() != http::status::switching_protocols) {
                    http::response<http::empty_body> interim{response->get().result(),
                                                             response->get().version()};
                    for (const auto& f : response->get())
                        interim.insert(f.name_string(), f.value());
                    beast::get_lowest_layer(stream_).expires_after(idle);
                    co_await http::async_write(stream_, interim, withError(ec));
                    if (ec) co_return false;
                    response.emplace();
                    // No limit: boost::none is taken as 0 by Boost 1.74.
                    response->body_limit(std::numeric_limits<std::uint64_t>::max());
                    if (req.method() == http::verb::head) response->skip(true);
                    co_await http::async_read_header(conn->stream, conn->buffer, *response,
                                                     withError(ec));
                }
            }
            if (!ec) break;
            if (ec == beast::error::timeout) {
                fail(http::status::gateway_timeout, "timeout");
                co_return co_await writeLocal();
            }
            if (reused && !hasBody && attempt == 0) continue;
            fail(http::status::bad_gateway, std::string(stage) + ": " + ec.message());
            co_return co_await writeLocal();
        }

        auto& res = response->get();
        const int status = res.result_int();
        if (!rule.disableTranslateUrlInResponseHeaders) {
            translateResponseHeaders(res, rule, w_.cfg.applications);
        }
        const bool backendKeepAlive = res.keep_alive();
        const bool framed = response->chunked() || response->content_length() ||
                            req.method() == http::verb::head || status == 204 || status == 304;
        const bool keepClient = clientKeepAlive && framed && request_->is_done();
        res.keep_alive(keepClient);
        // The client may be on HTTP/1.0; chunked framing needs 1.1.
        if (version == 10 && response->chunked()) res.keep_alive(false);
        res.version(version == 10 && !response->chunked() ? 10 : 11);
        bool wrote = false;
        error_code ec =
            co_await relay(conn->stream, conn->buffer, *response, stream_, inactive, idle, wrote);
        logRequest(&req, status, &rule, start, ec ? ec.message() : std::string());
        if (ec) co_return false;
        if (backendKeepAlive && response->is_done() && pool.size() < 256) {
            pool.push_back(std::move(conn));
        }
        co_return keepClient;
    }

    Worker& w_;
    Stream stream_;
    HandshakeState hs_;
    std::string clientAddress_;
    std::uint16_t clientPort_ = 0;
    std::string listenerName_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::buffer_body>> request_;
    std::array<char, 16 * 1024> relayBuffer_;
    http::response<http::string_body> local_;
    std::size_t requests_ = 0;
    bool headerTimedOut_ = false;
};

awaitable<void> runSession(std::shared_ptr<ClientSession> session) { co_await session->run(); }

awaitable<void> acceptLoop(Worker& w, tcp::acceptor& acceptor, const Listener& listener) {
    for (;;) {
        error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(withError(ec));
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(w.ioc,
                       runSession(std::make_shared<ClientSession>(w, std::move(socket), listener)),
                       asio::detached);
    }
}

struct StoreStamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec mtime{};
    bool operator==(const StoreStamp& o) const {
        return inode == o.inode && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
               mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

StoreStamp stampOf(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return {};
    return {st.st_ino, st.st_size, st.st_mtim};
}

// Keeps every worker's snapshot in step with the binding store file.
class BindingReloader {
  public:
    BindingReloader(const ProxyConfig& cfg, const AccessLog& log,
                    std::vector<std::unique_ptr<Worker>>& workers,
                    std::shared_ptr<const TlsSnapshot> current)
        : cfg_(cfg),
          log_(log),
          workers_(workers),
          current_(std::move(current)),
          stamp_(stampOf(cfg.bindingStore)) {}

    void reload(const char* why) {
        stamp_ = stampOf(cfg_.bindingStore);
        BindingStore store;
        try {
            store = loadBindingStore(cfg_.bindingStore);
        } catch (const BindingStoreError& e) {
            logEvent(log_, {{"event", "binding-store-refused"},
                            {"trigger", why},
                            {"reason", e.what()},
                            {"kept", std::to_string(current_->store.bindings.size()) +
                                         " bindings from the last good store"}});
            return;
        }
        if (store == current_->store) return;
        current_ = buildSnapshot(cfg_, std::move(store), current_.get(), log_);
        for (auto& w : workers_) {
            asio::post(w->ioc, [worker = w.get(), snap = current_] { worker->tls = snap; });
        }
        logEvent(log_, {{"event", "binding-store-loaded"},
                        {"trigger", why},
                        {"file", cfg_.bindingStore.string()},
                        {"bindings", current_->store.bindings.size()}});
    }

    // A stat poll rather than inotify: it sees a rename over the file (a new
    // inode) and an in-place write alike, and costs one stat a quarter second.
    awaitable<void> watch() {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (;;) {
            timer.expires_after(std::chrono::milliseconds(250));
            error_code ec;
            co_await timer.async_wait(withError(ec));
            if (ec) co_return;
            if (!(stampOf(cfg_.bindingStore) == stamp_)) reload("file changed");
        }
    }

  private:
    const ProxyConfig& cfg_;
    const AccessLog& log_;
    std::vector<std::unique_ptr<Worker>>& workers_;
    std::shared_ptr<const TlsSnapshot> current_;
    StoreStamp stamp_;
};

// WAP creates a hostnameport binding for each published external host.
BindingStore withApplicationBindings(BindingStore store, const ProxyConfig& cfg) {
    for (const auto& app : cfg.applications) {
        BindingKey key{BindingKind::HostnamePort, app.externalUrl.host, app.externalUrl.port};
        if (store.find(key)) continue;
        store.bindings.push_back(
            {key, app.externalCertificateThumbprint, std::string(kWapApplicationId), "MY"});
    }
    return store;
}

}  // namespace

int runProxy(const ProxyConfig& cfg, const ServerOptions& options, std::ostream& ready) {
    const unsigned threads =
        options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    AccessLog log(cfg.accessLog);

    BindingStore store;
    try {
        store = loadBindingStore(cfg.bindingStore, MissingStore::Empty);
    } catch (const BindingStoreError& e) {
        throw ConfigError(std::string("/bindingStore: ") + e.what());
    }
    const BindingStore published = withApplicationBindings(store, cfg);
    if (!(published == store)) {
        try {
            saveBindingStore(cfg.bindingStore, published);
        } catch (const std::exception& e) {
            throw ConfigError(std::string("/bindingStore: ") + e.what());
        }
    }
    for (std::size_t i = 0; i < cfg.applications.size(); ++i) {
        std::string error;
        if (!loadCertificate(cfg, cfg.applications[i].externalCertificateThumbprint, error)) {
            throw ConfigError("/applications/" + std::to_string(i) +
                              "/externalCertificateThumbprint: " + error);
        }
    }
    auto snapshot = buildSnapshot(cfg, published, nullptr, log);

    std::vector<tcp::endpoint> endpoints;
    for (const auto& app : cfg.applications) {
        const std::string& a = cfg.internalDns.at(app.backendServerUrl.host + ":" +
                                                  std::to_string(app.backendServerUrl.port));
        const auto colon = a.rfind(':');
        endpoints.emplace_back(asio::ip::make_address(a.substr(0, colon)),
                               static_cast<std::uint16_t>(std::stoi(a.substr(colon + 1))));
    }

    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned i = 0; i < threads; ++i) {
        auto w = std::make_unique<Worker>(cfg, log);
        w->tls = snapshot;
        SSL_CTX* front = w->front.native_handle();
        applyProtocolPolicy(front, cfg);
        SSL_CTX_set_client_hello_cb(front, onClientHello, nullptr);
        error_code ec;
        w->backendTls.load_verify_file(cfg.caBundle.string(), ec);
        if (ec) throw ConfigError("/caBundle: " + cfg.caBundle.string() + ": " + ec.message());
        SSL_CTX_set_min_proto_version(w->backendTls.native_handle(), TLS1_2_VERSION);
        w->backendEndpoints = endpoints;
        w->idle.resize(cfg.applications.size());
        workers.push_back(std::move(w));
    }

    // Thread 0 binds first (maybe port 0); the others join its real port.
    std::vector<std::uint16_t> boundPorts;
    for (const auto& listener : cfg.listeners) {
        std::uint16_t port = listener.port;
        for (auto& w : workers) {
            auto acceptor = std::make_unique<tcp::acceptor>(w->ioc);
            const tcp::endpoint ep(asio::ip::make_address(listener.address), port);
            error_code ec;
            acceptor->open(ep.protocol(), ec);
            if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) {
                using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
                acceptor->set_option(ReusePort(true), ec);
            }
            if (!ec) acceptor->bind(ep, ec);
            if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
            if (ec) {
                throw std::runtime_error("cannot listen on " + listener.address + ":" +
                                         std::to_string(port) + ": " + ec.message());
            }
            port = acceptor->local_endpoint().port();
            w->acceptors.push_back(std::move(acceptor));
        }
        boundPorts.push_back(port);
    }
    for (auto& w : workers) {
        for (std::size_t l = 0; l < cfg.listeners.size(); ++l) {
            asio::co_spawn(w->ioc, acceptLoop(*w, *w->acceptors[l], cfg.listeners[l]),
                           asio::detached);
        }
    }

    BindingReloader reloader(cfg, log, workers, snapshot);
    Worker& main = *workers[0];
    asio::co_spawn(main.ioc, reloader.watch(), asio::detached);
    asio::signal_set hangup(main.ioc, SIGHUP);
    std::function<void(const error_code&, int)> onHangup = [&](const error_code& ec, int) {
        if (ec) return;
        reloader.reload("SIGHUP");
        hangup.async_wait(onHangup);
    };
    hangup.async_wait(onHangup);
    asio::signal_set stop(main.ioc, SIGINT, SIGTERM);
    stop.async_wait([&](const error_code& ec, int) {
        if (ec) return;
        for (auto& w : workers) w->ioc.stop();
    });

    for (std::size_t l = 0; l < cfg.listeners.size(); ++l) {
        ready << "READY " << cfg.listeners[l].address << ":" << boundPorts[l]
              << " published=" << cfg.listeners[l].publishedPort << "\n";
    }
    ready << "READY" << std::endl;

    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < workers.size(); ++i) {
        pool.emplace_back([w = workers[i].get()] { w->ioc.run(); });
    }
    main.ioc.run();
    for (auto& w : workers) w->ioc.stop();
    for (auto& t : pool) t.join();
    return 0;
}

}  // namespace edgelab::proxy
