// Keep-alive connections to one application's backend, owned by one worker
// thread. A connection is handed out again only while it is younger than the
// backend idle timeout and its socket shows no close from the backend.
#pragma once

#include <chrono>
#include <deque>
#include <memory>

#include "net/asio.hpp"
#include "proxy/tls_stream.hpp"

namespace edgelab::proxy {

struct BackendConnection {
    BackendConnection(boost::asio::io_context& ioc, SSL_CTX* ctx) : stream(ioc, ctx) {}
    TlsStream stream;
    boost::beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point idleSince{};
};

class BackendPool {
  public:
    using Clock = std::chrono::steady_clock;

    BackendPool(Clock::duration maxIdle, std::size_t capacity)
        : maxIdle_(maxIdle), capacity_(capacity) {}
    BackendPool(const BackendPool&) = delete;
    BackendPool(BackendPool&&) = default;

    // The most recently used connection that is still usable; null when none.
    std::unique_ptr<BackendConnection> take(Clock::time_point now);
    // Keeps `conn` for reuse (closes it when the pool is full).
    void put(std::unique_ptr<BackendConnection> conn, Clock::time_point now);
    // Closes the connections idle longer than the timeout.
    void closeExpired(Clock::time_point now);
    std::size_t size() const { return idle_.size(); }

  private:
    Clock::duration maxIdle_;
    std::size_t capacity_;
    std::deque<std::unique_ptr<BackendConnection>> idle_;  // oldest first
};

// Whether the backend has sent nothing on an idle connection: no FIN, no
// reset, no close_notify, no stray bytes. A pooled connection has a receive
// waiting (put() starts it), which has seen nothing while it still waits;
// any other (a client's pinned connection, which is never pooled) is peeked
// at once, without blocking.
bool showsNoCloseFromBackend(BackendConnection& conn);

}  // namespace edgelab::proxy
