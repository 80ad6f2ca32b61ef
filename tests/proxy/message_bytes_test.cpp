// The relay's own message bytes against Beast's serializer, byte for byte:
// the same header blocks and the same chunk framing.
#include "proxy/message_bytes.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace edgelab::proxy {
namespace {

namespace asio = boost::asio;

// What Beast's serializer writes for `header` followed by `pieces` (the
// last one ends the body), the way the relay feeds it a buffer_body.
template <bool isRequest>
std::string serializedByBeast(const http::header<isRequest>& header,
                              const std::vector<std::string>& pieces) {
    http::message<isRequest, http::buffer_body> m{header};
    http::serializer<isRequest, http::buffer_body> sr{m};
    std::string out;
    const auto drain = [&] {
        boost::system::error_code ec;
        while (!sr.is_done()) {
            std::size_t n = 0;
            sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
                for (auto it = asio::buffer_sequence_begin(buffers);
                     it != asio::buffer_sequence_end(buffers); ++it) {
                    const asio::const_buffer b(*it);
                    out.append(static_cast<const char*>(b.data()), b.size());
                    n += b.size();
                }
            });
            if (ec == http::error::need_buffer) return;
            EXPECT_FALSE(ec) << ec.message();
            if (ec) return;
            sr.consume(n);
        }
    };
    if (pieces.empty()) {
        m.body() = {nullptr, 0, false};
        drain();
    }
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        m.body().data = pieces[i].empty() ? nullptr : const_cast<char*>(pieces[i].data());
        m.body().size = pieces[i].size();
        m.body().more = i + 1 < pieces.size();
        drain();
    }
    return out;
}

template <bool isRequest>
std::string builtHere(const http::header<isRequest>& header,
                      const std::vector<std::string>& pieces) {
    const bool chunked = http::message<isRequest, http::empty_body>{header}.chunked();
    std::string out;
    appendHeader(out, header);
    // As the relay frames each piece (an empty body: one empty last piece).
    const auto framed = [&](const std::string& piece, bool last) {
        const ChunkFraming f = chunked ? chunkFraming(piece.size(), last) : ChunkFraming{};
        out += f.opening + piece + std::string(f.closing);
    };
    for (std::size_t i = 0; i < pieces.size(); ++i) framed(pieces[i], i + 1 == pieces.size());
    if (pieces.empty()) framed({}, true);
    return out;
}

http::request_header<> request(http::verb method, std::string_view target, unsigned version) {
    http::request_header<> h;
    h.method(method);
    h.target(boost::beast::string_view(target.data(), target.size()));
    h.version(version);
    h.set(http::field::host, "lyncfe1.contoso.local:4443");
    h.set("X-Forwarded-For", "127.0.0.1, 127.4.0.9");
    h.insert(http::field::cookie, "a=1");
    h.insert(http::field::cookie, "b=2");
    return h;
}

TEST(MessageBytes, RequestHeadersAsBeastWritesThem) {
    for (auto method : {http::verb::get, http::verb::post, http::verb::options}) {
        for (unsigned version : {10u, 11u}) {
            const auto h = request(method, "/meet/alice/ABC123?x=1", version);
            EXPECT_EQ(builtHere(h, {}), serializedByBeast(h, {}));
        }
    }
}

TEST(MessageBytes, AnUnknownMethodIsWrittenAsReceived) {
    http::request_header<> h = request(http::verb::get, "/", 11);
    h.method_string("RPC_IN_DATA");
    const std::string bytes = builtHere(h, {});
    EXPECT_EQ(bytes, serializedByBeast(h, {}));
    EXPECT_TRUE(bytes.starts_with("RPC_IN_DATA / HTTP/1.1\r\n")) << bytes;
}

TEST(MessageBytes, ResponseWithItsOwnReasonAndWithout) {
    http::response<http::empty_body> m;
    m.result(http::status::unauthorized);
    m.version(11);
    m.insert(http::field::www_authenticate, "NTLM");
    m.insert(http::field::www_authenticate, "Negotiate");
    m.content_length(0);
    auto& h = m.base();
    EXPECT_EQ(builtHere(h, {""}), serializedByBeast(h, {""}));
    h.reason("Go Away");
    const std::string bytes = builtHere(h, {""});
    EXPECT_EQ(bytes, serializedByBeast(h, {""}));
    EXPECT_TRUE(bytes.starts_with("HTTP/1.1 401 Go Away\r\n")) << bytes;
    h.result(599);  // a code without a name
    h.reason("");
    EXPECT_EQ(builtHere(h, {}), serializedByBeast(h, {}));
}

TEST(MessageBytes, BodyPiecesWithAContentLength) {
    http::response<http::empty_body> m;
    m.result(http::status::ok);
    m.content_length(10);
    const auto& h = m.base();
    const std::vector<std::string> pieces{"0123", "456", "789"};
    EXPECT_EQ(builtHere(h, pieces), serializedByBeast(h, pieces));
}

TEST(MessageBytes, ChunkFramingAsBeastWritesIt) {
    http::response<http::empty_body> m;
    m.result(http::status::ok);
    m.chunked(true);
    const auto& h = m.base();
    for (const auto& pieces : std::vector<std::vector<std::string>>{
             {"hello", " ", "world"},
             {std::string(4096 + 10, 'x'), "tail"},
             {"only, then the end", ""},
             {std::string(255, 'y')},
         }) {
        EXPECT_EQ(builtHere(h, pieces), serializedByBeast(h, pieces));
    }
    EXPECT_EQ(builtHere(h, {}), serializedByBeast(h, {}));
}

TEST(MessageBytes, ChunkFramingSurroundsTheBytes) {
    EXPECT_EQ(chunkFraming(0x1a2b, false).opening, "1a2b\r\n");
    EXPECT_EQ(chunkFraming(0x1a2b, false).closing, "\r\n");
    EXPECT_EQ(chunkFraming(3, true).opening, "3\r\n");
    EXPECT_EQ(chunkFraming(3, true).closing, "\r\n0\r\n\r\n");
    // An empty piece is no chunk: nothing, or the last chunk alone.
    EXPECT_EQ(chunkFraming(0, false).opening, "");
    EXPECT_EQ(chunkFraming(0, false).closing, "");
    EXPECT_EQ(chunkFraming(0, true).opening, "");
    EXPECT_EQ(chunkFraming(0, true).closing, "0\r\n\r\n");
}

}  // namespace
}  // namespace edgelab::proxy
