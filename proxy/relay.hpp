// One HTTP message relayed from one TLS stream to another, a piece at a
// time (nothing is held whole), and the reads that feed Beast's parser on
// the data path. No policy: what is relayed, and what a failure means, is
// the forwarded exchange's (exchange.hpp).
#pragma once

#include <chrono>
#include <string>

#include "proxy/publishing.hpp"
#include "proxy/request_memory.hpp"
#include "proxy/tls_stream.hpp"

namespace edgelab::proxy {

// Feeds `p` what has arrived in `buffer` and reads more from `in` while it
// needs more: until the header is done (`headerOnly`), else until any body
// bytes or the end of the message. What Beast's async_read_header and
// async_read_some do, as plain calls: a read that has its bytes at once
// costs no composed operation and no posted completion.
// In a chunked body, what the parser leaves unconsumed is held to
// `pendingLimit` and to CRLF line ends (pendingChunkProblem).
template <bool isRequest>
Task<void> readMessage(TlsStream& in, boost::beast::flat_buffer& buffer,
                       http::parser<isRequest, http::buffer_body>& p, bool headerOnly,
                       std::size_t pendingLimit, boost::system::error_code& ec);

// The body bytes of a request already sent to a backend, kept for a retry
// while they fit in kReplayLimit.
struct Replay {
    // Beyond this a body is streamed without a copy, and a failure is a 502.
    static constexpr std::size_t kReplayLimit = 64 * 1024;
    std::string bytes;
    bool complete = true;  // nothing sent fell out of `bytes`
};

struct RelayResult {
    boost::system::error_code ec;
    bool readSide = false;  // the failure was reading the message's source
};

struct RelayBounds {
    std::chrono::seconds readTimeout;
    std::chrono::seconds writeTimeout;
    std::size_t pendingLimit;  // readMessage's, for a chunked body
    bool lastAnswer = false;   // the connection closes after it: its end waits for close_notify
};

// Relays one message from `in` (whose header `p` has read) to `out`. With
// `replay` (a request), the body bytes sent on an earlier attempt go first,
// and the bytes read now are kept while they fit, for a retry. The caller
// keeps the relay for the time of run().
template <bool isRequest>
class Relay {
  public:
    using Parser = http::parser<isRequest, http::buffer_body>;
    Relay(RelayMemory& memory, TlsStream& in, boost::beast::flat_buffer& inBuffer, Parser& p,
          TlsStream& out, const RelayBounds& bounds, Replay* replay)
        : m_(memory),
          in_(in),
          inBuffer_(inBuffer),
          p_(p),
          out_(out),
          bounds_(bounds),
          replay_(replay),
          replayTotal_(replay ? replay->bytes.size() : 0) {}

    Task<RelayResult> run();

  private:
    // One piece of a relayed body, where it lies (the relay buffer or the
    // replay copy), and whether the message ends with it.
    struct BodyPiece {
        std::string_view bytes;
        bool last = false;
    };
    Task<BodyPiece> nextPiece(RelayResult& r);
    BodyPiece keepForReplay(std::size_t got);
    Task<void> writePiece(const BodyPiece& piece, boost::system::error_code& ec);

    RelayMemory& m_;
    TlsStream& in_;
    boost::beast::flat_buffer& inBuffer_;
    Parser& p_;
    TlsStream& out_;
    const RelayBounds& bounds_;
    Replay* replay_;
    // How much of an earlier attempt's body there is to send again, and how
    // much of it has been; the replay copy grows as this attempt reads on.
    std::size_t replayTotal_;
    std::size_t replaySent_ = 0;
    const bool chunked_ = p_.chunked();  // the parser's, and the header says the same
};

extern template class Relay<true>;
extern template class Relay<false>;

}  // namespace edgelab::proxy
