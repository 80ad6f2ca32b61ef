// ClientSession's forwarding half: one request to the application's backend
// (pooled, pinned or new connection; one retry when RFC 9110 9.2.2 allows
// it), the response relayed back, a switched protocol tunnelled.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/markup.hpp"
#include "proxy/local_reply.hpp"
#include "proxy/message_bytes.hpp"
#include "proxy/session.hpp"
#include "proxy/spawned.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using beast::error_code;

// A body retried on a new connection must still be at hand; beyond this it
// is streamed without a copy and a failure is a 502.
constexpr std::size_t kReplayLimit = 64 * 1024;

// Feeds `p` what has arrived in `buffer` and reads more from `in` while it
// needs more: until the header is done (`headerOnly`), else until any body
// bytes or the end of the message. What Beast's async_read_header and
// async_read_some do, as plain calls: a read that has its bytes at once
// costs no composed operation and no posted completion.
// In a chunked body, what the parser leaves unconsumed is held to
// `pendingLimit` and to CRLF line ends (pendingChunkProblem).
template <bool isRequest>
Task<void> readMessage(TlsStream& in, beast::flat_buffer& buffer,
                       http::parser<isRequest, http::buffer_body>& p, bool headerOnly,
                       std::size_t pendingLimit, error_code& ec) {
    for (;;) {
        if (buffer.size() > 0) {
            buffer.consume(p.put(buffer.data(), ec));
            if (ec != http::error::need_more && (ec || !headerOnly || p.is_header_done()))
                co_return;
            ec = {};
            if (!headerOnly && p.chunked()) {
                const auto pending = buffer.data();
                ec = pendingChunkProblem({static_cast<const char*>(pending.data()), pending.size()},
                                         pendingLimit);
                if (ec) co_return;
            }
        }
        if (p.is_done() || (headerOnly && p.is_header_done())) co_return;
        // As Beast sizes a read: the room there is, at least 512 bytes, at most 64 KiB.
        const std::size_t room =
            std::min<std::size_t>({std::max<std::size_t>(512, buffer.capacity() - buffer.size()),
                                   buffer.max_size() - buffer.size(), 65536});
        if (room == 0) {
            ec = http::error::buffer_overflow;
            co_return;
        }
        // A response head not begun is not there yet: the request was just sent.
        const bool waitFirst = headerOnly && buffer.size() == 0 && !p.got_some();
        const auto into = buffer.prepare(room);
        auto step = waitFirst ? TlsStream::Step{TlsStream::Want::Read, {}, 0} : in.readNow(into);
        if (step.want != TlsStream::Want::Nothing) {
            step.bytes = co_await in.readSome(into, ec, step.want == TlsStream::Want::Read);
        } else {
            ec = step.ec;
        }
        const std::size_t n = step.bytes;
        if (ec == asio::error::eof) {
            // A body delimited by the close ends here; a message not begun is a close.
            if (p.got_some()) {
                ec = {};
                p.put_eof(ec);
            } else {
                ec = http::error::end_of_stream;
            }
            co_return;
        }
        if (ec) co_return;
        buffer.commit(n);
    }
}

}  // namespace

// Relays one message from `in` (whose header `p` has read) to `out`, a
// piece at a time: nothing is held whole. With `replay` (a request), the
// body bytes sent on an earlier attempt go first, and the bytes read now are
// kept while they fit, for a retry.
template <bool isRequest, class In, class Out>
Task<ClientSession::RelayResult> ClientSession::relayMessage(
    In& in, beast::flat_buffer& inBuffer, http::parser<isRequest, http::buffer_body>& p, Out& out,
    std::chrono::seconds readTimeout, std::chrono::seconds writeTimeout, Exchange* replay) {
    RelayResult r;
    const bool chunked = p.chunked();  // the parser's, and the header says the same
    relayBytes_.clear();
    appendHeader(relayBytes_, p.get().base());
    // The header goes out alone only when no body is at hand yet (a held
    // response, a client waiting for 100 Continue); otherwise it shares one
    // TLS record and one write with the first piece.
    if (!p.is_done() && inBuffer.size() == 0 && (!replay || replay->replay.empty())) {
        out.expires_after(writeTimeout);
        co_await writePiece(out, BodyPiece{}, chunked, r.ec);
        if (r.ec) co_return r;
    }
    // Replayed: the bytes sent on the earlier attempt; the replay copy grows
    // as this attempt reads on.
    Replayed replayed{replay ? replay->replay.size() : 0, 0};
    for (bool last = false; !last;) {
        const BodyPiece piece =
            co_await nextPiece(in, inBuffer, p, readTimeout, replay, replayed, r);
        if (r.ec) co_return r;
        last = piece.last;
        out.expires_after(writeTimeout);
        co_await writePiece(out, piece, chunked, r.ec);
        if (r.ec) co_return r;
    }
    co_return r;
}

// Replayed bytes first, then what `in` brings (an empty piece while only
// framing arrives is read past), then the end of the message.
template <bool isRequest, class In>
Task<ClientSession::BodyPiece> ClientSession::nextPiece(
    In& in, beast::flat_buffer& inBuffer, http::parser<isRequest, http::buffer_body>& p,
    std::chrono::seconds readTimeout, Exchange* replay, Replayed& replayed, RelayResult& r) {
    if (replayed.sent < replayed.total) {
        const std::size_t n = std::min(relayBuffer_.size(), replayed.total - replayed.sent);
        const std::string_view bytes(replay->replay.data() + replayed.sent, n);
        replayed.sent += n;
        co_return BodyPiece{bytes, replayed.sent == replayed.total && p.is_done()};
    }
    auto& body = p.get().body();
    while (!p.is_done()) {
        body.data = relayBuffer_.data();
        body.size = relayBuffer_.size();
        // Beast reads only what the dynamic buffer has room for (at least
        // 512 bytes); after a header that is a few hundred bytes, so a
        // 64 KiB body came through in ~1 KiB pieces, each its own TLS record
        // and write. Room for a whole piece makes the reads (and so the
        // records written) as large as the relay buffer.
        if (inBuffer.capacity() - inBuffer.size() < relayBuffer_.size())
            inBuffer.reserve(inBuffer.size() + relayBuffer_.size());
        in.expires_after(readTimeout);
        const auto& limits = w_.cfg.limits;
        co_await readMessage(in, inBuffer, p, false,
                             isRequest ? limits.headerBlockBytes : limits.responseHeaderBlockBytes,
                             r.ec);
        if (r.ec == http::error::need_buffer) r.ec = {};
        if (r.ec) {
            r.readSide = true;
            co_return BodyPiece{};
        }
        const std::size_t got = relayBuffer_.size() - body.size;
        if (got == 0) continue;
        if (replay && replay->replayComplete) {
            if (replay->replay.size() + got <= kReplayLimit) {
                replay->replay.append(relayBuffer_.data(), got);
            } else {
                replay->replayComplete = false;
            }
        }
        co_return BodyPiece{{relayBuffer_.data(), got}, p.is_done()};
    }
    co_return BodyPiece{{}, true};
}

// What relayBytes_ holds (a header not yet written), the piece and its chunk
// framing: one write when together they fit in a record, else the piece is
// written from where it lies, without a copy. A write the socket takes at
// once starts no coroutine (writeNow); only one that must wait does.
Task<void> ClientSession::writePiece(TlsStream& out, const BodyPiece& piece, bool chunked,
                                     error_code& ec) {
    const ChunkFraming framing =
        chunked ? chunkFraming(piece.bytes.size(), piece.last) : ChunkFraming{};
    // The end of the connection's last answer waits for the close_notify
    // that follows it at once, to go out in one send with it.
    if (piece.last && closingAnswer_) out.holdWrites();
    relayBytes_ += framing.opening;
    std::string_view parts[] = {relayBytes_, piece.bytes, framing.closing};
    if (relayBytes_.size() + piece.bytes.size() + framing.closing.size() <= kTlsRecordPlaintext) {
        relayBytes_ += piece.bytes;
        relayBytes_ += framing.closing;
        parts[0] = relayBytes_;
        parts[1] = parts[2] = {};
    }
    for (const std::string_view part : parts) {
        asio::const_buffer b = asio::buffer(part.data(), part.size());
        if (!ec && out.writeNow(b, ec) != TlsStream::Want::Nothing) co_await out.writeAll(b, ec);
    }
    relayBytes_.clear();
}

std::size_t ClientSession::ruleIndex(const PublishingRule& rule) const {
    return static_cast<std::size_t>(&rule - w_.cfg.applications.data());
}

ClientSession::Exchange ClientSession::prepareExchange(const PublishingRule& rule,
                                                       Clock::time_point start) {
    auto& req = request_->get();
    Exchange ex;
    ex.rule = &rule;
    ex.start = start;
    ex.version = req.version();
    ex.clientKeepAlive = request_->keep_alive();
    ex.upgrade = upgradeRequested(req);
    ex.idempotent = isIdempotent(req.method());
    const bool chunked = request_->chunked();
    const bool hasBody = chunked || (request_->content_length() && *request_->content_length());
    // The proxy answers 100 Continue itself when it starts reading the body
    // (RFC 9110 10.1.1); the backend then gets the body without waiting.
    ex.expectContinue =
        hasBody && req.version() == 11 && beast::iequals(req[http::field::expect], "100-continue");
    translateRequestHeaders(req, rule, clientAddress_);
    stripHopByHop(req, ex.upgrade);
    req.erase(http::field::expect);
    if (chunked) req.chunked(true);
    if (ex.upgrade) {
        req.set(http::field::connection, "upgrade");
    } else {
        // Toward the backend, whatever the client asked; HTTP/1.1 needs no field for it.
        if (req.version() != 11) req.keep_alive(true);
    }
    return ex;
}

Task<bool> ClientSession::forward(const PublishingRule& rule, Clock::time_point start) {
    auto& req = request_->get();
    const std::uint64_t limit = rule.requestBodyLimitBytes ? rule.requestBodyLimitBytes
                                                           : w_.cfg.limits.requestBodyLimitBytes;
    if (request_->content_length() && *request_->content_length() > limit) {
        const RequestRefusal refusal{http::status::payload_too_large, "body over the limit"};
        co_return co_await refuse(refusal, start);
    }
    request_->body_limit(limit);
    const auto expect = req[http::field::expect];
    if (!expect.empty() && !beast::iequals(expect, "100-continue")) {
        const RequestRefusal refusal{http::status::expectation_failed, "unknown expectation"};
        co_return co_await refuse(refusal, start);
    }
    Exchange ex = prepareExchange(rule, start);
    std::unique_ptr<BackendConnection> conn;
    for (int attemptNo = 0;; ++attemptNo) {
        bool reused = false;
        BackendFailure unavailable;
        conn = co_await acquireBackend(ex, attemptNo == 0, reused, unavailable);
        if (!conn) co_return co_await answerBackendFailure(unavailable.status, unavailable.why, ex);
        const Attempt a = co_await attempt(*conn, ex);
        if (!a.ec) break;
        if (a.clientFault) co_return co_await answerClientFault(a, ex);
        const FailedExchange failure{reused,
                                     a.ec == beast::error::timeout,
                                     a.responseStarted || ex.interimSent,
                                     a.writeFailed,
                                     ex.idempotent,
                                     ex.replayComplete};
        const auto next = afterFailure(failure);
        if (next == AfterFailure::RetryOnNewConnection && attemptNo == 0) continue;
        if (next == AfterFailure::GatewayTimeout) {
            const std::string why = "timeout";
            co_return co_await answerBackendFailure(http::status::gateway_timeout, why, ex);
        }
        const std::string why =
            std::string(a.writeFailed ? "sending the request: " : "reading the response header: ") +
            a.ec.message();
        co_return co_await answerBackendFailure(http::status::bad_gateway, why, ex);
    }
    if (response_->get().result() == http::status::switching_protocols) {
        co_return co_await tunnel(conn, ex);
    }
    co_return co_await deliverResponse(conn, ex);
}

// The first attempt takes this client's pinned connection or a pooled one;
// a retry always connects anew, never taking another pooled connection that
// has sat idle as long as the one that failed.
Task<std::unique_ptr<BackendConnection>> ClientSession::acquireBackend(Exchange& ex,
                                                                       bool firstAttempt,
                                                                       bool& reused,
                                                                       BackendFailure& failure) {
    const std::size_t index = ruleIndex(*ex.rule);
    if (pinned_ && pinnedRule_ == index) {
        ex.pinned = true;
        auto conn = std::move(pinned_);
        // A pinned connection the backend closed has lost its authentication;
        // the client's next handshake starts on a new one.
        if (firstAttempt && showsNoCloseFromBackend(*conn)) {
            reused = true;
            co_return conn;
        }
    }
    if (firstAttempt) {
        if (auto conn = w_.pools[index].take(Clock::now())) {
            reused = true;
            co_return conn;
        }
    }
    co_return co_await connectBackend(*ex.rule, failure);
}

Task<std::unique_ptr<BackendConnection>> ClientSession::connectBackend(const PublishingRule& rule,
                                                                       BackendFailure& failure) {
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
    conn->stream.expires_after(std::chrono::seconds(w_.cfg.limits.backendConnectTimeoutSec));
    error_code ec;
    const auto& endpoint = w_.backendEndpoints[ruleIndex(rule)];
    co_await conn->stream.async_connect(endpoint, withError(ec));
    // A backend that does not answer in time is a gateway timeout (RFC 9110
    // 15.6.5), as nginx answers a connect or handshake that times out.
    if (ec == beast::error::timeout) failure.status = http::status::gateway_timeout;
    if (ec) {
        failure.why = "connect to " + endpoint.address().to_string() + ":" +
                      std::to_string(endpoint.port()) + ": " + ec.message();
        co_return nullptr;
    }
    conn->stream.socket().set_option(tcp::no_delay(true), ec);
    co_await conn->stream.async_handshake(TlsStream::Side::Client, withError(ec));
    if (ec == beast::error::timeout) failure.status = http::status::gateway_timeout;
    if (ec) {
        const long verify = SSL_get_verify_result(ssl);
        failure.why = "TLS to " + host + ": " +
                      (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify))
                                           : ec.message());
        co_return nullptr;
    }
    co_return conn;
}

Task<ClientSession::Attempt> ClientSession::attempt(BackendConnection& conn, Exchange& ex) {
    const auto idle = std::chrono::seconds(w_.cfg.limits.idleTimeoutSec);
    const auto inactive = std::chrono::seconds(ex.rule->inactiveTransactionsTimeoutSec);
    Attempt a;
    if (ex.expectContinue && buffer_.size() == 0) {
        ex.expectContinue = false;
        static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(idle);
        co_await asio::async_write(stream_, asio::buffer(kContinue), withError(a.ec));
        if (a.ec) {
            a.clientFault = true;
            co_return a;
        }
    }
    const RelayResult sent =
        co_await relayMessage(stream_, buffer_, *request_, conn.stream, idle, inactive, &ex);
    if (sent.ec) {
        a.ec = sent.ec;
        a.clientFault = sent.readSide;
        a.writeFailed = !sent.readSide;
        co_return a;
    }
    co_return co_await readResponseHead(conn, ex);
}

void ClientSession::configureResponseParser(const Exchange& ex) {
    response_.emplace();
    response_->header_limit(static_cast<std::uint32_t>(w_.cfg.limits.responseHeaderBlockBytes));
    // No limit: boost::none is taken as 0 by Boost 1.74.
    response_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request_->get().method() == http::verb::head) response_->skip(true);
    (void)ex;
}

// 1xx interim answers other than 101 go to the client as they come, each
// read with the same limits as the final header.
Task<ClientSession::Attempt> ClientSession::readResponseHead(BackendConnection& conn,
                                                             Exchange& ex) {
    const auto inactive = std::chrono::seconds(ex.rule->inactiveTransactionsTimeoutSec);
    Attempt a;
    for (;;) {
        configureResponseParser(ex);
        conn.stream.expires_after(inactive);
        co_await readMessage(conn.stream, conn.buffer, *response_, true,
                             w_.cfg.limits.responseHeaderBlockBytes, a.ec);
        if (a.ec) {
            a.responseStarted = response_->got_some() || conn.buffer.size() > 0;
            co_return a;
        }
        auto& res = response_->get();
        if (res.result_int() / 100 != 1 || res.result() == http::status::switching_protocols) {
            co_return a;
        }
        // result_int: result() maps a code Beast has no name for (103) to 0.
        http::response<http::empty_body> interim;
        interim.version(11);
        interim.result(res.result_int());
        for (const auto& f : res) interim.insert(f.name_string(), f.value());
        stripHopByHop(interim, false);
        ex.interimSent = true;
        stream_.expires_after(std::chrono::seconds(w_.cfg.limits.idleTimeoutSec));
        error_code ec;
        co_await http::async_write(stream_, interim, withError(ec));
        if (ec) {
            a.ec = ec;
            a.clientFault = true;
            co_return a;
        }
    }
}

Task<bool> ClientSession::answerClientFault(const Attempt& a, Exchange& ex) {
    auto& req = request_->get();
    // The client's body is what broke: its error (400, 413), not the
    // backend's. A client that went away or stalled gets nothing more.
    if (a.ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
        const bool tooLarge = a.ec == http::error::body_limit;
        const auto status = tooLarge ? http::status::payload_too_large : http::status::bad_request;
        const RequestRefusal refusal{
            status, (tooLarge ? "body over the limit: " : "bad body: ") + a.ec.message()};
        co_return co_await refuse(refusal, ex.start);
    }
    if (a.ec == beast::error::timeout) {
        // The connection ends without a word: the log line is what remains.
        logRequest(&req, 408, ex.rule, ex.start, "body timeout");
        co_return false;
    }
    logRequest(&req, 499, ex.rule, ex.start, "client: " + a.ec.message());
    co_return false;
}

Task<bool> ClientSession::answerBackendFailure(http::status status, const std::string& why,
                                               Exchange& ex) {
    const unsigned code = static_cast<unsigned>(status);
    logRequest(&request_->get(), static_cast<int>(code), ex.rule, ex.start, why);
    local_ = localReply(status, backendFailurePage(*ex.rule, status, why), ex.version, false);
    // The request's body may be partly unread: the connection ends, and
    // lingers while the client may still be sending it.
    lingerOnClose_ = !request_->is_done();
    co_await writeLocal();
    co_return false;
}

}  // namespace edgelab::proxy

namespace edgelab::proxy {

namespace {

// Copies bytes one way until either side ends; `pending` (bytes read past
// the 101 or the upgrade request) goes first.
template <class In, class Out>
Task<void> pump(In& in, beast::flat_buffer& pending, Out& out, std::chrono::seconds idle) {
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

Task<bool> ClientSession::deliverResponse(std::unique_ptr<BackendConnection>& conn, Exchange& ex) {
    auto& req = request_->get();
    auto& res = response_->get();
    const int status = res.result_int();
    const bool pin = w_.cfg.connectionAffinity && (ex.pinned || pinsBackendConnection(req, res));
    ex.pinned = pin;
    if (!ex.rule->disableTranslateUrlInResponseHeaders) {
        translateResponseHeaders(res, *ex.rule, w_.cfg.applications);
    }
    const bool backendKeepAlive = response_->keep_alive();
    const auto framing = decideResponseFraming(
        {ex.version, ex.clientKeepAlive, request_->is_done(), response_->chunked(),
         response_->content_length().has_value(), req.method() == http::verb::head, status});
    stripHopByHop(res, false);
    if (response_->chunked()) res.chunked(true);
    res.version(framing.version);
    // HTTP/1.1 is persistent without a Connection field (stripped above).
    if (framing.version != 11 || !framing.keepClientAlive) res.keep_alive(framing.keepClientAlive);
    closingAnswer_ = !framing.keepClientAlive;
    const RelayResult r =
        co_await relayMessage(conn->stream, conn->buffer, *response_, stream_,
                              std::chrono::seconds(ex.rule->inactiveTransactionsTimeoutSec),
                              std::chrono::seconds(w_.cfg.limits.idleTimeoutSec), nullptr);
    closingAnswer_ = false;
    if (r.ec && r.readSide) {
        // The backend broke off mid-response. A clean close would let a
        // response without framing pass as complete: the client gets a reset.
        logRequest(&req, status, ex.rule, ex.start, "backend broke off: " + r.ec.message());
        resetClient_ = true;
        co_return false;
    }
    logRequest(&req, status, ex.rule, ex.start, r.ec ? "client: " + r.ec.message() : "");
    if (r.ec) co_return false;
    releaseBackend(std::move(conn), ex, backendKeepAlive && response_->is_done());
    co_return framing.keepClientAlive;
}

void ClientSession::releaseBackend(std::unique_ptr<BackendConnection> conn, const Exchange& ex,
                                   bool reusable) {
    if (!reusable) return;
    // A connection NTLM or Negotiate has authenticated carries this client's
    // identity: it stays with this client and is closed with it, never pooled.
    if (ex.pinned) {
        pinned_ = std::move(conn);
        pinnedRule_ = ruleIndex(*ex.rule);
        return;
    }
    w_.pools[ruleIndex(*ex.rule)].put(std::move(conn), Clock::now());
}

// After 101 the connection carries another protocol for this client alone:
// bytes are copied both ways until either side closes, and the backend
// connection is then closed, never pooled.
Task<bool> ClientSession::tunnel(std::unique_ptr<BackendConnection>& conn, Exchange& ex) {
    auto& req = request_->get();
    auto& res = response_->get();
    if (!ex.upgrade) {
        const std::string why = "101 Switching Protocols without an Upgrade request";
        co_return co_await answerBackendFailure(http::status::bad_gateway, why, ex);
    }
    http::response<http::empty_body> head{res.result(), 11};
    for (const auto& f : res) head.insert(f.name_string(), f.value());
    stripHopByHop(head, true);
    head.set(http::field::connection, "upgrade");
    const auto idle = std::chrono::seconds(ex.rule->inactiveTransactionsTimeoutSec);
    error_code ec;
    stream_.expires_after(idle);
    co_await http::async_write(stream_, head, withError(ec));
    logRequest(&req, 101, ex.rule, ex.start, ec ? "client: " + ec.message() : "tunnel");
    if (ec) co_return false;
    Timer joined(w_.ioc, Timer::time_point::max());
    int running = 2;
    auto onEnd = [&](std::exception_ptr thrown) {
        LogIfThrown{&w_.log, "tunnel"}(thrown);
        error_code ignored;
        stream_.socket().cancel(ignored);
        conn->stream.socket().cancel(ignored);
        if (--running == 0) joined.cancel();
    };
    asio::co_spawn(w_.ioc, pump(stream_, buffer_, conn->stream, idle), onEnd);
    asio::co_spawn(w_.ioc, pump(conn->stream, conn->buffer, stream_, idle), onEnd);
    co_await joined.async_wait(withError(ec));
    co_return false;
}

}  // namespace edgelab::proxy
