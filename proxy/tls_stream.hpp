// A TLS connection driven the way nginx drives one, without its spare
// system calls. OpenSSL reads and writes through a BIO of this stream's own:
// writes go to the socket with send(2), unless they are held to go with the
// next ones (holdWrites); reads are taken from the bytes this stream has
// received. Those are received by Asio's
// async_receive, which tries recv(2) at once and otherwise waits for the
// socket's edge-triggered event as registered, with no epoll_ctl: Asio's
// async_wait would re-arm the descriptor (EPOLL_CTL_MOD) on every wait.
// The received bytes sit in a block lent by this thread while OpenSSL has
// not taken them, and so do held writes until they go. OpenSSL's record
// buffers stay while the connection is busy; its owner frees those
// (releaseRecordBuffers) once it has been idle a while, so an idle
// connection holds little more than its SSL object.
//
// It is an Asio AsyncReadStream and AsyncWriteStream, so Beast's HTTP reads
// and writes work on it, and it carries one deadline for the connection:
// setting it stores a time (the timer is armed again only when it fires
// before the deadline), and an operation still waiting when the deadline
// passes ends with beast::error::timeout.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "proxy/executor.hpp"

namespace edgelab::proxy {

class TlsStream {
  public:
    using Clock = std::chrono::steady_clock;
    using Socket = TcpSocket;
    using executor_type = Socket::executor_type;
    enum class Side { Client, Server };

    // What one non-blocking attempt came to: done (with an error or the
    // bytes moved), or the socket state it waits for.
    enum class Want { Nothing, Read, Write };
    struct Step {
        Want want = Want::Nothing;
        boost::system::error_code ec;
        std::size_t bytes = 0;
    };

    // A connected socket (a server's accepted connection) or an unopened one
    // (a client's, connected with async_connect).
    TlsStream(Socket socket, SSL_CTX* ctx);
    TlsStream(boost::asio::io_context& ioc, SSL_CTX* ctx);
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;
    ~TlsStream();

    executor_type get_executor() { return socket_.get_executor(); }
    Socket& socket() { return socket_; }
    SSL* native_handle() { return ssl_; }
    // Frees OpenSSL's two record buffers (about 17 KiB each) unless they
    // hold bytes not yet delivered; OpenSSL allocates them again at the next
    // read or write. Whether they were freed.
    bool releaseRecordBuffers();

    void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
    void expires_at(Clock::time_point when);
    void expires_never() { expires_at(Clock::time_point::max()); }

    // One attempt each, never blocking.
    Step handshakeStep();
    Step readStep(boost::asio::mutable_buffer into);
    Step writeStep(boost::asio::const_buffer from, bool fromScratch);
    Step shutdownStep();
    // Sends close_notify without waiting for the peer's. With `closeNext`
    // (the socket is closed right after) the last bytes are sent with
    // MSG_MORE: the kernel keeps them for the FIN that close(2) adds, and
    // they go out together, one segment instead of two.
    Step closeNotifyStep(bool closeNext = false);
    // Whether the peer has sent bytes nobody has read yet (received by the
    // stream, in OpenSSL's buffer, or still in the socket's).
    bool hasUnreadBytes();

    // Held writes: what OpenSSL writes from now on is kept (up to a small
    // block's worth) instead of sent, and goes out in one send(2) with what
    // is written next, or at the first flush point: a wait of this stream
    // for the peer (or for room), a close_notify, flush(). So a response and
    // the close_notify after it are one send and one TCP segment, not two.
    // A TLS 1.3 server's handshake ends with its writes held: its session
    // tickets go out with the first answer.
    void holdWrites() { out_.holding = true; }
    // Sends what is held; false when the socket took only part of it (the
    // rest goes once it has room: wait for Want::Write). A peer that is gone
    // takes nothing, and its next read or write says so.
    bool flush(int sendFlags = 0);
    std::size_t heldBytes() const { return out_.size; }

    // Waits until OpenSSL can go on as `want` says (or the deadline passes):
    // for Read, until bytes from the peer (or its close) have been received;
    // for Write, until the socket takes more.
    template <class Token>
    auto async_wait(Want want, Token&& token);

    template <class Token>
    auto async_connect(const boost::asio::ip::tcp::endpoint& to, Token&& token);
    template <class Token>
    auto async_handshake(Side side, Token&& token);
    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token);
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token);
    // Sends close_notify and waits for the peer's (or its close).
    template <class Token>
    auto async_shutdown(Token&& token);

    // Writes all of `bytes`: SSL_write called directly, the coroutine
    // suspended only while the socket is full. No composed operation and no
    // posted completion, which is what a write that completes at once costs
    // through async_write_some. A record that must wait is copied first, so
    // `bytes` may be this thread's record scratch when it is at most one
    // record long; longer bytes must stay valid until the write is done.
    Task<void> writeAll(boost::asio::const_buffer bytes, boost::system::error_code& ec);
    // writeAll's part that needs no wait: writes what the socket takes now,
    // advancing `bytes`; Want::Nothing when all is written (or `ec` is set),
    // else what to wait for before writeAll(bytes) goes on. A caller that
    // gets Nothing has spent no coroutine frame on the write.
    Want writeNow(boost::asio::const_buffer& bytes, boost::system::error_code& ec);
    // One SSL_read now, the deadline checked first.
    Step readNow(boost::asio::mutable_buffer into) {
        return expired() ? Step{Want::Nothing, boost::beast::error::timeout, 0} : readStep(into);
    }
    // Reads what has arrived into `into` (at least a byte), the same way:
    // SSL_read directly, suspended only while nothing is there.
    // With `waitFirst` (bytes are not expected yet: an answer to what was
    // just sent) it receives before the first SSL_read, which would
    // otherwise only find that nothing has been received.
    Task<std::size_t> readSome(boost::asio::mutable_buffer into, boost::system::error_code& ec,
                               bool waitFirst = false);
    // Whether bytes already received wait for OpenSSL, or inside it: then a
    // wait for the peer could wait for what has arrived.
    bool hasBufferedInput() const { return in_.end > in_.begin || SSL_has_pending(ssl_) == 1; }

    // Starts a receive that waits in the background, as a pooled
    // connection's watch for its peer: what it brings (bytes, the peer's
    // close, an error) goes to the input as any receive's, and the next wait
    // for Read joins it instead of starting another. A connection kept idle
    // this way is known to be alive without a peek, and its next response
    // is waited for without a second receive.
    void receiveAhead();
    bool receivingAhead() const { return ahead_ && ahead_->pending; }
    // Whether the peer's close (or a reset) has been received.
    bool peerEnded() const { return in_.eof || in_.error != 0; }

    // Several small buffers (a header and a body piece) go out as one TLS
    // record: gathered here, at most one record's worth.
    template <class ConstBuffers>
    boost::asio::const_buffer gather(const ConstBuffers& buffers, bool& fromScratch);

    // Frees the deadline's timer (a later expires_* makes a new one), for
    // an owner that keeps the deadline itself while the connection is idle.
    void clearDeadline();
    bool expired() const;
    boost::system::error_code afterWait(const boost::system::error_code& ec) const;

  private:
    struct Watch;
    template <class Attempt, bool withBytes>
    struct Operation;
    struct ConnectOperation;
    // Bytes received from the socket that OpenSSL has not taken, in a block
    // lent by this thread's pool while there are any (or a receive is on).
    struct Input {
        char* block = nullptr;
        std::size_t begin = 0;
        std::size_t end = 0;
        bool receiving = false;
        bool large = false;       // the block is a large one
        bool filledLast = false;  // the last receive filled its block
        bool eof = false;         // the peer's FIN: OpenSSL reads the end of the stream
        int error = 0;            // errno of a failed receive, reported to OpenSSL the same way
    };
    // Bytes OpenSSL has written that wait for the next ones (holdWrites),
    // in a block lent by this thread while there are any.
    struct Output {
        char* block = nullptr;
        std::size_t size = 0;
        bool holding = false;
    };
    class Bio;
    // A receive started by receiveAhead, shared with its handler (which may
    // run after the stream is gone), and the operation that joined it.
    struct Joined {
        virtual ~Joined() = default;
        virtual void complete(const boost::system::error_code& ec) = 0;
    };
    template <class Handler>
    struct JoinedHandler final : Joined {
        explicit JoinedHandler(Handler&& h) : handler(std::move(h)) {}
        void complete(const boost::system::error_code& ec) override { handler(ec); }
        Handler handler;
    };
    struct Ahead {
        TlsStream* stream = nullptr;  // null once the stream is gone
        bool pending = false;
        std::unique_ptr<Joined> joined;  // completed with the receive's outcome
    };

    void attachSocket();
    static void arm(const std::shared_ptr<Watch>& w);
    Step classify(int ret);
    Step flushed(Step step, int sendFlags = 0);
    // Starts the wait for `want`: a receive into the input block for Read, a
    // wait for the socket to take more for Write.
    template <class Handler>
    void startWait(Want want, Handler&& handler);
    boost::asio::mutable_buffer receiveSpace();
    // Takes a receive's outcome into the input; what the waiting operation
    // is to see (only a cancelled receive is an error to it: the peer's
    // close or a reset is read by OpenSSL from the input).
    boost::system::error_code received(const boost::system::error_code& ec, std::size_t n);
    void returnBlockIfEmpty();
    // Keeps `bytes` with those held; false when they do not fit (then
    // nothing more is held: they go out after the held ones).
    bool hold(const char* bytes, std::size_t n);
    // send(2) of the held bytes and then `bytes`, in one call: how many of
    // `bytes` went out, or -1 with errno (EAGAIN while held bytes remain).
    long sendAfterHeld(const char* bytes, std::size_t n, int sendFlags = 0);
    void dropHeld(std::size_t n);

    Socket socket_;
    SSL* ssl_ = nullptr;
    std::shared_ptr<Watch> watch_;  // created by the first deadline
    std::string retry_;             // a gathered record OpenSSL must be given again
    Input in_;
    Output out_;
    std::shared_ptr<Ahead> ahead_;  // made by the first receiveAhead
};

// The most one TLS record carries (RFC 8446 5.1).
inline constexpr std::size_t kTlsRecordPlaintext = 16384;
// This thread's kTlsRecordPlaintext bytes, for a copy made and used up within
// one call (never across a wait).
char* tlsRecordScratch();

template <class ConstBuffers>
boost::asio::const_buffer TlsStream::gather(const ConstBuffers& buffers, bool& fromScratch) {
    fromScratch = false;
    if (!retry_.empty()) return boost::asio::buffer(retry_);
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const boost::asio::const_buffer first(*it);
    if (first.size() >= kTlsRecordPlaintext || std::next(it) == end) return first;
    char* scratch = tlsRecordScratch();
    std::size_t n = 0;
    for (; it != end && n < kTlsRecordPlaintext; ++it) {
        const boost::asio::const_buffer b(*it);
        const std::size_t take = std::min(b.size(), kTlsRecordPlaintext - n);
        std::memcpy(scratch + n, b.data(), take);
        n += take;
    }
    fromScratch = true;
    return {scratch, n};
}

// One operation: attempts until done, waiting on the socket in between. A
// result at the first attempt is posted, never delivered inside the
// initiating call.
template <class Attempt, bool withBytes>
struct TlsStream::Operation {
    TlsStream& stream;
    Attempt attempt;
    enum { Starting, Waiting, Posted } state = Starting;
    Step result{};

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
        if (state == Posted) return finish(self, result);
        if (state == Waiting && ec) return finish(self, {Want::Nothing, stream.afterWait(ec), 0});
        Step step = stream.expired() ? Step{Want::Nothing, boost::beast::error::timeout, 0}
                                     : attempt(stream);
        if (step.want == Want::Nothing) {
            if (state == Waiting) return finish(self, step);
            state = Posted;
            result = step;
            return boost::asio::post(stream.get_executor(), std::move(self));
        }
        state = Waiting;
        stream.startWait(step.want, std::move(self));
    }
    // A receive for the attempt: its bytes go to the input first.
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec, std::size_t n) {
        (*this)(self, stream.received(ec, n));
    }

    template <class Self>
    static void finish(Self& self, const Step& s) {
        if constexpr (withBytes) {
            self.complete(s.ec, s.bytes);
        } else {
            self.complete(s.ec);
        }
    }
};

struct TlsStream::ConnectOperation {
    TlsStream& stream;
    boost::asio::ip::tcp::endpoint to;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
        if (!started) {
            started = true;
            return stream.socket_.async_connect(to, std::move(self));
        }
        if (ec) return self.complete(stream.afterWait(ec));
        stream.attachSocket();
        self.complete(ec);
    }
};

template <class Handler>
void TlsStream::startWait(Want want, Handler&& handler) {
    // What is held goes out before any wait: the peer may wait for it.
    if (!flush() || want == Want::Write) {
        socket_.async_wait(Socket::wait_write, std::forward<Handler>(handler));
        return;
    }
    if (receivingAhead()) {
        using H = std::decay_t<Handler>;
        ahead_->joined = std::make_unique<JoinedHandler<H>>(H(std::forward<Handler>(handler)));
        return;
    }
    socket_.async_receive(receiveSpace(), std::forward<Handler>(handler));
}

template <class Token>
auto TlsStream::async_wait(Want want, Token&& token) {
    auto attempt = [want, waited = false](TlsStream&) mutable {
        // The first attempt asks for the wait, the second reports it done.
        if (waited) return Step{};
        waited = true;
        return Step{want, {}, 0};
    };
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        Operation<decltype(attempt), false>{*this, std::move(attempt)}, token, socket_);
}

template <class Token>
auto TlsStream::async_connect(const boost::asio::ip::tcp::endpoint& to, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        ConnectOperation{*this, to}, token, socket_);
}

template <class Token>
auto TlsStream::async_handshake(Side side, Token&& token) {
    if (side == Side::Server) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
    }
    auto attempt = [](TlsStream& s) { return s.handshakeStep(); };
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        Operation<decltype(attempt), false>{*this, attempt}, token, socket_);
}

template <class MutableBuffers, class Token>
auto TlsStream::async_read_some(const MutableBuffers& buffers, Token&& token) {
    auto attempt = [buffers](TlsStream& s) {
        auto it = boost::asio::buffer_sequence_begin(buffers);
        const auto end = boost::asio::buffer_sequence_end(buffers);
        while (it != end && boost::asio::mutable_buffer(*it).size() == 0) ++it;
        if (it == end) return Step{};
        return s.readStep(boost::asio::mutable_buffer(*it));
    };
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        Operation<decltype(attempt), true>{*this, std::move(attempt)}, token, socket_);
}

template <class ConstBuffers, class Token>
auto TlsStream::async_write_some(const ConstBuffers& buffers, Token&& token) {
    auto attempt = [buffers](TlsStream& s) {
        bool fromScratch = false;
        const auto piece = s.gather(buffers, fromScratch);
        if (piece.size() == 0) return Step{};
        return s.writeStep(piece, fromScratch);
    };
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        Operation<decltype(attempt), true>{*this, std::move(attempt)}, token, socket_);
}

template <class Token>
auto TlsStream::async_shutdown(Token&& token) {
    auto attempt = [](TlsStream& s) { return s.shutdownStep(); };
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        Operation<decltype(attempt), false>{*this, attempt}, token, socket_);
}

}  // namespace edgelab::proxy
