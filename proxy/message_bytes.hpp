// The bytes of a relayed HTTP/1.1 message, built directly: the header block
// and the chunk framing exactly as Beast's serializer writes them (the unit
// test compares the two byte for byte). Beast's serializer hands them out as
// nested buffer views, and walking those cost the proxy more instructions
// per keep-alive request than parsing did; here a header is one pass over
// its fields into one string.
#pragma once

#include <string>
#include <string_view>

#include "net/asio.hpp"

namespace edgelab::proxy {

namespace http = boost::beast::http;

// Appends the start line, the fields and the empty line.
void appendHeader(std::string& out, const http::request_header<>& header);
void appendHeader(std::string& out, const http::response_header<>& header);

// What surrounds a body piece of `size` bytes in a chunked body: its size
// in hex before it and CRLF after it (nothing for an empty piece), and with
// `last` the last chunk and the empty trailer after that.
struct ChunkFraming {
    std::string opening;
    std::string_view closing;
};
ChunkFraming chunkFraming(std::size_t size, bool last);

}  // namespace edgelab::proxy
