#include "common/endpoint.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace edgelab {

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

bool isIpv4Address(std::string_view text) {
    in_addr a{};
    return ::inet_pton(AF_INET, std::string(text).c_str(), &a) == 1;
}

bool isIpv6Address(std::string_view text) {
    in6_addr a{};
    return ::inet_pton(AF_INET6, std::string(text).c_str(), &a) == 1;
}

bool isDnsName(std::string_view text) {
    if (text.empty() || text.size() > 253) return false;
    std::size_t label = 0;
    for (char c : text) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || ++label > 63) return false;
    }
    return true;
}

bool Endpoint::isIpv6() const { return host.find(':') != std::string::npos; }

std::string Endpoint::str() const {
    return (isIpv6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Parsed<std::uint16_t> parsePort(std::string_view text, PortZero zero) {
    const unsigned low = zero == PortZero::Any ? 0 : 1;
    const std::string range = zero == PortZero::Any ? "0 to 65535" : "1 to 65535";
    unsigned port = 0;
    const char* end = text.data() + text.size();
    auto [stop, ec] = std::from_chars(text.data(), end, port);
    if (text.empty() || ec != std::errc() || stop != end || port < low || port > 65535)
        return Parsed<std::uint16_t>::failure("port " + quoted(text) + ": expected a number from " +
                                              range);
    return static_cast<std::uint16_t>(port);
}

Parsed<Endpoint> parseEndpoint(std::string_view text, EndpointHost hosts, PortZero zero) {
    const std::string shape =
        hosts == EndpointHost::Address ? "ADDR:PORT ([IPv6]:PORT)" : "HOST:PORT ([IPv6]:PORT)";
    auto fail = [&](const std::string& why) {
        return Parsed<Endpoint>::failure(quoted(text) + ": " + why);
    };
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected " + shape);
    std::string_view host = text.substr(0, colon);
    const auto port = parsePort(text.substr(colon + 1), zero);
    if (!port) return fail(port.error());
    Endpoint e;
    e.port = *port;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        if (!isIpv6Address(host)) return fail("expected an IPv6 address in brackets");
        e.host = std::string(host);
        return e;
    }
    if (isIpv4Address(host) || (hosts == EndpointHost::AddressOrName && isDnsName(host))) {
        e.host = std::string(host);
        return e;
    }
    if (host.find(':') != std::string_view::npos)
        return fail("an IPv6 address needs brackets: [" + std::string(host) + "]:PORT");
    return fail(hosts == EndpointHost::Address
                    ? "expected an IPv4 address or [IPv6] before the port"
                    : "expected a host name or an address before the port");
}

}  // namespace edgelab
