#include "common/url.hpp"

#include "common/ascii.hpp"
#include "common/endpoint.hpp"

namespace edgelab {

std::string Url::origin() const { return scheme + "://" + hostHeader(); }

std::string Url::hostHeader() const {
    return defaultPort() ? host : host + ":" + std::to_string(port);
}

std::string Url::hostPort() const { return host + ":" + std::to_string(port); }

std::optional<Url> Url::parse(std::string_view text) {
    Url url;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    url.scheme = asciiLower(text.substr(0, sep));
    if (url.scheme != "https" && url.scheme != "http") return std::nullopt;
    std::string_view rest = text.substr(sep + 3);
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        auto port = parsePort(authority.substr(colon + 1));
        if (!port) return std::nullopt;
        url.port = *port;
        authority = authority.substr(0, colon);
    } else {
        url.port = url.scheme == "https" ? 443 : 80;
    }
    if (!isDnsName(authority)) return std::nullopt;
    url.host = asciiLower(authority);
    return url;
}

std::string hostOfHostHeader(std::string_view hostHeader) {
    std::string_view h = hostHeader;
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
    if (!h.empty() && h.front() == '[') {
        const auto close = h.find(']');
        h = close == std::string_view::npos ? h.substr(1) : h.substr(1, close - 1);
    } else if (const auto colon = h.rfind(':'); colon != std::string_view::npos) {
        h = h.substr(0, colon);
    }
    if (!h.empty() && h.back() == '.') h.remove_suffix(1);
    return asciiLower(h);
}

std::string percentEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace edgelab
