#include "proxy/tls_stream.hpp"

#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <new>
#include <vector>

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// The blocks this thread lends its streams, for received bytes and for held
// writes: a stream holds one only while it has received bytes OpenSSL has
// not taken (or a receive is on), or held bytes to send, so a busy thread
// keeps a few, and an idle connection none. A receive takes a
// small block unless the stream's last one filled its block (a body on its
// way): a connection waiting for its next request holds 4 KiB, a response
// of many records comes in 32 KiB at a time.
class LentBlocks {
  public:
    explicit LentBlocks(std::size_t size) : size_(size) {}
    std::size_t size() const { return size_; }
    char* take() {
        if (spare_.empty()) return std::make_unique_for_overwrite<char[]>(size_).release();
        char* block = spare_.back().release();
        spare_.pop_back();
        return block;
    }
    void give(char* block) {
        std::unique_ptr<char[]> owned(block);
        if (spare_.size() < kKept) spare_.push_back(std::move(owned));
    }

  private:
    static constexpr std::size_t kKept = 64;
    std::size_t size_;
    std::vector<std::unique_ptr<char[]>> spare_;
};
thread_local LentBlocks smallBlocks(4 * 1024);
thread_local LentBlocks largeBlocks(32 * 1024);
LentBlocks& blocksFor(bool large) { return large ? largeBlocks : smallBlocks; }

// SSL_get_error needs an empty error queue before each operation. Emptying
// an empty queue walks all its slots; looking at the top first is cheaper,
// and the queue is empty on all but an error's path.
void startClean() {
    if (ERR_peek_error() != 0) ERR_clear_error();
    errno = 0;
}

error_code sslError(unsigned long e) {
    return {static_cast<int>(e), asio::error::get_ssl_category()};
}

}  // namespace

char* tlsRecordScratch() {
    thread_local std::array<char, kTlsRecordPlaintext> scratch;
    return scratch.data();
}

struct TlsStream::Watch {
    explicit Watch(const executor_type& ex) : timer(ex) {}
    Timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point armedFor = Clock::time_point::max();  // max: no wait pending
    bool expired = false;
    Socket* socket = nullptr;  // null once the stream is gone
};

// How the stream sends: MSG_NOSIGNAL (a reset peer is EPIPE, not SIGPIPE),
// MSG_DONTWAIT (a full socket is a retry).
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;

// OpenSSL's view of the stream: reads take received bytes, writes are held
// (holdWrites) or sent, after what is held, with send(2).
class TlsStream::Bio {
  public:
    static BIO* make(TlsStream& stream) {
        BIO* bio = BIO_new(method());
        BIO_set_data(bio, &stream);
        BIO_set_init(bio, 1);
        return bio;
    }

  private:
    static TlsStream& of(BIO* bio) { return *static_cast<TlsStream*>(BIO_get_data(bio)); }

    static int read(BIO* bio, char* out, int size) {
        BIO_clear_retry_flags(bio);
        Input& in = of(bio).in_;
        if (in.end == in.begin) {
            if (in.error) {
                errno = in.error;
                return -1;
            }
            if (in.eof) return 0;
            BIO_set_retry_read(bio);
            return -1;
        }
        const std::size_t n = std::min(in.end - in.begin, static_cast<std::size_t>(size));
        std::memcpy(out, in.block + in.begin, n);
        in.begin += n;
        of(bio).returnBlockIfEmpty();
        return static_cast<int>(n);
    }

    static int write(BIO* bio, const char* data, int size) {
        BIO_clear_retry_flags(bio);
        TlsStream& s = of(bio);
        const auto n = static_cast<std::size_t>(size);
        if (s.out_.holding && s.hold(data, n)) return size;
        const long sent = s.sendAfterHeld(data, n);
        if (sent <= 0 && BIO_sock_should_retry(static_cast<int>(sent))) BIO_set_retry_write(bio);
        return static_cast<int>(sent);
    }

    static long ctrl(BIO* bio, int cmd, long, void* ptr) {
        switch (cmd) {
            case BIO_CTRL_FLUSH:
                return 1;
            case BIO_CTRL_PENDING:
                return static_cast<long>(of(bio).in_.end - of(bio).in_.begin);
            case BIO_CTRL_EOF:
                return of(bio).in_.eof && of(bio).in_.end == of(bio).in_.begin;
            case BIO_C_GET_FD: {
                const int fd = of(bio).socket_.native_handle();
                if (ptr) *static_cast<int*>(ptr) = fd;
                return fd;
            }
            default:
                return 0;
        }
    }

    static BIO_METHOD* method() {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* made =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "edgelab TlsStream");
            BIO_meth_set_read(made, read);
            BIO_meth_set_write(made, write);
            BIO_meth_set_ctrl(made, ctrl);
            return made;
        }();
        return m;
    }
};

TlsStream::TlsStream(Socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    if (!ssl_) throw std::bad_alloc();
    // Read-ahead: one recv(2) brings a whole record (and what follows) instead of
    // a header read and a body read per record.
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (socket_.is_open()) attachSocket();
}

TlsStream::TlsStream(asio::io_context& ioc, SSL_CTX* ctx) : TlsStream(Socket(ioc), ctx) {}

TlsStream::~TlsStream() {
    clearDeadline();
    if (ahead_) ahead_->stream = nullptr;
    SSL_free(ssl_);
    // A receive still on is cancelled by the socket's close, before it reads.
    if (in_.block) blocksFor(in_.large).give(in_.block);
    if (out_.block) smallBlocks.give(out_.block);
}

void TlsStream::clearDeadline() {
    if (!watch_) return;
    watch_->socket = nullptr;
    watch_->timer.cancel();
    watch_.reset();
}

void TlsStream::attachSocket() {
    error_code ignored;
    socket_.non_blocking(true, ignored);
    BIO* bio = Bio::make(*this);
    SSL_set_bio(ssl_, bio, bio);
}

asio::mutable_buffer TlsStream::receiveSpace() {
    if (!in_.block) {
        in_.large = in_.filledLast;
        in_.block = blocksFor(in_.large).take();
    }
    if (in_.begin > 0) {
        std::memmove(in_.block, in_.block + in_.begin, in_.end - in_.begin);
        in_.end -= in_.begin;
        in_.begin = 0;
    }
    in_.receiving = true;
    return {in_.block + in_.end, blocksFor(in_.large).size() - in_.end};
}

error_code TlsStream::received(const error_code& ec, std::size_t n) {
    in_.receiving = false;
    in_.end += n;
    in_.filledLast = in_.end == blocksFor(in_.large).size();
    error_code report;
    if (ec == asio::error::eof) {
        in_.eof = true;
    } else if (ec == asio::error::operation_aborted) {
        report = ec;
    } else if (ec) {
        in_.error = ec.value();
    }
    returnBlockIfEmpty();
    return report;
}

void TlsStream::receiveAhead() {
    if (hasBufferedInput() || in_.receiving || peerEnded()) return;
    if (!ahead_) {
        ahead_ = std::make_shared<Ahead>();
        ahead_->stream = this;
    }
    ahead_->pending = true;
    socket_.async_receive(receiveSpace(), [a = ahead_](const error_code& ec, std::size_t n) {
        a->pending = false;
        if (!a->stream) return;
        const error_code report = a->stream->received(ec, n);
        if (auto joined = std::move(a->joined)) joined->complete(report);
    });
}

void TlsStream::returnBlockIfEmpty() {
    if (in_.end != in_.begin || in_.receiving || !in_.block) return;
    blocksFor(in_.large).give(in_.block);
    in_.block = nullptr;
    in_.begin = in_.end = 0;
}

bool TlsStream::hold(const char* bytes, std::size_t n) {
    if (out_.size + n > smallBlocks.size()) {
        out_.holding = false;
        return false;
    }
    if (!out_.block) out_.block = smallBlocks.take();
    std::memcpy(out_.block + out_.size, bytes, n);
    out_.size += n;
    return true;
}

long TlsStream::sendAfterHeld(const char* bytes, std::size_t n, int sendFlags) {
    const int fd = socket_.native_handle();
    if (out_.size == 0) return ::send(fd, bytes, n, kSendFlags | sendFlags);
    iovec parts[2] = {{out_.block, out_.size}, {const_cast<char*>(bytes), n}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    const long sent = n == 0 ? ::send(fd, out_.block, out_.size, kSendFlags | sendFlags)
                             : ::sendmsg(fd, &message, kSendFlags | sendFlags);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) dropHeld(out_.size);
        return sent;
    }
    const std::size_t ofHeld = std::min(static_cast<std::size_t>(sent), out_.size);
    dropHeld(ofHeld);
    if (out_.size > 0 || (sent == static_cast<long>(ofHeld) && n > 0)) {
        errno = EAGAIN;
        return -1;
    }
    return sent - static_cast<long>(ofHeld);
}

void TlsStream::dropHeld(std::size_t n) {
    out_.size -= n;
    if (out_.size > 0) {
        std::memmove(out_.block, out_.block + n, out_.size);
        return;
    }
    if (out_.block) smallBlocks.give(out_.block);
    out_.block = nullptr;
}

bool TlsStream::flush(int sendFlags) {
    out_.holding = false;
    if (out_.size == 0) return true;
    const int savedErrno = errno;
    sendAfterHeld(nullptr, 0, sendFlags);
    errno = savedErrno;
    return out_.size == 0;
}

// Arming is the only timer work: the wait is left pending while the
// deadline only moves later, and re-armed when it fires early.
void TlsStream::expires_at(Clock::time_point when) {
    if (!watch_) {
        if (when == Clock::time_point::max()) return;
        watch_ = std::make_shared<Watch>(socket_.get_executor());
        watch_->socket = &socket_;
    }
    watch_->deadline = when;
    watch_->expired = false;
    if (when < watch_->armedFor) arm(watch_);
}

void TlsStream::arm(const std::shared_ptr<Watch>& w) {
    w->armedFor = w->deadline;
    w->timer.expires_at(w->deadline);
    w->timer.async_wait([w](const error_code& ec) {
        if (ec || !w->socket) return;
        w->armedFor = Clock::time_point::max();
        if (w->deadline == Clock::time_point::max()) return;
        if (Clock::now() < w->deadline) return arm(w);
        w->expired = true;
        error_code ignored;
        w->socket->cancel(ignored);
    });
}

bool TlsStream::expired() const { return watch_ && watch_->expired; }

error_code TlsStream::afterWait(const error_code& ec) const {
    if (ec == asio::error::operation_aborted && expired()) return boost::beast::error::timeout;
    return ec;
}

TlsStream::Step TlsStream::classify(int ret) {
    const int systemError = errno;
    switch (SSL_get_error(ssl_, ret)) {
        case SSL_ERROR_WANT_READ:
            return {Want::Read, {}, 0};
        case SSL_ERROR_WANT_WRITE:
            return {Want::Write, {}, 0};
        case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
            return {Want::Nothing, asio::error::eof, 0};
        case SSL_ERROR_SYSCALL:
            if (const unsigned long e = ERR_get_error()) return {Want::Nothing, sslError(e), 0};
            if (systemError)
                return {Want::Nothing, {systemError, boost::system::system_category()}, 0};
            return {Want::Nothing, asio::ssl::error::stream_truncated, 0};
        case SSL_ERROR_WANT_CLIENT_HELLO_CB:
            // The ClientHello callback refused the handshake without an alert.
            return {Want::Nothing, asio::error::connection_refused, 0};
        default: {
            const unsigned long e = ERR_get_error();
            ERR_clear_error();
            // OpenSSL 3 reports a close without close_notify as an error; as
            // Asio's stream does, it is a truncated stream.
            if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                return {Want::Nothing, asio::ssl::error::stream_truncated, 0};
            return {Want::Nothing, sslError(e), 0};
        }
    }
}

// What a step writes goes out when the step ends (a flight before its
// wait, an alert before a failure), but for one last flight: a TLS 1.3
// server's session tickets, which no client waits for, stay held for the
// first answer's send. Any other last flight (a client's Finished, a TLS
// 1.2 server's) is waited for by the peer, and goes now.
TlsStream::Step TlsStream::handshakeStep() {
    startClean();
    holdWrites();
    const int r = SSL_do_handshake(ssl_);
    out_.holding = false;
    if (r == 1 && SSL_is_server(ssl_) == 1 && SSL_version(ssl_) == TLS1_3_VERSION) return {};
    return flushed(r == 1 ? Step{} : classify(r));
}

TlsStream::Step TlsStream::readStep(asio::mutable_buffer into) {
    startClean();
    std::size_t n = 0;
    if (SSL_read_ex(ssl_, into.data(), into.size(), &n) == 1) return {Want::Nothing, {}, n};
    return classify(0);
}

TlsStream::Step TlsStream::writeStep(asio::const_buffer from, bool fromScratch) {
    startClean();
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, from.data(), from.size(), &n) == 1) {
        retry_.clear();
        return {Want::Nothing, {}, n};
    }
    Step step = classify(0);
    // OpenSSL has sealed the record and must be called again with the same
    // bytes; the thread's gather buffer will be someone else's by then.
    if (step.want != Want::Nothing && fromScratch) {
        retry_.assign(static_cast<const char*>(from.data()), from.size());
    }
    return step;
}

TlsStream::Want TlsStream::writeNow(asio::const_buffer& bytes, error_code& ec) {
    while (bytes.size() > 0 || !retry_.empty()) {
        // One record at a time: OpenSSL then completes a write it asked to
        // repeat whole. After a wait the bytes are the copy writeStep kept
        // (the scratch may be another connection's by then).
        const bool retrying = !retry_.empty();
        const asio::const_buffer piece =
            retrying ? asio::buffer(retry_)
                     : asio::buffer(bytes.data(), std::min(bytes.size(), kTlsRecordPlaintext));
        const Step step = expired() ? Step{Want::Nothing, boost::beast::error::timeout, 0}
                                    : writeStep(piece, !retrying);
        if (step.want == Want::Nothing) {
            if (step.ec) {
                ec = step.ec;
                return Want::Nothing;
            }
            if (!retrying) bytes += step.bytes;
            continue;
        }
        if (!retrying) bytes += piece.size();  // kept in retry_ until written
        return step.want;
    }
    return Want::Nothing;
}

Task<void> TlsStream::writeAll(asio::const_buffer bytes, error_code& ec) {
    for (;;) {
        const Want want = writeNow(bytes, ec);
        if (want == Want::Nothing) co_return;
        co_await async_wait(want, redirect_error(useTask, ec));
        if (ec) co_return;
    }
}

Task<std::size_t> TlsStream::readSome(asio::mutable_buffer into, error_code& ec, bool waitFirst) {
    if (waitFirst && !hasBufferedInput()) {
        co_await async_wait(Want::Read, redirect_error(useTask, ec));
        if (ec) co_return 0;
    }
    for (;;) {
        const Step step = readNow(into);
        if (step.want == Want::Nothing) {
            ec = step.ec;
            co_return step.bytes;
        }
        co_await async_wait(step.want, redirect_error(useTask, ec));
        if (ec) co_return 0;
    }
}

TlsStream::Step TlsStream::shutdownStep() {
    startClean();
    int r = SSL_shutdown(ssl_);
    // 0: our close_notify is written; the second call reads the peer's.
    if (r == 0) r = SSL_shutdown(ssl_);
    return flushed(r == 1 ? Step{} : classify(r));
}

TlsStream::Step TlsStream::closeNotifyStep(bool closeNext) {
    startClean();
    if (closeNext) holdWrites();
    const int r = SSL_shutdown(ssl_);
    return flushed(r >= 0 ? Step{} : classify(r), closeNext ? MSG_MORE : 0);
}

// A step after which nothing may stay held: done only once all is sent.
TlsStream::Step TlsStream::flushed(Step step, int sendFlags) {
    if (!flush(sendFlags) && step.want == Want::Nothing && !step.ec) step.want = Want::Write;
    return step;
}

// SSL_has_pending also counts a partial record read ahead; freeing the
// buffers then would lose it, so they stay.
bool TlsStream::releaseRecordBuffers() {
    if (!retry_.empty() || hasBufferedInput()) return false;
    return SSL_free_buffers(ssl_) == 1;
}

bool TlsStream::hasUnreadBytes() {
    if (hasBufferedInput()) return true;
    char c;
    return ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

}  // namespace edgelab::proxy
