// A URL as WAP's -ExternalUrl and -BackendServerUrl take it, and as a lab
// names a published name: http or https, a host name, an optional port,
// a path. No user info, query or IPv6 literal: WAP refuses those.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgelab {

struct Url {
    std::string scheme;  // "https" or "http"
    std::string host;    // lower case
    std::uint16_t port = 443;
    std::string path = "/";

    bool defaultPort() const { return port == (scheme == "https" ? 443 : 80); }
    // "scheme://host[:port]" with the port left out when it is the scheme's.
    std::string origin() const;
    // "host[:port]" as a Host header carries it.
    std::string hostHeader() const;
    // "host:port", the port always written (an internal DNS key).
    std::string hostPort() const;
    // Canonical: origin() + path.
    std::string str() const { return origin() + path; }
    bool operator==(const Url&) const = default;

    static std::optional<Url> parse(std::string_view text);
};

// The host of a Host header value (RFC 9110 section 7.2): lower case,
// without the port, IPv6 brackets or the root's trailing dot, which IIS and
// HTTP.sys match without.
std::string hostOfHostHeader(std::string_view hostHeader);

// Everything but unreserved characters (RFC 3986 section 2.3) as %XX, for a
// URL inside a query parameter.
std::string percentEncode(std::string_view text);

}  // namespace edgelab
