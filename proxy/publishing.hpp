// WAP publishing as pure functions: which application a request is for, how
// its headers are translated on the way in and out, and which requests are
// refused before anything is forwarded. The session calls these and does I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
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

// Full-domain publishing: the application whose external URL has this host
// and port and the longest path prefix of `target`.
RouteDecision routeRequest(const std::vector<PublishingRule>& rules, std::string_view hostHeader,
                           std::string_view target, std::uint16_t publishedPort,
                           const std::vector<std::string>& certificateNames);

// `url` with `from`'s origin and path prefix replaced by `to`'s; nullopt when
// `url` is not under `from` (host compared without case, default port optional).
std::optional<std::string> translateUrl(std::string_view url, const Url& from, const Url& to);

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

namespace edgelab::proxy {

// --- what a request's first bytes already give away ---

// A refusal that need not wait for the end of the header block: a bare LF or
// CR (RFC 9112 2.2: a server may refuse them; Beast's parser waits for
// CRLFCRLF and would never see the block end), or a first line that is not
// `method SP target SP HTTP/x.y` (an HTTP/0.9 `GET /`). Both would otherwise
// wait for the header timeout with nothing sent.
std::optional<RequestRefusal> refuseEarly(std::string_view received);
// Its two halves: the line ends (up to the end of the header block), and the
// request line (nullopt until a whole line has arrived).
std::optional<RequestRefusal> refuseBareLineEnds(std::string_view received);

// What a chunked body's parser is still waiting on (a chunk-size line, the
// last chunk or the trailer section; Beast consumes chunk data as it comes)
// judged before waiting on: a bare LF ends no line in RFC 9112 7.1, and Beast
// would wait for the CRLF until the read timed out, so it is bad_chunk at
// once; more than `limit` bytes (the trailer section counts against the
// header limit, RFC 9112 7.1.2) is header_limit, where Beast would buffer
// without end. Empty: wait for more.
boost::system::error_code pendingChunkProblem(std::string_view pending, std::size_t limit);
std::optional<RequestRefusal> refuseRequestLine(std::string_view received);

// --- forwarding one exchange ---

// Removes the hop-by-hop fields of RFC 9110 7.6.1 (those the Connection field
// lists, Connection, Keep-Alive, Proxy-Connection, TE, Upgrade,
// Transfer-Encoding: framing is the serializer's) before a message is sent
// on. With `upgrading` the Upgrade field is kept (the caller sets
// Connection: upgrade itself).
void stripHopByHop(http::fields& fields, bool upgrading);

// Whether a request asks to switch protocols (Upgrade listed in Connection).
bool upgradeRequested(const http::request_header<>& header);

// The origin-form (path and query) of an absolute-form target, as WAP sends
// it on (RFC 9112 3.2.2: a server must accept absolute-form; a backend that
// is not a proxy expects origin-form). The path is kept byte for byte.
// nullopt when `target` is not absolute-form.
std::optional<std::string> originFormOf(std::string_view target);

// RFC 9110 9.2.2.
bool isIdempotent(http::verb method);

// How an exchange with a backend failed, as far as a retry depends on it.
struct FailedExchange {
    bool reusedConnection = false;    // from the pool, not connected for this request
    bool timedOut = false;            // inactiveTransactionsTimeoutSec passed
    bool responseStarted = false;     // any byte of the response arrived
    bool requestWriteFailed = false;  // a write of the request failed (else: reading the answer)
    bool idempotent = false;
    bool bodyReplayable = true;  // every body byte already sent is still held
};

enum class AfterFailure { RetryOnNewConnection, BadGateway, GatewayTimeout };

// One retry, on a new connection, when the backend can be known not to have
// acted on the request (RFC 9110 9.2.2): a reused connection that failed
// before any byte of the answer, and either an idempotent method or a write
// that failed (so the backend never had the whole request).
AfterFailure afterFailure(const FailedExchange& failure);

// Whether the client connection stays open after a forwarded response, and
// what the response must say for it.
struct ResponseFraming {
    bool keepClientAlive = false;
    unsigned version = 11;  // toward the client
};

struct ResponseFacts {
    unsigned clientVersion = 11;
    bool clientKeepAlive = true;
    bool requestBodyDone = true;  // the client's whole body was read
    bool chunked = false;
    bool contentLength = false;
    bool headRequest = false;
    int status = 200;
};

// A response delimited by the close of the connection (neither chunked nor a
// Content-Length) ends the client's connection; so does a request whose body
// was not read to its end. Chunked framing needs HTTP/1.1.
ResponseFraming decideResponseFraming(const ResponseFacts& facts);

// --- connection-oriented authentication (NTLM, Negotiate) ---

// Whether a value of Authorization or WWW-Authenticate names NTLM or
// Negotiate, the schemes that authenticate a connection rather than a
// request (RFC 4559 and [MS-NTHT]).
bool isConnectionAuthenticationScheme(std::string_view authorizationOrChallenge);

// Whether this exchange ties the client connection to its backend connection
// until either closes, as WAP and ARR do: the request carries NTLM or
// Negotiate credentials, or the backend challenges with them.
bool pinsBackendConnection(const http::request_header<>& request,
                           const http::response_header<>& response);

}  // namespace edgelab::proxy
