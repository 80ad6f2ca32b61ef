// WAP publishing as pure functions: which application a request is for, how
// its headers are translated on the way in and out, and which requests are
// refused before anything is forwarded. The session calls these and does I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provision/net/asio.hpp"
#include "proxy/config.hpp"

namespace edgelab::proxy {

namespace http = boost::beast::http;

// Beast (Boost 1.74) speaks boost::string_view.
inline std::string_view toStd(boost::beast::string_view s) { return {s.data(), s.size()}; }
inline boost::beast::string_view toBeast(std::string_view s) { return {s.data(), s.size()}; }

enum class RouteOutcome {
    Routed,              // forward to rule
    UnknownHost,         // 404: no application publishes this host
    MisdirectedRequest,  // 421: the negotiated certificate does not cover the Host
};

struct RouteDecision {
    RouteOutcome outcome = RouteOutcome::UnknownHost;
    const PublishingRule* rule = nullptr;
};

// The host of a Host header value, lower case, without the port.
std::string hostOfHostHeader(std::string_view hostHeader);

// Whether a certificate with these dNSName entries covers `host` (RFC 6125:
// a wildcard stands for exactly the left-most label).
bool certificateCovers(const std::vector<std::string>& dnsNames, std::string_view host);

// Full-domain publishing: the application whose external URL has this host
// and port and the longest path prefix of `target`.
RouteDecision routeRequest(const std::vector<PublishingRule>& rules, std::string_view hostHeader,
                           std::string_view target, std::uint16_t publishedPort,
                           const std::vector<std::string>& certificateNames);

// `url` with `from`'s origin and path prefix replaced by `to`'s; nullopt when
// `url` is not under `from` (host compared without case, default port optional).
std::optional<std::string> translateUrl(std::string_view url, const PublishedUrl& from,
                                        const PublishedUrl& to);

// A Set-Cookie value with its Domain attribute moved from `fromHost` to `toHost`.
std::optional<std::string> translateSetCookieDomain(std::string_view setCookie,
                                                    std::string_view fromHost,
                                                    std::string_view toHost);

// In requests: Host becomes the backend's (unless the rule disables it);
// X-Forwarded-For gets the client's address appended; X-Forwarded-Proto: https.
void translateRequestHeaders(http::fields& fields, const PublishingRule& rule,
                             std::string_view clientAddress);

// In responses: backend URLs in Location and Content-Location and the cookie
// domain in Set-Cookie become the public ones (unless the rule disables it).
// `rules` are tried after `rule`, for redirects to another published backend.
// Bodies are never touched.
void translateResponseHeaders(http::fields& fields, const PublishingRule& rule,
                              const std::vector<PublishingRule>& rules);

// Where ADFS pre-authentication sends a client (not emulated: a redirect that
// a check can tell apart from a backend's own challenge).
std::string adfsRedirectLocation(std::string_view adfsUrl, const PublishingRule& rule,
                                 std::string_view target);

// --- request validation (issue point 9) ---

// The length of the header block (through the empty line), when complete.
std::optional<std::size_t> findHeaderBlockEnd(std::string_view received);

struct RequestRefusal {
    http::status status;
    std::string reason;
};

// `header` is what Beast parsed from `rawHeaderBlock`; Beast refuses most
// framing errors itself, these are the ones it lets through.
std::optional<RequestRefusal> validateRequest(const http::request_header<>& header,
                                              std::string_view rawHeaderBlock);

}  // namespace edgelab::proxy
