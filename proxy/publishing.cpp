#include "proxy/publishing.hpp"

#include <algorithm>
#include <cctype>

#include "common/ascii.hpp"
#include "common/endpoint.hpp"
#include "common/matching.hpp"

namespace edgelab::proxy {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::uint16_t portOfHostHeader(std::string_view hostHeader, std::uint16_t fallback) {
    const auto colon = hostHeader.rfind(':');
    if (colon == std::string_view::npos) return fallback;
    return parsePort(hostHeader.substr(colon + 1)).optional().value_or(0);
}

}  // namespace

RouteDecision routeRequest(const std::vector<PublishingRule>& rules, std::string_view hostHeader,
                           std::string_view target, std::uint16_t publishedPort,
                           const std::vector<std::string>& certificateNames) {
    const std::string host = hostOfHostHeader(hostHeader);
    const std::uint16_t port = portOfHostHeader(trim(hostHeader), publishedPort);
    // An absolute-form target has been checked against Host already; its
    // path is what routes.
    std::string_view path = target;
    if (!path.starts_with('/')) {
        const auto sep = path.find("://");
        const auto slash = sep == std::string_view::npos ? sep : path.find('/', sep + 3);
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    const PublishingRule* best = nullptr;
    for (const auto& rule : rules) {
        if (rule.externalUrl.host != host || rule.externalUrl.port != port) continue;
        if (!istartsWith(path, rule.externalUrl.path)) continue;
        if (!best || rule.externalUrl.path.size() > best->externalUrl.path.size()) best = &rule;
    }
    if (!best) return {RouteOutcome::UnknownHost, nullptr};
    if (!dnsNamesCover(certificateNames, host)) {
        return {RouteOutcome::MisdirectedRequest, best};
    }
    return {RouteOutcome::Routed, best};
}

std::optional<std::string> translateUrl(std::string_view url, const Url& from, const Url& to) {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos || !iequals(url.substr(0, sep), from.scheme)) {
        return std::nullopt;
    }
    std::string_view rest = url.substr(sep + 3);
    auto end = rest.find_first_of("/?#");
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view authority = rest.substr(0, end);
    std::string_view tail = rest.substr(end);
    const auto colon = authority.rfind(':');
    const std::string_view host = authority.substr(0, colon);
    std::uint16_t port = from.scheme == "https" ? 443 : 80;
    if (colon != std::string_view::npos) {
        port = portOfHostHeader(authority, port);
        if (port == 0) return std::nullopt;
    }
    if (!iequals(host, from.host) || port != from.port) return std::nullopt;
    std::string path(tail.empty() ? std::string_view("/") : tail);
    if (!istartsWith(path, from.path)) return std::nullopt;
    return to.origin() + to.path + path.substr(from.path.size());
}

std::optional<std::string> translateSetCookieDomain(std::string_view setCookie,
                                                    std::string_view fromHost,
                                                    std::string_view toHost) {
    std::size_t pos = 0;
    while (pos < setCookie.size()) {
        auto semi = setCookie.find(';', pos);
        if (semi == std::string_view::npos) semi = setCookie.size();
        const std::string_view attr = trim(setCookie.substr(pos, semi - pos));
        if (pos > 0 && istartsWith(attr, "domain=")) {
            std::string_view value = trim(attr.substr(7));
            const bool dot = value.starts_with('.');
            if (dot) value.remove_prefix(1);
            if (!iequals(value, fromHost)) return std::nullopt;
            const std::size_t valueStart =
                static_cast<std::size_t>(value.data() - setCookie.data());
            std::string out(setCookie.substr(0, valueStart));
            out += toHost;
            out += setCookie.substr(valueStart + value.size());
            return out;
        }
        pos = semi + 1;
    }
    return std::nullopt;
}

void translateRequestHeaders(http::fields& fields, const PublishingRule& rule,
                             std::string_view clientAddress) {
    if (!rule.disableTranslateUrlInRequestHeaders) {
        fields.set(http::field::host, rule.backendServerUrl.hostHeader());
    }
    // The two X-Forwarded fields have no enum in Beast: one pass to see
    // whether a client sent either, instead of a lookup by name for each.
    auto forwardedFor = fields.end();  // the first, as find() would give it
    bool forwardedProto = false;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        if (it->name() != http::field::unknown) continue;
        if (forwardedFor == fields.end() && iequals(toStd(it->name_string()), "X-Forwarded-For"))
            forwardedFor = it;
        forwardedProto = forwardedProto || iequals(toStd(it->name_string()), "X-Forwarded-Proto");
    }
    if (forwardedFor != fields.end()) {
        std::string value(forwardedFor->value());
        value += ", ";
        value += clientAddress;
        fields.set("X-Forwarded-For", value);
    } else {
        fields.insert("X-Forwarded-For", toBeast(clientAddress));
    }
    if (forwardedProto) fields.erase("X-Forwarded-Proto");
    fields.insert("X-Forwarded-Proto", "https");
}

void translateResponseHeaders(http::fields& fields, const PublishingRule& rule,
                              const std::vector<PublishingRule>& rules) {
    if (rule.disableTranslateUrlInResponseHeaders) return;
    const bool any = std::any_of(fields.begin(), fields.end(), [](const auto& f) {
        return f.name() == http::field::location || f.name() == http::field::content_location ||
               f.name() == http::field::set_cookie;
    });
    if (!any) return;
    auto translate = [&](std::string_view url) -> std::optional<std::string> {
        if (auto t = translateUrl(url, rule.backendServerUrl, rule.externalUrl)) return t;
        for (const auto& other : rules) {
            if (&other == &rule || other.disableTranslateUrlInResponseHeaders) continue;
            if (auto t = translateUrl(url, other.backendServerUrl, other.externalUrl)) return t;
        }
        return std::nullopt;
    };
    for (auto name : {http::field::location, http::field::content_location}) {
        auto it = fields.find(name);
        if (it == fields.end()) continue;
        if (auto t = translate(toStd(it->value()))) fields.set(name, *t);
    }
    // Set-Cookie may repeat: rebuild the list in order.
    std::vector<std::string> cookies;
    bool changed = false;
    for (auto range = fields.equal_range(http::field::set_cookie); range.first != range.second;
         ++range.first) {
        const std::string_view v = toStd(range.first->value());
        auto t = translateSetCookieDomain(v, rule.backendServerUrl.host, rule.externalUrl.host);
        changed = changed || t.has_value();
        cookies.push_back(t ? *t : std::string(v));
    }
    if (changed) {
        fields.erase(http::field::set_cookie);
        for (const auto& c : cookies) fields.insert(http::field::set_cookie, c);
    }
}

std::string adfsRedirectLocation(std::string_view adfsUrl, const PublishingRule& rule,
                                 std::string_view target) {
    std::string location(adfsUrl);
    location += location.find('?') == std::string::npos ? '?' : '&';
    location += "wa=wsignin1.0&wtrealm=" + percentEncode(rule.externalUrl.str()) +
                "&wctx=" + percentEncode(rule.externalUrl.origin() + std::string(target));
    return location;
}

std::optional<std::size_t> findHeaderBlockEnd(std::string_view received) {
    const auto end = received.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    return end + 4;
}

namespace {

// RFC 9112 6.1-6.3: one way to delimit the body, and a Content-Length that
// is one number (request smuggling rides on the others).
std::optional<RequestRefusal> refuseFraming(const http::request_header<>& header) {
    using http::status;
    std::size_t lengths = 0, encodings = 0;
    for (const auto& f : header) {
        lengths += f.name() == http::field::content_length;
        encodings += f.name() == http::field::transfer_encoding;
    }
    if (lengths > 1) return RequestRefusal{status::bad_request, "duplicate Content-Length"};
    if (lengths == 1) {
        const std::string_view v = toStd(header[http::field::content_length]);
        if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
            })) {
            return RequestRefusal{status::bad_request, "Content-Length is not one number"};
        }
    }
    if (encodings == 0) return std::nullopt;
    if (lengths > 0) {
        return RequestRefusal{status::bad_request, "Content-Length with Transfer-Encoding"};
    }
    if (header.version() == 10) {
        return RequestRefusal{status::bad_request, "Transfer-Encoding in HTTP/1.0"};
    }
    if (encodings > 1 || !iequals(trim(toStd(header[http::field::transfer_encoding])), "chunked")) {
        return RequestRefusal{status::not_implemented,
                              "Transfer-Encoding other than chunked: " +
                                  std::string(header[http::field::transfer_encoding])};
    }
    return std::nullopt;
}

// RFC 9112 3.2: one Host, and a target in a form a server takes.
std::optional<RequestRefusal> refuseHostOrTarget(const http::request_header<>& header) {
    using http::status;
    const auto hosts = std::count_if(header.begin(), header.end(),
                                     [](const auto& f) { return f.name() == http::field::host; });
    if (hosts > 1) return RequestRefusal{status::bad_request, "more than one Host"};
    if (hosts == 0 && header.version() == 11) {
        return RequestRefusal{status::bad_request, "HTTP/1.1 request without Host"};
    }
    if (header.method() == http::verb::connect) {
        return RequestRefusal{status::not_implemented, "CONNECT is not proxied"};
    }
    const std::string_view target = toStd(header.target());
    if (target == "*") {
        if (header.method() != http::verb::options) {
            return RequestRefusal{status::bad_request, "asterisk-form outside OPTIONS"};
        }
    } else if (!target.starts_with('/')) {
        auto url = Url::parse(target);
        if (!url) return RequestRefusal{status::bad_request, "request target is not a URL"};
        const std::string hostHeader(header[http::field::host]);
        if (url->host != hostOfHostHeader(hostHeader)) {
            return RequestRefusal{status::bad_request,
                                  "absolute-form for another host (" + url->host + ")"};
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<RequestRefusal> validateRequest(const http::request_header<>& header,
                                              std::string_view rawHeaderBlock) {
    if (header.version() != 11 && header.version() != 10) {
        return RequestRefusal{http::status::http_version_not_supported, "HTTP/1.0 and 1.1 only"};
    }
    // Beast unfolds obs-fold silently; RFC 9112 5.2 lets a server refuse it.
    const auto firstLineEnd = rawHeaderBlock.find("\r\n");
    const std::string_view fields = rawHeaderBlock.substr(firstLineEnd + 2);
    if (fields.find("\r\n ") != std::string_view::npos ||
        fields.find("\r\n\t") != std::string_view::npos || fields.starts_with(' ') ||
        fields.starts_with('\t')) {
        return RequestRefusal{http::status::bad_request, "obs-fold (folded header line)"};
    }
    if (auto refusal = refuseFraming(header)) return refusal;
    return refuseHostOrTarget(header);
}

}  // namespace edgelab::proxy

namespace edgelab::proxy {

namespace {

// The comma-separated tokens of a list field (RFC 9110 5.6.1).
std::vector<std::string_view> listTokens(std::string_view value) {
    std::vector<std::string_view> tokens;
    while (!value.empty()) {
        const auto comma = value.find(',');
        const auto token = trim(value.substr(0, comma));
        if (!token.empty()) tokens.push_back(token);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return tokens;
}

bool listHas(const http::fields& fields, http::field name, std::string_view token) {
    for (auto range = fields.equal_range(name); range.first != range.second; ++range.first) {
        for (auto t : listTokens(toStd(range.first->value()))) {
            if (iequals(t, token)) return true;
        }
    }
    return false;
}

}  // namespace

std::optional<RequestRefusal> refuseBareLineEnds(std::string_view received) {
    // Up to the end of the header block; a body may hold any bytes.
    for (std::size_t i = 0; i < received.size(); ++i) {
        const char c = received[i];
        if (c == '\n') {
            if (i == 0 || received[i - 1] != '\r') {
                return RequestRefusal{http::status::bad_request,
                                      "bare LF (a line not ended by CRLF)"};
            }
            if (i >= 3 && received[i - 2] == '\n' && received[i - 3] == '\r') break;
        } else if (c == '\r' && i + 1 < received.size() && received[i + 1] != '\n') {
            return RequestRefusal{http::status::bad_request, "bare CR"};
        }
    }
    return std::nullopt;
}

boost::system::error_code pendingChunkProblem(std::string_view pending, std::size_t limit) {
    if (pending.size() > limit) return http::error::header_limit;
    for (auto lf = pending.find('\n'); lf != std::string_view::npos;
         lf = pending.find('\n', lf + 1))
        if (lf == 0 || pending[lf - 1] != '\r') return http::error::bad_chunk;
    return {};
}

std::optional<RequestRefusal> refuseEarly(std::string_view received) {
    if (auto refusal = refuseBareLineEnds(received)) return refusal;
    return refuseRequestLine(received);
}

std::optional<RequestRefusal> refuseRequestLine(std::string_view received) {
    const auto lineEnd = received.find("\r\n");
    if (lineEnd == std::string_view::npos) return std::nullopt;
    // The request line alone, given to Beast with an empty header block.
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(lineEnd + 4));
    std::string line(received.substr(0, lineEnd + 2));
    line += "\r\n";
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(line), ec);
    if (ec && ec != http::error::need_more) {
        // Beast parses HTTP/1.x only; a well-formed other version is
        // unsupported rather than malformed (RFC 9110 15.6.6).
        const std::string_view requestLine = received.substr(0, lineEnd);
        const auto version =
            requestLine.substr(requestLine.size() - std::min<std::size_t>(8, requestLine.size()));
        if (ec == http::error::bad_version && version.size() == 8 && version.starts_with("HTTP/") &&
            std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
            std::isdigit(static_cast<unsigned char>(version[7])) &&
            requestLine.find(' ') != requestLine.rfind(' ')) {
            return RequestRefusal{http::status::http_version_not_supported,
                                  "HTTP/1.0 and 1.1 only"};
        }
        return RequestRefusal{http::status::bad_request, "bad request line: " + ec.message()};
    }
    return std::nullopt;
}

void stripHopByHop(http::fields& fields, bool upgrading) {
    // Field names the Connection field lists (often just keep-alive or
    // close) are removed too, except Upgrade when switching protocols.
    std::vector<std::string_view> listed;
    for (const auto& f : fields) {
        if (f.name() != http::field::connection) continue;
        for (auto t : listTokens(toStd(f.value()))) {
            if (!(upgrading && iequals(t, "upgrade"))) listed.push_back(t);
        }
    }
    const auto hopByHop = [&](const auto& f) {
        switch (f.name()) {
            case http::field::connection:
            case http::field::keep_alive:
            case http::field::proxy_connection:
            case http::field::te:
            case http::field::transfer_encoding:
                return true;
            case http::field::upgrade:
                return !upgrading;
            default:
                return std::any_of(listed.begin(), listed.end(), [&](std::string_view name) {
                    return iequals(name, toStd(f.name_string()));
                });
        }
    };
    // One pass, each field erased where it stands: no lookup by name. The
    // listed names point into the Connection fields, so those go last.
    for (auto it = fields.begin(); it != fields.end();) {
        const bool erase = it->name() != http::field::connection && hopByHop(*it);
        it = erase ? fields.erase(it) : std::next(it);
    }
    for (auto it = fields.begin(); it != fields.end();) {
        it = it->name() == http::field::connection ? fields.erase(it) : std::next(it);
    }
}

bool upgradeRequested(const http::request_header<>& header) {
    return header.count(http::field::upgrade) > 0 &&
           listHas(header, http::field::connection, "upgrade");
}

std::optional<std::string> originFormOf(std::string_view target) {
    if (target.starts_with('/') || target == "*") return std::nullopt;
    const auto scheme = target.find("://");
    if (scheme == std::string_view::npos) return std::nullopt;
    const auto pathStart = target.find_first_of("/?#", scheme + 3);
    if (pathStart == std::string_view::npos) return std::string("/");
    const std::string_view rest = target.substr(pathStart);
    if (rest.starts_with('/')) return std::string(rest);
    if (rest.starts_with('?')) return "/" + std::string(rest);
    return std::string("/");  // a fragment is never sent (RFC 9110 4.2.4)
}

bool isIdempotent(http::verb method) {
    switch (method) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::options:
        case http::verb::trace:
        case http::verb::put:
        case http::verb::delete_:
            return true;
        default:
            return false;
    }
}

AfterFailure afterFailure(const FailedExchange& f) {
    if (f.timedOut) return AfterFailure::GatewayTimeout;
    if (!f.reusedConnection || f.responseStarted || !f.bodyReplayable) {
        return AfterFailure::BadGateway;
    }
    // A pooled connection the backend closed while it sat idle: an
    // idempotent request may be sent again whatever happened to it. A
    // failed write means bytes of this request never reached the backend,
    // so it never had the complete request and cannot have acted on it —
    // the case RFC 9110 9.2.2 allows for any method. A request fully
    // written and then unanswered may have been acted on: not retried.
    if (f.idempotent || f.requestWriteFailed) return AfterFailure::RetryOnNewConnection;
    return AfterFailure::BadGateway;
}

ResponseFraming decideResponseFraming(const ResponseFacts& f) {
    const bool noBody =
        f.headRequest || f.status == 204 || f.status == 304 || (f.status >= 100 && f.status < 200);
    const bool framed = noBody || f.chunked || f.contentLength;
    ResponseFraming out;
    out.keepClientAlive = f.clientKeepAlive && framed && f.requestBodyDone;
    // An HTTP/1.0 client cannot keep a chunked response's connection; the
    // status line stays 1.1 so that the chunked framing it carries is legal.
    if (f.clientVersion == 10 && f.chunked) out.keepClientAlive = false;
    out.version = f.clientVersion == 10 && !f.chunked ? 10 : 11;
    return out;
}

bool isConnectionAuthenticationScheme(std::string_view value) {
    const std::string_view v = trim(value);
    const auto space = v.find(' ');
    const std::string_view scheme = v.substr(0, space);
    return iequals(scheme, "NTLM") || iequals(scheme, "Negotiate");
}

bool pinsBackendConnection(const http::request_header<>& request,
                           const http::response_header<>& response) {
    if (isConnectionAuthenticationScheme(toStd(request[http::field::authorization]))) return true;
    if (response.result() != http::status::unauthorized) return false;
    for (auto range = response.equal_range(http::field::www_authenticate);
         range.first != range.second; ++range.first) {
        // One field may carry several challenges; each starts with its scheme.
        for (auto challenge : listTokens(toStd(range.first->value()))) {
            if (isConnectionAuthenticationScheme(challenge)) return true;
        }
    }
    return false;
}

}  // namespace edgelab::proxy
