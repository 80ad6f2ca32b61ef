// One client connection of edgelab-proxy: the TLS handshake (HTTP.sys
// binding rules), then requests read, refused or routed, and forwarded to
// the application's backend. Policy lives in publishing.hpp; this class only
// reads, writes and enforces limits.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/publishing.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/worker.hpp"

namespace edgelab::proxy {

// The body pieces a relay holds between a read and a write: allocated when a
// body is relayed, released while the connection is idle.
class RelayBuffer {
  public:
    static constexpr std::size_t kSize = 16 * 1024;
    char* data() {
        if (!bytes_) bytes_ = std::make_unique_for_overwrite<char[]>(kSize);
        return bytes_.get();
    }
    std::size_t size() const { return kSize; }
    void release() { bytes_.reset(); }

  private:
    std::unique_ptr<char[]> bytes_;
};

// One value a request needs (a parser, a local answer) in storage of its own,
// so that an idle connection holds a pointer instead of the value: made on
// first use, kept across the requests of a busy connection (reset destroys
// the value and keeps the storage), freed by release() while it is idle.
template <class T>
class RequestSlot {
  public:
    template <class... Args>
    T& emplace(Args&&... args) {
        if (!box_) box_ = std::make_unique<std::optional<T>>();
        return box_->emplace(std::forward<Args>(args)...);
    }
    RequestSlot& operator=(T&& value) {
        emplace(std::move(value));
        return *this;
    }
    void reset() {
        if (box_) box_->reset();
    }
    void release() { box_.reset(); }
    explicit operator bool() const { return box_ && box_->has_value(); }
    T& operator*() { return **box_; }
    T* operator->() { return &**box_; }

  private:
    std::unique_ptr<std::optional<T>> box_;
};

// Memory for an operation of exactly its size from the heap. Asio's default
// reuses the thread's last freed operation block, as large as the largest
// operation that freed it; a wait that lasts as long as an idle connection
// would keep such a block.
template <class T>
struct ExactAllocator {
    using value_type = T;
    ExactAllocator() = default;
    template <class U>
    ExactAllocator(const ExactAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) { std::allocator<T>{}.deallocate(p, n); }
    template <class U>
    bool operator==(const ExactAllocator<U>&) const noexcept {
        return true;
    }
};

class ClientSession : public IdleMemory {
  public:
    ClientSession(Worker& worker, TcpSocket socket, const boost::asio::ip::tcp::endpoint& peer,
                  const Listener& listener);
    ~ClientSession();
    // `self` is this session: the coroutine owns it and frees it at its end,
    // so a connection costs one frame less than a wrapper that holds it.
    Task<void> run(std::unique_ptr<ClientSession> self);
    bool releaseIfIdleSince(std::uint64_t sweep) override;

  private:
    using Clock = std::chrono::steady_clock;
    using ClientStream = TlsStream;
    using RequestParser = http::request_parser<http::buffer_body>;
    using ResponseParser = http::response_parser<http::buffer_body>;

    enum class HeadOutcome { Ready, Closed, TimedOut, TooLarge, Malformed };

    // What one forwarded request needs across its attempts.
    struct Exchange {
        const PublishingRule* rule = nullptr;
        Clock::time_point start;
        unsigned version = 11;
        bool clientKeepAlive = true;
        bool upgrade = false;
        bool expectContinue = false;
        bool idempotent = true;
        bool pinned = false;         // this client connection keeps its backend connection
        bool interimSent = false;    // a 1xx went to the client
        std::string replay;          // body bytes already sent, for a retry
        bool replayComplete = true;  // nothing sent fell out of `replay`
    };

    // How an attempt with one backend connection ended.
    struct Attempt {
        boost::system::error_code ec;
        bool clientFault = false;  // reading the client's body failed
        bool writeFailed = false;  // writing the request to the backend failed
        bool responseStarted = false;
    };

    struct RelayResult {
        boost::system::error_code ec;
        bool readSide = false;  // the failure was reading the message's source
    };

    // One piece of a relayed body, where it lies (the relay buffer or the
    // replay copy), and whether the message ends with it.
    struct BodyPiece {
        std::string_view bytes;
        bool last = false;
    };
    // How much of an earlier attempt's body there is to send again, and how
    // much of it has been.
    struct Replayed {
        std::size_t total = 0;
        std::size_t sent = 0;
    };

    void refuseHandshake(const boost::system::error_code& ec);
    Task<void> closeTls();
    Task<void> lingeringClose();
    Task<const char*> dropUntilClosed(std::uint64_t& dropped);
    std::string listenerName() const;
    std::string_view received() const;
    TlsStream::Step receiveArrived();
    bool noteWait();
    Task<void> serve(std::unique_ptr<ClientSession> self, boost::system::error_code waited);
    void park(std::unique_ptr<ClientSession> self, TlsStream::Want want);
    // The handler of a parked wait: it owns the session.
    struct ParkedWait {
        using allocator_type = ExactAllocator<void>;
        allocator_type get_allocator() const noexcept { return {}; }
        void operator()(const boost::system::error_code& ec);
        std::unique_ptr<ClientSession> self;
    };
    Task<void> receive(boost::system::error_code& ec);
    void releaseIdleMemory();
    Task<HeadOutcome> readRequestHead(std::size_t& end, std::optional<RequestRefusal>& why);
    Task<bool> serveOne();
    Task<bool> answerHeadFailure(HeadOutcome outcome, const std::optional<RequestRefusal>& why,
                                 Clock::time_point start);
    std::optional<RequestRefusal> parseRequestHead(std::size_t end);
    std::optional<RequestRefusal> checkRequestHead(std::string_view rawHeader);
    Task<bool> routeRequest(Clock::time_point start);
    Task<bool> refuse(const RequestRefusal& refusal, Clock::time_point start);
    Task<bool> writeLocal();
    void logRequest(const http::request_header<>* req, int status, const PublishingRule* rule,
                    Clock::time_point start, const std::string& note = {});

    // forwarding
    std::size_t ruleIndex(const PublishingRule& rule) const;
    Exchange prepareExchange(const PublishingRule& rule, Clock::time_point start);
    Task<bool> forward(const PublishingRule& rule, Clock::time_point start);
    // Why no backend connection could be had: a 504 when the backend took too
    // long (to accept, or to answer the TLS handshake), else a 502.
    struct BackendFailure {
        http::status status = http::status::bad_gateway;
        std::string why;
    };
    Task<std::unique_ptr<BackendConnection>> acquireBackend(Exchange& ex, bool firstAttempt,
                                                            bool& reused, BackendFailure& failure);
    Task<std::unique_ptr<BackendConnection>> connectBackend(const PublishingRule& rule,
                                                            BackendFailure& failure);
    Task<Attempt> attempt(BackendConnection& conn, Exchange& ex);
    Task<Attempt> readResponseHead(BackendConnection& conn, Exchange& ex);
    void configureResponseParser(const Exchange& ex);
    Task<bool> answerClientFault(const Attempt& a, Exchange& ex);
    Task<bool> answerBackendFailure(http::status status, const std::string& why, Exchange& ex);
    Task<bool> deliverResponse(std::unique_ptr<BackendConnection>& conn, Exchange& ex);
    Task<bool> tunnel(std::unique_ptr<BackendConnection>& conn, Exchange& ex);
    void releaseBackend(std::unique_ptr<BackendConnection> conn, const Exchange& ex, bool reusable);

    template <bool isRequest, class In, class Out>
    Task<RelayResult> relayMessage(In& in, boost::beast::flat_buffer& inBuffer,
                                   http::parser<isRequest, http::buffer_body>& p, Out& out,
                                   std::chrono::seconds readTimeout,
                                   std::chrono::seconds writeTimeout, Exchange* replay);
    template <bool isRequest, class In>
    Task<BodyPiece> nextPiece(In& in, boost::beast::flat_buffer& inBuffer,
                              http::parser<isRequest, http::buffer_body>& p,
                              std::chrono::seconds readTimeout, Exchange* replay,
                              Replayed& replayed, RelayResult& r);
    Task<void> writePiece(TlsStream& out, const BodyPiece& piece, bool chunked,
                          boost::system::error_code& ec);

    Worker& w_;
    ClientStream stream_;
    HandshakeState hs_;
    std::string clientAddress_;
    std::uint16_t clientPort_ = 0;
    const Listener& listener_;  // the configuration's, which outlives every connection
    boost::beast::flat_buffer buffer_;
    RequestSlot<RequestParser> request_;
    RequestSlot<ResponseParser> response_;
    RelayBuffer relayBuffer_;
    std::string relayBytes_;  // a relayed header and small pieces with their framing
    RequestSlot<http::response<http::string_body>> local_;
    std::size_t requests_ = 0;
    // Where the connection is between requests, as the worker's sweep sees it.
    enum class Idle {
        No,             // serving a request, or reading one that has begun
        Waiting,        // waiting in serve() for the next request, since sweep idleSince_
        ParkRequested,  // the sweep freed its buffers and cancelled that wait, to be parked
        Parked,         // waiting in park(): no coroutine frame, no timer
        ParkedExpired,  // parked past idleDeadline_: the sweep cancelled the wait
    };
    Idle idle_ = Idle::No;
    std::uint64_t idleSince_ = 0;     // the worker's sweep count when the wait began (Waiting)
    bool lingerOnClose_ = false;      // an answer went before the request was read to its end
    bool resetClient_ = false;        // end with a TCP reset: what was sent is incomplete
    bool closingAnswer_ = false;      // the answer being relayed is the connection's last
    Clock::time_point idleDeadline_;  // when the wait for the next request ends
    // NTLM/Negotiate affinity: the backend connection this client keeps.
    std::unique_ptr<BackendConnection> pinned_;
    std::size_t pinnedRule_ = 0;
};

}  // namespace edgelab::proxy
