// A lingering close (RFC 9112 9.6) of one TLS connection, the client's or a
// backend's: the sending side is closed first (close_notify, then the TCP
// FIN, which tells the peer that what it got is whole), and what the peer
// goes on sending is read and dropped, never decrypted or kept, until it
// closes its side or a bound passes (limits.lingeringTimeSec in all,
// lingeringTimeoutSec between reads, lingeringBytes). Closing at once while
// the peer still sends would reset the connection, and the reset can destroy
// what was sent before it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/config.hpp"
#include "proxy/tls_stream.hpp"

namespace edgelab::proxy {

enum class LingerEnd { PeerClosed, PeerReset, Timeout, Time, Bytes, Error };

struct Lingered {
    LingerEnd ended = LingerEnd::Error;
    std::uint64_t droppedBytes = 0;
};

// Closes the sending side and drops what arrives within the bounds; the
// socket is left open for the caller to close, with no deadline.
Task<Lingered> lingeringClose(TlsStream& stream, const ProxyLimits& limits);

// The access log's word for how it ended, `side` naming the peer ("client",
// "backend"): "client-closed", "backend-reset", "timeout", "time", "bytes",
// "error".
std::string lingerEndName(LingerEnd end, std::string_view side);

}  // namespace edgelab::proxy
