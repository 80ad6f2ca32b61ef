#include "proxy/client_connection.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <nlohmann/json.hpp>

#include "common/markup.hpp"
#include "proxy/exchange.hpp"
#include "proxy/lingering.hpp"
#include "proxy/local_reply.hpp"
#include "proxy/spawned.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using beast::error_code;

void resetConnection(TlsStream& stream) {
    auto& socket = stream.socket();
    error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

bool isRefusalWorthAnOperatorsEye(int status) {
    return status == 400 || status == 408 || status == 413 || status == 417 || status == 431 ||
           status == 501 || status == 505;
}

}  // namespace

ClientConnection::ClientConnection(Worker& w, TcpSocket socket, const tcp::endpoint& peer,
                                   const Listener& listener)
    : w_(w),
      stream_(std::move(socket), w.front->native_handle()),
      listener_(listener),
      backends_(w) {
    clientAddress_ = peer.address().to_string();
    clientPort_ = peer.port();
    hs_.snapshot = &w.tls;
    hs_.listenerAddress = listener.address;
    hs_.publishedPort = listener.publishedPort;
    attachHandshakeState(stream_.native_handle(), &hs_);
    w_.sessionsHigh = std::max(w_.sessionsHigh, ++w_.sessions);
    w_.connections.push_back(*this);
}

ClientConnection::~ClientConnection() { --w_.sessions; }

Task<void> ClientConnection::run(std::unique_ptr<ClientConnection> self) {
    error_code ec;
    stream_.expires_after(std::chrono::seconds(w_.cfg.limits.headerTimeoutSec));
    co_await stream_.async_handshake(TlsStream::Side::Server, withError(ec));
    if (ec) {
        refuseHandshake(ec);
        co_return;
    }
    co_await serve(std::move(self), {});
}

// Serves requests until the connection ends. Between requests it waits
// here, in this frame; a connection that goes idle instead parks (park()):
// this coroutine ends, and the socket's wait starts serve() again once the
// client sends, so an idle connection holds no coroutine frame. `waited`
// is how such a wait ended.
Task<void> ClientConnection::serve(std::unique_ptr<ClientConnection> self, error_code waited) {
    bool open = !waited;
    // Resumed from a parked wait (a request has been answered): the socket
    // has something to receive, so the first wait is no idle one.
    bool resumed = requests_ > 0;
    while (open) {
        if (requests_ > 0 && buffer_.size() == 0) {
            // The next request cannot have reached OpenSSL yet: the client
            // sends it after reading the answer just sent, and what a parked
            // wait saw is still in the socket. It is received first.
            auto step = stream_.hasBufferedInput() ? receiveArrived()
                                                   : TlsStream::Step{TlsStream::Want::Read, {}, 0};
            while (step.want != TlsStream::Want::Nothing && !stream_.expired()) {
                if (!std::exchange(resumed, false) && noteWait()) {
                    park(std::move(self), step.want);
                    co_return;
                }
                co_await stream_.async_wait(step.want, withError(step.ec));
                const bool parkAsked = idle_ == Idle::ParkRequested;
                if (idle_ == Idle::Waiting) idle_ = Idle::No;
                if (step.ec && parkAsked) step.ec = {};  // the sweep's cancel
                if (step.ec) break;
                step = receiveArrived();
            }
            if (idle_ == Idle::ParkRequested) idle_ = Idle::No;
            // Past the idle timeout, or when the client goes, the connection
            // closes quietly (RFC 9112 9.8).
            if (step.ec || step.want != TlsStream::Want::Nothing) break;
        }
        resumed = false;
        open = co_await serveOne();
        if (open && buffer_.size() == 0) {
            idleDeadline_ = Clock::now() + std::chrono::seconds(w_.cfg.limits.idleTimeoutSec);
            stream_.expires_at(idleDeadline_);
        }
    }
    if (resetClient_) {
        resetConnection(stream_);
        co_return;
    }
    // A client past its deadline is not waited for again: closed, no
    // close_notify (what is held still goes).
    if (!stream_.expired()) co_await closeTls();
    stream_.flush();
    error_code ignored;
    stream_.socket().close(ignored);
}

// Waits for the client with a plain handler that owns the session. The
// worker's sweep keeps the idle deadline of a parked connection
// (releaseIfIdleSince), so it holds no timer either.
void ClientConnection::park(std::unique_ptr<ClientConnection> self, TlsStream::Want want) {
    stream_.clearDeadline();
    idle_ = Idle::Parked;
    if (!stream_.flush()) want = TlsStream::Want::Write;
    const auto wait = want == TlsStream::Want::Read ? TcpSocket::wait_read : TcpSocket::wait_write;
    stream_.socket().async_wait(wait, ParkedWait{std::move(self)});
}

void ClientConnection::ParkedWait::operator()(const error_code& ec) {
    ClientConnection& session = *self;
    const bool expired = session.idle_ == Idle::ParkedExpired;
    session.idle_ = Idle::No;
    if (expired) {
        // Past the idle timeout: closed quietly, without close_notify.
        error_code ignored;
        session.stream_.socket().close(ignored);
        return;
    }
    session.stream_.expires_at(session.idleDeadline_);
    asio::co_spawn(session.w_.ioc, session.serve(std::move(self), ec),
                   LogIfThrown{&session.w_.log, "session"});
}

// The side that closes need not wait for the peer's close_notify (RFC 8446
// 6.1), and nginx does not. The proxy waits only when the client has sent
// bytes it has not read: closing then would reset the connection, which can
// destroy the answer still on its way (RFC 9112 9.6). Otherwise the socket
// is closed at once, so the last bytes wait for the FIN (closeNotifyStep).
Task<void> ClientConnection::closeTls() {
    if (lingerOnClose_) {
        co_await lingeringClose();
        co_return;
    }
    if (buffer_.size() == 0 && !stream_.hasUnreadBytes() &&
        stream_.closeNotifyStep(true).want == TlsStream::Want::Nothing) {
        co_return;
    }
    error_code ec;
    stream_.expires_after(std::chrono::seconds(2));
    co_await stream_.async_shutdown(withError(ec));
}

// RFC 9112 9.6: after an answer sent before the request was read to its
// end, a close while the client still sends would reset the connection, and
// the reset can destroy the answer before the client reads it (lingering.hpp).
Task<void> ClientConnection::lingeringClose() {
    const Lingered lingered = co_await edgelab::proxy::lingeringClose(stream_, w_.cfg.limits);
    if (w_.log.enabled())
        w_.log.write({{"event", "lingering-close"},
                      {"side", "client"},
                      {"client", clientAddress_ + ":" + std::to_string(clientPort_)},
                      {"droppedBytes", lingered.droppedBytes},
                      {"ended", lingerEndName(lingered.ended, "client")}});
}

void ClientConnection::refuseHandshake(const error_code& ec) {
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
                        {"listener", listenerName()},
                        {"client", clientAddress_ + ":" + std::to_string(clientPort_)},
                        {"reason", reason}};
    line["sni"] = hs_.sni ? nlohmann::json(*hs_.sni) : nlohmann::json(nullptr);
    logEvent(w_.log, std::move(line));
}

std::string ClientConnection::listenerName() const {
    return listener_.address + ":" + std::to_string(listener_.publishedPort);
}

std::string_view ClientConnection::received() const {
    auto d = buffer_.data();
    return {static_cast<const char*>(d.data()), d.size()};
}

// Reads what has arrived into buffer_ through this thread's record-sized
// scratch: Want::Nothing when bytes were added (or on an error), otherwise
// what to wait for first.
TlsStream::Step ClientConnection::receiveArrived() {
    const std::size_t limit = w_.cfg.limits.headerBlockBytes;
    const std::size_t room =
        std::min(kTlsRecordPlaintext,
                 std::max<std::size_t>(4096, limit + 4 - std::min(buffer_.size(), limit)));
    char* scratch = tlsRecordScratch();
    const auto step = stream_.readStep(asio::buffer(scratch, room));
    if (step.want == TlsStream::Want::Nothing && !step.ec) {
        asio::buffer_copy(buffer_.prepare(step.bytes), asio::buffer(scratch, step.bytes));
        buffer_.commit(step.bytes);
    }
    return step;
}

// A wait with nothing received may be idle. After its first answer a
// connection's buffers are freed at once, as most connections that stop
// after one request stay idle, and memory freed at once is reused by the
// next connection instead of being left between live connections. Otherwise
// (a connection busy with a second request, or one whose first request has
// not come yet: it mostly comes right after the handshake, and a wait here
// cannot tell, since what the socket holds is received only by the wait)
// the buffers stay, and the worker's sweep frees them if the wait lasts
// (releaseIfIdleSince). Whether the wait between requests is to be parked:
// at once where the buffers were freed at once, otherwise when the sweep
// asks (Idle::ParkRequested, with the wait cancelled).
bool ClientConnection::noteWait() {
    if (buffer_.size() > 0) return false;
    if (requests_ == 1) {
        releaseIdleMemory();
        return true;
    }
    if (idle_ == Idle::ParkRequested) {
        idle_ = Idle::No;
        return true;
    }
    idle_ = Idle::Waiting;
    idleSince_ = w_.sweeps;
    return false;
}

Task<void> ClientConnection::receive(error_code& ec) {
    for (;;) {
        const auto step = receiveArrived();
        if (step.want == TlsStream::Want::Nothing) {
            ec = step.ec;
            co_return;
        }
        noteWait();
        co_await stream_.async_wait(step.want, withError(ec));
        if (idle_ == Idle::Waiting) idle_ = Idle::No;
        if (ec) co_return;
    }
}

// Called by the worker's sweep. A parked connection has no timer: its idle
// deadline is checked here, and the wait cancelled once it has passed.
// Otherwise, while the session is suspended in a wait with nothing received
// (none of what is freed is in use), its memory is freed and the wait
// between requests cancelled, to be parked.
bool ClientConnection::releaseIfIdleSince(std::uint64_t sweep) {
    if (idle_ == Idle::Parked && Clock::now() >= idleDeadline_) {
        idle_ = Idle::ParkedExpired;
        error_code ignored;
        stream_.socket().cancel(ignored);
        return false;
    }
    if (idle_ != Idle::Waiting || !idleThroughAPeriod(idleSince_, sweep)) return false;
    idle_ = Idle::No;
    releaseIdleMemory();
    if (requests_ > 0) {
        idle_ = Idle::ParkRequested;
        error_code ignored;
        stream_.socket().cancel(ignored);
    }
    return true;
}

void ClientConnection::releaseIdleMemory() {
    stream_.releaseRecordBuffers();
    buffer_.shrink_to_fit();
    relay_.release();
    request_.release();
    response_.release();
    local_.release();
}

// A request's header has headerTimeoutSec in all from its first byte (the
// first request's also until then); run() waits for a later one's first byte,
// as long as an idle connection may.
Task<ClientConnection::HeadOutcome> ClientConnection::readRequestHead(
    std::size_t& end, std::optional<RequestRefusal>& why) {
    const auto& limits = w_.cfg.limits;
    const auto headerTime = std::chrono::seconds(limits.headerTimeoutSec);
    bool started = buffer_.size() > 0;
    auto deadline = Clock::now() + headerTime;
    for (;;) {
        // RFC 9112 2.2: a server SHOULD ignore at least one empty line
        // received before the request line (some clients send a CRLF after
        // a POST body); every such line counts against the header timeout.
        while (received().starts_with("\r\n")) buffer_.consume(2);
        if (auto e = findHeaderBlockEnd(received())) {
            // A whole header block: Beast's parse judges the request line
            // (checkRequestHead), so only the line ends are checked here.
            if ((why = refuseBareLineEnds(received().substr(0, *e))))
                co_return HeadOutcome::Malformed;
            if (*e > limits.headerBlockBytes) co_return HeadOutcome::TooLarge;
            end = *e;
            co_return HeadOutcome::Ready;
        }
        if ((why = refuseEarly(received()))) co_return HeadOutcome::Malformed;
        if (buffer_.size() >= limits.headerBlockBytes) co_return HeadOutcome::TooLarge;
        error_code ec;
        stream_.expires_at(deadline);
        co_await receive(ec);
        if (ec == beast::error::timeout) co_return HeadOutcome::TimedOut;
        if (ec) co_return HeadOutcome::Closed;
        if (!started) {
            started = true;
            deadline = Clock::now() + headerTime;
        }
    }
}

// The answer is a member, never a temporary in the co_await expression:
// g++ 12 destroys such temporaries twice (a double free here).
Task<bool> ClientConnection::writeLocal() {
    error_code ec;
    stream_.expires_after(std::chrono::seconds(w_.cfg.limits.idleTimeoutSec));
    // A last answer goes out with the close_notify after it (holdWrites).
    if (!local_->keep_alive()) stream_.holdWrites();
    co_await http::async_write(stream_, *local_, withError(ec));
    co_return !ec && local_->keep_alive();
}

void ClientConnection::setLastAnswer(http::response<http::string_body>&& answer,
                                     bool requestUnread) {
    local_ = std::move(answer);
    lingerOnClose_ = requestUnread;
}

void ClientConnection::logRequest(const http::request_header<>* req, int status,
                                  const PublishingRule* rule, Clock::time_point start,
                                  const std::string& note) {
    if (!w_.log.enabled() && !isRefusalWorthAnOperatorsEye(status)) return;
    nlohmann::json line{{"event", "request"},
                        {"listener", listenerName()},
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
    if (isRefusalWorthAnOperatorsEye(status)) {
        logEvent(w_.log, std::move(line));
    } else {
        w_.log.write(std::move(line));
    }
}

Task<bool> ClientConnection::refuse(const RequestRefusal& refusal, Clock::time_point start) {
    const auto* req = request_ && request_->is_header_done() ? &request_->get() : nullptr;
    const unsigned code = static_cast<unsigned>(refusal.status);
    logRequest(req, static_cast<int>(code), nullptr, start, refusal.reason);
    local_ = localReply(
        refusal.status,
        errorPage(code, toStd(http::obsolete_reason(refusal.status)), escapeMarkup(refusal.reason)),
        req ? req->version() : 11, false);
    // What the client sends after a refusal is not read; it may be sending
    // the rest of this request. A header timeout's client has stalled.
    lingerOnClose_ = refusal.status != http::status::request_timeout;
    co_await writeLocal();
    // After a refusal the framing of what follows cannot be trusted.
    co_return false;
}

Task<bool> ClientConnection::answerHeadFailure(HeadOutcome outcome,
                                               const std::optional<RequestRefusal>& why,
                                               Clock::time_point start) {
    request_.reset();
    RequestRefusal refusal;
    switch (outcome) {
        case HeadOutcome::TooLarge:
            // As HTTP.sys answers a request line and fields over
            // MaxRequestBytes or a field over MaxFieldLength (16 KiB each by
            // default): 400 with its own words, not RFC 6585's 431. Clients
            // and administrators of this field search for these words
            // (Microsoft KB 2020943, "HTTP 400 Bad Request (Request Header
            // too long)").
            refusal = {http::status::bad_request,
                       "HTTP Error 400. The size of the request headers is too long."};
            break;
        case HeadOutcome::TimedOut:
            refusal = {http::status::request_timeout, "header timeout"};
            break;
        case HeadOutcome::Malformed:
            refusal = *why;
            break;
        default:
            co_return false;
    }
    co_return co_await refuse(refusal, start);
}

std::optional<RequestRefusal> ClientConnection::parseRequestHead(std::size_t end) {
    request_.emplace();
    auto& parser = *request_;
    parser.eager(false);
    parser.header_limit(static_cast<std::uint32_t>(w_.cfg.limits.headerBlockBytes + 4));
    parser.body_limit(w_.cfg.limits.requestBodyLimitBytes);
    // Parsed and checked where it was received (no copy), then consumed.
    auto refusal = checkRequestHead(received().substr(0, end));
    buffer_.consume(end);
    return refusal;
}

std::optional<RequestRefusal> ClientConnection::checkRequestHead(std::string_view rawHeader) {
    auto& parser = *request_;
    error_code ec;
    parser.put(asio::buffer(rawHeader.data(), rawHeader.size()), ec);
    if (ec == http::error::body_limit) {
        return RequestRefusal{http::status::payload_too_large, "body over the limit"};
    }
    if (ec || !parser.is_header_done()) {
        // The request line's own refusal (505 for another HTTP version) when it has one.
        if (auto refusal = refuseRequestLine(rawHeader)) return refusal;
        return RequestRefusal{http::status::bad_request, ec ? ec.message() : "incomplete header"};
    }
    auto& req = parser.get();
    if (auto refusal = validateRequest(req, rawHeader)) return refusal;
    // WAP forwards origin-form; validateRequest has checked the host.
    if (auto origin = originFormOf(toStd(req.target()))) req.target(*origin);
    return std::nullopt;
}

Task<bool> ClientConnection::serveOne() {
    std::size_t end = 0;
    std::optional<RequestRefusal> why;
    const auto outcome = co_await readRequestHead(end, why);
    const auto start = Clock::now();
    if (outcome != HeadOutcome::Ready) co_return co_await answerHeadFailure(outcome, why, start);
    ++requests_;
    if (const auto refusal = parseRequestHead(end)) co_return co_await refuse(*refusal, start);
    co_return co_await routeRequest(start);
}

Task<bool> ClientConnection::routeRequest(Clock::time_point start) {
    auto& req = request_->get();
    const unsigned version = req.version();
    const bool hasBody =
        request_->chunked() || (request_->content_length() && *request_->content_length() > 0);
    // Without a body the connection can stay open after a local answer.
    const bool localKeepAlive = request_->keep_alive() && !hasBody;
    static const std::vector<std::string> kNoNames;
    const std::string host(toStd(req[http::field::host]));
    const auto decision = edgelab::proxy::routeRequest(
        w_.cfg.applications, host, toStd(req.target()), hs_.publishedPort,
        hs_.certificate ? hs_.certificate->dnsNames : kNoNames);
    if (decision.outcome == RouteOutcome::UnknownHost) {
        logRequest(&req, 404, nullptr, start);
        local_ =
            localReply(http::status::not_found,
                       errorPage(404, "Not Found",
                                 "No application is published for " + escapeMarkup(host) + "."),
                       version, localKeepAlive);
        co_return co_await writeLocal();
    }
    const PublishingRule& rule = *decision.rule;
    if (decision.outcome == RouteOutcome::MisdirectedRequest) {
        logRequest(&req, 421, &rule, start);
        local_ = localReply(http::status::misdirected_request,
                            errorPage(421, "Misdirected Request",
                                      "The certificate of this connection does not cover " +
                                          escapeMarkup(host) + "."),
                            version, localKeepAlive);
        co_return co_await writeLocal();
    }
    if (rule.externalPreAuthentication == PreAuthentication::ADFS) {
        // Not emulated: the redirect is what a client of a real WAP sees first.
        logRequest(&req, 302, &rule, start);
        local_ = localReply(
            http::status::found, errorPage(302, "Found", "AD FS pre-authentication."), version,
            localKeepAlive, adfsRedirectLocation(w_.cfg.adfsUrl, rule, toStd(req.target())));
        co_return co_await writeLocal();
    }
    ForwardedExchange exchange(*this, rule, start);
    co_return co_await exchange.run();
}

}  // namespace edgelab::proxy
