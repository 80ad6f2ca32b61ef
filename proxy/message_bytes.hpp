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

// Appends a body piece as a chunked body carries it (its size in hex, the
// bytes, CRLF; nothing for an empty piece), and with `last` the last chunk
// and the empty trailer.
void appendChunk(std::string& out, std::string_view piece, bool last);

// The framing of a chunk of `size` bytes without the bytes: what goes before
// them, and what goes after them (with `last`, the end of the body too).
std::string chunkOpening(std::size_t size);
std::string_view chunkClosing(bool last);

}  // namespace edgelab::proxy
