// ADDR:PORT and HOST:PORT as edgelab's files and flags write them: a lab's
// ipport bindings and listeners, the proxy's internal DNS, curl's
// --connect-to, the addresses a running lab records. One checked parser, so
// that a bad port is refused with its value named instead of wrapping past
// 65535 or aborting in std::stoi.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/parsed.hpp"

namespace edgelab {

struct Endpoint {
    std::string host;  // IPv4 dotted quad, IPv6 without brackets, or a DNS name
    std::uint16_t port = 0;

    bool isIpv6() const;
    // "127.0.0.1:443", "[::1]:443", "lyncfe1.contoso.local:4443".
    std::string str() const;
    bool operator==(const Endpoint&) const = default;
};

enum class EndpointHost {
    Address,        // an IPv4 address or a bracketed IPv6 address
    AddressOrName,  // also a DNS name (letters, digits, '-', '.')
};
enum class PortZero {
    Refused,  // 1-65535: a port to connect to or to publish on
    Any,      // 0-65535: a port to listen on, 0 letting the kernel choose
};

// "443" -> 443; "0", "65536", "xyz", "" are refused with the value named.
Parsed<std::uint16_t> parsePort(std::string_view text, PortZero zero = PortZero::Refused);

// "127.0.0.1:443", "[::1]:8443" (and "host.example:4443" with
// EndpointHost::AddressOrName).
Parsed<Endpoint> parseEndpoint(std::string_view text, EndpointHost hosts = EndpointHost::Address,
                               PortZero zero = PortZero::Refused);

bool isIpv4Address(std::string_view text);
bool isIpv6Address(std::string_view text);
// A host name as DNS writes it (RFC 1123 section 2.1 letters, digits and
// hyphens in dot-separated labels), not checked further.
bool isDnsName(std::string_view text);

}  // namespace edgelab
