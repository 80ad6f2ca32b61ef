#include "proxy/relay.hpp"

#include "proxy/message_bytes.hpp"

namespace edgelab::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using beast::error_code;

namespace {

// As Beast sizes a read: the room there is, at least 512 bytes, at most 64 KiB.
std::size_t readRoom(const beast::flat_buffer& buffer) {
    return std::min<std::size_t>({std::max<std::size_t>(512, buffer.capacity() - buffer.size()),
                                  buffer.max_size() - buffer.size(), 65536});
}

// What the parser takes of `buffer`; false when the read is over (an error,
// or all that was asked for is there).
template <bool isRequest>
bool feedParser(beast::flat_buffer& buffer, http::parser<isRequest, http::buffer_body>& p,
                bool headerOnly, std::size_t pendingLimit, error_code& ec) {
    if (buffer.size() == 0) return true;
    buffer.consume(p.put(buffer.data(), ec));
    if (ec != http::error::need_more && (ec || !headerOnly || p.is_header_done())) return false;
    ec = {};
    if (!headerOnly && p.chunked()) {
        const auto pending = buffer.data();
        ec = pendingChunkProblem({static_cast<const char*>(pending.data()), pending.size()},
                                 pendingLimit);
        if (ec) return false;
    }
    return true;
}

}  // namespace

template <bool isRequest>
Task<void> readMessage(TlsStream& in, beast::flat_buffer& buffer,
                       http::parser<isRequest, http::buffer_body>& p, bool headerOnly,
                       std::size_t pendingLimit, error_code& ec) {
    for (;;) {
        if (!feedParser(buffer, p, headerOnly, pendingLimit, ec)) co_return;
        if (p.is_done() || (headerOnly && p.is_header_done())) co_return;
        const std::size_t room = readRoom(buffer);
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
        buffer.commit(step.bytes);
    }
}

template Task<void> readMessage<true>(TlsStream&, beast::flat_buffer&,
                                      http::parser<true, http::buffer_body>&, bool, std::size_t,
                                      error_code&);
template Task<void> readMessage<false>(TlsStream&, beast::flat_buffer&,
                                       http::parser<false, http::buffer_body>&, bool, std::size_t,
                                       error_code&);

template <bool isRequest>
Task<RelayResult> Relay<isRequest>::run() {
    RelayResult r;
    m_.bytes.clear();
    appendHeader(m_.bytes, p_.get().base());
    // The header goes out alone only when no body is at hand yet (a held
    // response, a client waiting for 100 Continue); otherwise it shares one
    // TLS record and one write with the first piece.
    if (!p_.is_done() && inBuffer_.size() == 0 && (!replay_ || replay_->bytes.empty())) {
        out_.expires_after(bounds_.writeTimeout);
        co_await writePiece(BodyPiece{}, r.ec);
        if (r.ec) co_return r;
    }
    for (bool last = false; !last;) {
        const BodyPiece piece = co_await nextPiece(r);
        if (r.ec) co_return r;
        last = piece.last;
        out_.expires_after(bounds_.writeTimeout);
        co_await writePiece(piece, r.ec);
        if (r.ec) co_return r;
    }
    co_return r;
}

// Replayed bytes first, then what `in` brings (an empty piece while only
// framing arrives is read past), then the end of the message.
template <bool isRequest>
Task<typename Relay<isRequest>::BodyPiece> Relay<isRequest>::nextPiece(RelayResult& r) {
    if (replaySent_ < replayTotal_) {
        const std::size_t n = std::min(m_.buffer.size(), replayTotal_ - replaySent_);
        const std::string_view bytes(replay_->bytes.data() + replaySent_, n);
        replaySent_ += n;
        co_return BodyPiece{bytes, replaySent_ == replayTotal_ && p_.is_done()};
    }
    auto& body = p_.get().body();
    while (!p_.is_done()) {
        body.data = m_.buffer.data();
        body.size = m_.buffer.size();
        // Beast reads only what the dynamic buffer has room for (at least
        // 512 bytes); after a header that is a few hundred bytes, so a
        // 64 KiB body came through in ~1 KiB pieces, each its own TLS record
        // and write. Room for a whole piece makes the reads (and so the
        // records written) as large as the relay buffer.
        if (inBuffer_.capacity() - inBuffer_.size() < m_.buffer.size())
            inBuffer_.reserve(inBuffer_.size() + m_.buffer.size());
        in_.expires_after(bounds_.readTimeout);
        co_await readMessage(in_, inBuffer_, p_, false, bounds_.pendingLimit, r.ec);
        if (r.ec == http::error::need_buffer) r.ec = {};
        if (r.ec) {
            r.readSide = true;
            co_return BodyPiece{};
        }
        const std::size_t got = m_.buffer.size() - body.size;
        if (got > 0) co_return keepForReplay(got);
    }
    co_return BodyPiece{{}, true};
}

template <bool isRequest>
typename Relay<isRequest>::BodyPiece Relay<isRequest>::keepForReplay(std::size_t got) {
    if (replay_ && replay_->complete) {
        if (replay_->bytes.size() + got <= Replay::kReplayLimit) {
            replay_->bytes.append(m_.buffer.data(), got);
        } else {
            replay_->complete = false;
        }
    }
    return BodyPiece{{m_.buffer.data(), got}, p_.is_done()};
}

// What m_.bytes holds (a header not yet written), the piece and its chunk
// framing: one write when together they fit in a record, else the piece is
// written from where it lies, without a copy. A write the socket takes at
// once starts no coroutine (writeNow); only one that must wait does.
template <bool isRequest>
Task<void> Relay<isRequest>::writePiece(const BodyPiece& piece, error_code& ec) {
    const ChunkFraming framing =
        chunked_ ? chunkFraming(piece.bytes.size(), piece.last) : ChunkFraming{};
    // The end of the connection's last answer waits for the close_notify
    // that follows it at once, to go out in one send with it.
    if (piece.last && bounds_.lastAnswer) out_.holdWrites();
    auto& gathered = m_.bytes;
    gathered += framing.opening;
    std::string_view parts[] = {gathered, piece.bytes, framing.closing};
    if (gathered.size() + piece.bytes.size() + framing.closing.size() <= kTlsRecordPlaintext) {
        gathered += piece.bytes;
        gathered += framing.closing;
        parts[0] = gathered;
        parts[1] = parts[2] = {};
    }
    for (const std::string_view part : parts) {
        asio::const_buffer b = asio::buffer(part.data(), part.size());
        if (!ec && out_.writeNow(b, ec) != TlsStream::Want::Nothing) co_await out_.writeAll(b, ec);
    }
    gathered.clear();
}

template class Relay<true>;
template class Relay<false>;

}  // namespace edgelab::proxy
