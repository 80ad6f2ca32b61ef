#include "proxy/message_bytes.hpp"

#include <charconv>

namespace edgelab::proxy {

namespace {

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

void appendVersion(std::string& out, unsigned version) {
    out += "HTTP/";
    out += static_cast<char>('0' + version / 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
}

void appendFields(std::string& out, const http::fields& fields) {
    for (const auto& f : fields) {
        out += sv(f.name_string());
        out += ": ";
        out += sv(f.value());
        out += "\r\n";
    }
    out += "\r\n";
}

}  // namespace

void appendHeader(std::string& out, const http::request_header<>& header) {
    out += sv(header.method_string());
    out += ' ';
    out += sv(header.target());
    out += ' ';
    appendVersion(out, header.version());
    out += "\r\n";
    appendFields(out, header);
}

void appendHeader(std::string& out, const http::response_header<>& header) {
    appendVersion(out, header.version());
    const unsigned code = header.result_int();
    out += ' ';
    out += static_cast<char>('0' + code / 100);
    out += static_cast<char>('0' + code / 10 % 10);
    out += static_cast<char>('0' + code % 10);
    out += ' ';
    out += sv(header.reason());
    out += "\r\n";
    appendFields(out, header);
}

ChunkFraming chunkFraming(std::size_t size, bool last) {
    if (size == 0) return {{}, last ? "0\r\n\r\n" : ""};
    char hex[2 * sizeof size + 2];
    auto [end, ec] = std::to_chars(hex, hex + sizeof hex, size, 16);
    std::string opening(hex, end);
    opening += "\r\n";
    return {std::move(opening), last ? "\r\n0\r\n\r\n" : "\r\n"};
}

}  // namespace edgelab::proxy
