// One client connection of edgelab-proxy: the TLS handshake (HTTP.sys
// binding rules), then requests read with their limits and timeouts,
// refused or answered locally, or routed and handed to a ForwardedExchange
// (exchange.hpp); between requests it waits, or parks while idle; it ends
// with a lingering close when an answer went before the request was read.
// Policy lives in publishing.hpp; this class only reads, writes and
// enforces limits.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/backend_source.hpp"
#include "proxy/publishing.hpp"
#include "proxy/request_memory.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/worker.hpp"

namespace edgelab::proxy {

class ClientConnection : public IdleMemory {
  public:
    using Clock = std::chrono::steady_clock;
    using RequestParser = http::request_parser<http::buffer_body>;
    using ResponseParser = http::response_parser<http::buffer_body>;

    ClientConnection(Worker& worker, TcpSocket socket, const boost::asio::ip::tcp::endpoint& peer,
                     const Listener& listener);
    ~ClientConnection();
    // `self` is this connection: the coroutine owns it and frees it at its
    // end, so a connection costs one frame less than a wrapper that holds it.
    Task<void> run(std::unique_ptr<ClientConnection> self);
    bool releaseIfIdleSince(std::uint64_t sweep) override;

    // What the exchange forwarding this connection's request uses.
    Worker& worker() { return w_; }
    TlsStream& stream() { return stream_; }
    boost::beast::flat_buffer& input() { return buffer_; }
    RequestParser& request() { return *request_; }
    ResponseParser& newResponse() { return response_.emplace(); }
    ResponseParser& response() { return *response_; }
    RelayMemory& relayMemory() { return relay_; }
    BackendSource& backends() { return backends_; }
    const std::string& address() const { return clientAddress_; }
    Task<bool> refuse(const RequestRefusal& refusal, Clock::time_point start);
    // The connection's last answer, from the proxy; `requestUnread`: the
    // request's body is partly unread, so the close lingers.
    void setLastAnswer(http::response<http::string_body>&& answer, bool requestUnread);
    Task<bool> writeLocal();
    void logRequest(const http::request_header<>* req, int status, const PublishingRule* rule,
                    Clock::time_point start, const std::string& note = {});
    // What was sent is incomplete: the connection ends with a TCP reset.
    void endWithReset() { resetClient_ = true; }

  private:
    enum class HeadOutcome { Ready, Closed, TimedOut, TooLarge, Malformed };

    void refuseHandshake(const boost::system::error_code& ec);
    Task<void> closeTls();
    Task<void> lingeringClose();
    std::string listenerName() const;
    std::string_view received() const;
    TlsStream::Step receiveArrived();
    bool noteWait();
    Task<void> serve(std::unique_ptr<ClientConnection> self, boost::system::error_code waited);
    void park(std::unique_ptr<ClientConnection> self, TlsStream::Want want);
    // The handler of a parked wait: it owns the connection.
    struct ParkedWait {
        using allocator_type = ExactAllocator<void>;
        allocator_type get_allocator() const noexcept { return {}; }
        void operator()(const boost::system::error_code& ec);
        std::unique_ptr<ClientConnection> self;
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

    Worker& w_;
    TlsStream stream_;
    HandshakeState hs_;
    std::string clientAddress_;
    std::uint16_t clientPort_ = 0;
    const Listener& listener_;  // the configuration's, which outlives every connection
    boost::beast::flat_buffer buffer_;
    RequestSlot<RequestParser> request_;
    RequestSlot<ResponseParser> response_;
    RelayMemory relay_;
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
    Clock::time_point idleDeadline_;  // when the wait for the next request ends
    // The pool and the backend connection this client keeps (NTLM/Negotiate).
    BackendSource backends_;
};

}  // namespace edgelab::proxy
