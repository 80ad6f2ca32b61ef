#include "proxy/lingering.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace edgelab::proxy {

namespace {

using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// Reads and drops what the peer sends, within the bounds; says how it ended.
Task<LingerEnd> dropUntilClosed(TlsStream& stream, const ProxyLimits& limits,
                                std::uint64_t& dropped) {
    const auto between = std::chrono::seconds(limits.lingeringTimeoutSec);
    const auto end = Clock::now() + std::chrono::seconds(limits.lingeringTimeSec);
    auto& socket = stream.socket();
    for (;;) {
        const auto n =
            ::recv(socket.native_handle(), tlsRecordScratch(), kTlsRecordPlaintext, MSG_DONTWAIT);
        if (n == 0) co_return LingerEnd::PeerClosed;  // all it sent has been read
        if (n > 0) {
            dropped += static_cast<std::uint64_t>(n);
            if (dropped > limits.lingeringBytes) co_return LingerEnd::Bytes;
            if (Clock::now() >= end) co_return LingerEnd::Time;
            continue;
        }
        // A peer that closes with bytes of ours unread (a TLS 1.3 ticket,
        // the close_notify) resets: it has read the answer.
        if (errno == ECONNRESET) co_return LingerEnd::PeerReset;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return LingerEnd::Error;
        if (Clock::now() >= end) co_return LingerEnd::Time;
        stream.expires_at(std::min(end, Clock::now() + between));
        error_code ec;
        co_await socket.async_wait(TcpSocket::wait_read, withError(ec));
        if (ec && Clock::now() >= end) co_return LingerEnd::Time;
        if (ec) co_return stream.expired() ? LingerEnd::Timeout : LingerEnd::Error;
    }
}

}  // namespace

Task<Lingered> lingeringClose(TlsStream& stream, const ProxyLimits& limits) {
    stream.expires_after(std::chrono::seconds(limits.lingeringTimeoutSec));
    for (auto step = stream.closeNotifyStep(); step.want == TlsStream::Want::Write && !step.ec;
         step = {stream.flush() ? TlsStream::Want::Nothing : TlsStream::Want::Write, {}, 0}) {
        co_await stream.async_wait(TlsStream::Want::Write, withError(step.ec));
    }
    error_code ec;
    stream.socket().shutdown(TcpSocket::shutdown_send, ec);
    Lingered result;
    // A peer gone already (it reset the connection) cannot be shut down.
    result.ended =
        ec ? LingerEnd::PeerReset : co_await dropUntilClosed(stream, limits, result.droppedBytes);
    stream.expires_never();
    co_return result;
}

std::string lingerEndName(LingerEnd end, std::string_view side) {
    switch (end) {
        case LingerEnd::PeerClosed:
            return std::string(side) + "-closed";
        case LingerEnd::PeerReset:
            return std::string(side) + "-reset";
        case LingerEnd::Timeout:
            return "timeout";
        case LingerEnd::Time:
            return "time";
        case LingerEnd::Bytes:
            return "bytes";
        case LingerEnd::Error:
            break;
    }
    return "error";
}

}  // namespace edgelab::proxy
