#include "proxy/backend_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace edgelab::proxy {

namespace {

void closeQuietly(BackendConnection& conn) {
    boost::system::error_code ignored;
    conn.stream.socket().close(ignored);
}

}  // namespace

bool showsNoCloseFromBackend(BackendConnection& conn) {
    // Bytes OpenSSL has read ahead but not yet opened count as sent.
    if (conn.buffer.size() > 0 || conn.stream.hasBufferedInput() || conn.stream.peerEnded()) {
        return false;
    }
    auto& socket = conn.stream.socket();
    if (!socket.is_open()) return false;
    // The pool's receive still waits: nothing has come.
    if (conn.stream.receivingAhead()) return true;
    char c;
    const auto n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    // Between responses a backend sends nothing: 0 is its FIN, any byte its
    // close_notify (or garbage), an error other than "nothing yet" a reset.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::unique_ptr<BackendConnection> BackendPool::take(Clock::time_point now) {
    while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (now - conn->idleSince < maxIdle_ && showsNoCloseFromBackend(*conn)) return conn;
        closeQuietly(*conn);
    }
    return nullptr;
}

void BackendPool::put(std::unique_ptr<BackendConnection> conn, Clock::time_point now) {
    if (idle_.size() >= capacity_) {
        closeQuietly(*conn);
        return;
    }
    conn->idleSince = now;
    conn->stream.receiveAhead();
    idle_.push_back(std::move(conn));
}

void BackendPool::closeExpired(Clock::time_point now) {
    while (!idle_.empty() && now - idle_.front()->idleSince >= maxIdle_) {
        closeQuietly(*idle_.front());
        idle_.pop_front();
    }
}

}  // namespace edgelab::proxy
