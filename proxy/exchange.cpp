#include "proxy/exchange.hpp"

#include "proxy/client_connection.hpp"
#include "proxy/local_reply.hpp"
#include "proxy/spawned.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using beast::error_code;

// Copies bytes one way until either side ends; `pending` (bytes read past
// the 101 or the upgrade request) goes first.
Task<void> pump(TlsStream& in, beast::flat_buffer& pending, TlsStream& out,
                std::chrono::seconds idle) {
    error_code ec;
    if (pending.size() > 0) {
        out.expires_after(idle);
        co_await asio::async_write(out, pending.data(), withError(ec));
        pending.consume(pending.size());
        if (ec) co_return;
    }
    std::vector<char> buf(16 * 1024);
    for (;;) {
        in.expires_after(idle);
        const std::size_t n = co_await in.async_read_some(asio::buffer(buf), withError(ec));
        if (ec) co_return;
        out.expires_after(idle);
        co_await asio::async_write(out, asio::buffer(buf.data(), n), withError(ec));
        if (ec) co_return;
    }
}

}  // namespace

ForwardedExchange::ForwardedExchange(ClientConnection& client, const PublishingRule& rule,
                                     Clock::time_point start)
    : client_(client), w_(client.worker()), rule_(rule), start_(start) {}

Task<bool> ForwardedExchange::run() {
    if (const auto refusal = refusalBeforeForwarding())
        co_return co_await client_.refuse(*refusal, start_);
    prepareRequest();
    std::unique_ptr<BackendConnection> conn;
    for (int attemptNo = 0;; ++attemptNo) {
        BackendSource::Acquired got = co_await client_.backends().acquire(rule_, attemptNo == 0);
        pinned_ = pinned_ || got.pinned;
        if (!got.conn) {
            // A backend that does not answer in time is a gateway timeout (RFC
            // 9110 15.6.5), as nginx answers a connect or handshake that times out.
            const auto status = got.ec == beast::error::timeout ? http::status::gateway_timeout
                                                                : http::status::bad_gateway;
            co_return co_await answerBackendFailure(status, got.why, nullptr, got.ec);
        }
        conn = std::move(got.conn);
        const Attempt a = co_await attempt(*conn);
        if (!a.ec) break;
        if (a.clientFault) co_return co_await answerClientFault(a, std::move(conn));
        const FailedExchange failure{got.reused,
                                     a.ec == beast::error::timeout,
                                     a.responseStarted || interimSent_,
                                     a.writeFailed,
                                     idempotent_,
                                     replay_.complete};
        const auto next = afterFailure(failure);
        if (next == AfterFailure::RetryOnNewConnection && attemptNo == 0) continue;
        co_return co_await answerFailedAttempt(a, next, std::move(conn));
    }
    if (client_.response().get().result() == http::status::switching_protocols) {
        co_return co_await tunnel(std::move(conn));
    }
    co_return co_await deliverResponse(std::move(conn));
}

std::optional<RequestRefusal> ForwardedExchange::refusalBeforeForwarding() {
    auto& parser = client_.request();
    const std::uint64_t limit = rule_.requestBodyLimitBytes ? rule_.requestBodyLimitBytes
                                                            : w_.cfg.limits.requestBodyLimitBytes;
    if (parser.content_length() && *parser.content_length() > limit) {
        return RequestRefusal{http::status::payload_too_large, "body over the limit"};
    }
    parser.body_limit(limit);
    const auto expect = parser.get()[http::field::expect];
    if (!expect.empty() && !beast::iequals(expect, "100-continue")) {
        return RequestRefusal{http::status::expectation_failed, "unknown expectation"};
    }
    return std::nullopt;
}

void ForwardedExchange::prepareRequest() {
    auto& parser = client_.request();
    auto& req = parser.get();
    version_ = req.version();
    clientKeepAlive_ = parser.keep_alive();
    upgrade_ = upgradeRequested(req);
    idempotent_ = isIdempotent(req.method());
    const bool chunked = parser.chunked();
    const bool hasBody = chunked || (parser.content_length() && *parser.content_length());
    // The proxy answers 100 Continue itself when it starts reading the body
    // (RFC 9110 10.1.1); the backend then gets the body without waiting.
    expectContinue_ =
        hasBody && req.version() == 11 && beast::iequals(req[http::field::expect], "100-continue");
    translateRequestHeaders(req, rule_, client_.address());
    stripHopByHop(req, upgrade_);
    req.erase(http::field::expect);
    if (chunked) req.chunked(true);
    if (upgrade_) {
        req.set(http::field::connection, "upgrade");
    } else {
        // Toward the backend, whatever the client asked; HTTP/1.1 needs no field for it.
        if (req.version() != 11) req.keep_alive(true);
    }
}

// Sent when the proxy starts reading a body that has not arrived yet.
Task<bool> ForwardedExchange::sendContinue(Attempt& a) {
    expectContinue_ = false;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    client_.stream().expires_after(std::chrono::seconds(w_.cfg.limits.idleTimeoutSec));
    co_await asio::async_write(client_.stream(), asio::buffer(kContinue), withError(a.ec));
    a.clientFault = static_cast<bool>(a.ec);
    co_return !a.ec;
}

Task<ForwardedExchange::Attempt> ForwardedExchange::attempt(BackendConnection& conn) {
    Attempt a;
    if (expectContinue_ && client_.input().size() == 0 && !co_await sendContinue(a)) co_return a;
    const RelayBounds bounds{std::chrono::seconds(w_.cfg.limits.idleTimeoutSec),
                             std::chrono::seconds(rule_.inactiveTransactionsTimeoutSec),
                             w_.cfg.limits.headerBlockBytes};
    Relay<true> relay(client_.relayMemory(), client_.stream(), client_.input(), client_.request(),
                      conn.stream, bounds, &replay_);
    const RelayResult sent = co_await relay.run();
    if (sent.ec) {
        a.ec = sent.ec;
        a.clientFault = sent.readSide;
        a.writeFailed = !sent.readSide;
        co_return a;
    }
    co_return co_await readResponseHead(conn);
}

void ForwardedExchange::newResponseParser() {
    auto& parser = client_.newResponse();
    parser.header_limit(static_cast<std::uint32_t>(w_.cfg.limits.responseHeaderBlockBytes));
    // No limit: boost::none is taken as 0 by Boost 1.74.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (client_.request().get().method() == http::verb::head) parser.skip(true);
}

// 1xx interim answers other than 101 go to the client as they come, each
// read with the same limits as the final header.
Task<ForwardedExchange::Attempt> ForwardedExchange::readResponseHead(BackendConnection& conn) {
    const auto inactive = std::chrono::seconds(rule_.inactiveTransactionsTimeoutSec);
    Attempt a;
    for (;;) {
        newResponseParser();
        auto& parser = client_.response();
        conn.stream.expires_after(inactive);
        co_await readMessage(conn.stream, conn.buffer, parser, true,
                             w_.cfg.limits.responseHeaderBlockBytes, a.ec);
        if (a.ec) {
            a.responseStarted = parser.got_some() || conn.buffer.size() > 0;
            co_return a;
        }
        const auto& res = parser.get();
        if (res.result_int() / 100 != 1 || res.result() == http::status::switching_protocols) {
            co_return a;
        }
        if (!co_await passInterim(a)) co_return a;
    }
}

Task<bool> ForwardedExchange::passInterim(Attempt& a) {
    const auto& res = client_.response().get();
    // result_int: result() maps a code Beast has no name for (103) to 0.
    http::response<http::empty_body> interim;
    interim.version(11);
    interim.result(res.result_int());
    for (const auto& f : res) interim.insert(f.name_string(), f.value());
    stripHopByHop(interim, false);
    interimSent_ = true;
    client_.stream().expires_after(std::chrono::seconds(w_.cfg.limits.idleTimeoutSec));
    co_await http::async_write(client_.stream(), interim, withError(a.ec));
    a.clientFault = static_cast<bool>(a.ec);
    co_return !a.ec;
}

Task<bool> ForwardedExchange::answerFailedAttempt(const Attempt& a, AfterFailure next,
                                                  std::unique_ptr<BackendConnection> conn) {
    if (next == AfterFailure::GatewayTimeout) {
        const std::string why = "timeout";
        co_return co_await answerBackendFailure(http::status::gateway_timeout, why, std::move(conn),
                                                a.ec);
    }
    const std::string why =
        std::string(a.writeFailed ? "sending the request: " : "reading the response header: ") +
        a.ec.message();
    co_return co_await answerBackendFailure(http::status::bad_gateway, why, std::move(conn), a.ec);
}

Task<bool> ForwardedExchange::answerClientFault(const Attempt& a,
                                                std::unique_ptr<BackendConnection> conn) {
    auto& req = client_.request().get();
    bool open = false;
    // The client's body is what broke: its error (400, 413), not the
    // backend's. A client that went away or stalled gets nothing more.
    if (a.ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
        const bool tooLarge = a.ec == http::error::body_limit;
        const auto status = tooLarge ? http::status::payload_too_large : http::status::bad_request;
        const RequestRefusal refusal{
            status, (tooLarge ? "body over the limit: " : "bad body: ") + a.ec.message()};
        open = co_await client_.refuse(refusal, start_);
    } else if (a.ec == beast::error::timeout) {
        // The connection ends without a word: the log line is what remains.
        client_.logRequest(&req, 408, &rule_, start_, "body timeout");
    } else {
        client_.logRequest(&req, 499, &rule_, start_, "client: " + a.ec.message());
    }
    // The backend got part of the request.
    client_.backends().abandon(std::move(conn), rule_, {});
    co_return open;
}

// The client gets the answer first; then the backend connection, if there
// is one, is given up (a lingering close while the backend may still send).
Task<bool> ForwardedExchange::answerBackendFailure(http::status status, const std::string& why,
                                                   std::unique_ptr<BackendConnection> conn,
                                                   error_code failure) {
    auto& parser = client_.request();
    client_.logRequest(&parser.get(), static_cast<int>(status), &rule_, start_, why);
    // The request's body may be partly unread: the connection ends, and
    // lingers while the client may still be sending it.
    client_.setLastAnswer(
        localReply(status, backendFailurePage(rule_, status, why), version_, false),
        !parser.is_done());
    co_await client_.writeLocal();
    client_.backends().abandon(std::move(conn), rule_, failure);
    co_return false;
}

ResponseFraming ForwardedExchange::prepareResponse() {
    auto& parser = client_.response();
    auto& req = client_.request().get();
    auto& res = parser.get();
    pinned_ = w_.cfg.connectionAffinity && (pinned_ || pinsBackendConnection(req, res));
    if (!rule_.disableTranslateUrlInResponseHeaders) {
        translateResponseHeaders(res, rule_, w_.cfg.applications);
    }
    const auto framing = decideResponseFraming(
        {version_, clientKeepAlive_, client_.request().is_done(), parser.chunked(),
         parser.content_length().has_value(), req.method() == http::verb::head,
         static_cast<int>(res.result_int())});
    stripHopByHop(res, false);
    if (parser.chunked()) res.chunked(true);
    res.version(framing.version);
    // HTTP/1.1 is persistent without a Connection field (stripped above).
    if (framing.version != 11 || !framing.keepClientAlive) res.keep_alive(framing.keepClientAlive);
    return framing;
}

Task<bool> ForwardedExchange::deliverResponse(std::unique_ptr<BackendConnection> conn) {
    auto& parser = client_.response();
    auto& req = client_.request().get();
    const int status = parser.get().result_int();
    const bool backendKeepAlive = parser.keep_alive();
    const ResponseFraming framing = prepareResponse();
    const RelayBounds bounds{std::chrono::seconds(rule_.inactiveTransactionsTimeoutSec),
                             std::chrono::seconds(w_.cfg.limits.idleTimeoutSec),
                             w_.cfg.limits.responseHeaderBlockBytes, !framing.keepClientAlive};
    Relay<false> relay(client_.relayMemory(), conn->stream, conn->buffer, parser, client_.stream(),
                       bounds, nullptr);
    const RelayResult r = co_await relay.run();
    if (r.ec && r.readSide) {
        // The backend broke off mid-response. A clean close would let a
        // response without framing pass as complete: the client gets a reset.
        client_.logRequest(&req, status, &rule_, start_, "backend broke off: " + r.ec.message());
        client_.endWithReset();
        client_.backends().abandon(std::move(conn), rule_, r.ec);
        co_return false;
    }
    client_.logRequest(&req, status, &rule_, start_, r.ec ? "client: " + r.ec.message() : "");
    if (r.ec) {
        // The client is gone mid-response; the backend may still be sending.
        client_.backends().abandon(std::move(conn), rule_, {});
        co_return false;
    }
    if (backendKeepAlive && parser.is_done()) {
        client_.backends().release(std::move(conn), rule_, pinned_);
    }
    co_return framing.keepClientAlive;
}

// After 101 the connection carries another protocol for this client alone:
// bytes are copied both ways until either side closes, and the backend
// connection is then closed, never pooled.
Task<bool> ForwardedExchange::tunnel(std::unique_ptr<BackendConnection> conn) {
    auto& req = client_.request().get();
    auto& res = client_.response().get();
    if (!upgrade_) {
        const std::string why = "101 Switching Protocols without an Upgrade request";
        co_return co_await answerBackendFailure(http::status::bad_gateway, why, std::move(conn),
                                                {});
    }
    http::response<http::empty_body> head{res.result(), 11};
    for (const auto& f : res) head.insert(f.name_string(), f.value());
    stripHopByHop(head, true);
    head.set(http::field::connection, "upgrade");
    const auto idle = std::chrono::seconds(rule_.inactiveTransactionsTimeoutSec);
    auto& stream = client_.stream();
    error_code ec;
    stream.expires_after(idle);
    co_await http::async_write(stream, head, withError(ec));
    client_.logRequest(&req, 101, &rule_, start_, ec ? "client: " + ec.message() : "tunnel");
    if (ec) co_return false;
    Timer joined(w_.ioc, Timer::time_point::max());
    int running = 2;
    auto onEnd = [&](std::exception_ptr thrown) {
        LogIfThrown{&w_.log, "tunnel"}(thrown);
        error_code ignored;
        stream.socket().cancel(ignored);
        conn->stream.socket().cancel(ignored);
        if (--running == 0) joined.cancel();
    };
    asio::co_spawn(w_.ioc, pump(stream, client_.input(), conn->stream, idle), onEnd);
    asio::co_spawn(w_.ioc, pump(conn->stream, conn->buffer, stream, idle), onEnd);
    co_await joined.async_wait(withError(ec));
    co_return false;
}

}  // namespace edgelab::proxy
