// A TLS backend for the proxy's end-to-end tests: it reports what reached
// it, so a test can see what the proxy forwarded. Paths:
//   /redirect   302 to https://HOST:PORT/x with a cookie and Content-Location on HOST
//   /together?n=N  answers once N requests wait here at the same time: N
//               backend connections open at once (a pool filled), by event
//   /stall      never answers; reads until the proxy closes the connection
//               (the inactive-transaction timeout)
//   /stall-body 200 with a chunked body whose first piece comes at once and
//               the rest never: the connection stays busy until it is closed
//   /release?name=X  lets one request waiting on X go on (see /truncate)
//   /drop       closes the connection without answering
//   /then-close 200 with keep-alive, then close_notify and a FIN (a backend's
//               idle close while the connection sits in the proxy's pool);
//               logs "closed N" once the FIN is sent
//   /chunked    a chunked body in several pieces
//   /headers    200, the body lists every request field as received
//   /hop-by-hop 200 with hop-by-hop fields the proxy must not pass on
//   /interim    103 Early Hints, then 200 with a 20 KiB header field
//   /upgrade    101 Switching Protocols (Upgrade: echo), then echoes every byte
//   /large?mb=N N MiB of body (Content-Length), then the connection ends
//   /truncate   Content-Length 1000, 10 bytes, then a TCP reset once
//               /release?name=truncate came (the client saw the 10 bytes)
//   /truncate-close  the same with a close-delimited body
//   /reset      a TCP reset before any answer
//   /endless-header, /endless-chunk-line, /endless-trailer  a response whose
//               header field, chunk extension or trailer field never ends:
//               written 16 KiB at a time until the peer's close shows (or
//               8 MiB, then it waits for the close); logs "endless-ended N
//               HOW wrote BYTES" (N the connection), HOW the peer's close as
//               seen: close_notify, fin (no close_notify), reset (or a write
//               failing for it), and closes
//   /ntlm       a connection-oriented two-leg handshake as IIS does NTLM:
//               NTLM type 1 gets 401 + a challenge, type 3 gets 200 only on
//               the connection that was challenged; nothing else gets 401
//   else        200, a body naming the request line, Host and this backend's host
// Usage: edgelab-proxy-test-backend --listen ADDR:0 --cert PEM --key PEM --host NAME
//        [--url-port PORT] [--requests-per-connection K] [--log FILE]
// --requests-per-connection K: after K answers a connection reads the next
// request and closes without answering (a backend's idle close racing a
// proxy's reuse). --log: one line per request received ("request N METHOD
// TARGET", N the connection), per connection its TLS handshake ("tls N full"
// or "tls N resumed") and the peer's close ("peer-closed N").
// Prints `READY https://ADDR:PORT` when listening.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/endpoint.hpp"
#include "net/asio.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<tcp::socket>;

namespace {

// The digits a test wrote ("mb=8", "ms=250"); 0 for anything else.
std::size_t numberIn(std::string_view text) {
    std::size_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

std::string str(beast::string_view s) { return std::string(s.data(), s.size()); }

struct Options {
    std::string host;
    unsigned short urlPort = 0;
    int requestsPerConnection = 0;  // 0: no limit
    std::string logFile;
};

std::mutex logMutex;
std::atomic<int> connections{0};

// Requests that wait for one another or for a test's go-ahead.
std::mutex eventMutex;
std::condition_variable eventChanged;
std::map<std::string, int> released;  // /release?name=X counts, each taken once
int together = 0;                     // requests waiting in /together
int togetherRound = 0;                // bumped when a /together group goes on

void waitTogether(std::size_t n) {
    std::unique_lock lock(eventMutex);
    const int round = togetherRound;
    if (static_cast<std::size_t>(++together) >= n) {
        together = 0;
        ++togetherRound;
        eventChanged.notify_all();
        return;
    }
    eventChanged.wait(lock, [&] { return togetherRound != round; });
}

void release(const std::string& name) {
    std::lock_guard lock(eventMutex);
    ++released[name];
    eventChanged.notify_all();
}

void waitReleased(const std::string& name) {
    std::unique_lock lock(eventMutex);
    eventChanged.wait(lock, [&] { return released[name] > 0; });
    --released[name];
}

// Reads and drops whatever comes until the peer closes.
void readUntilClosed(TlsStream& stream) {
    beast::error_code ec;
    char buf[4096];
    while (!ec) stream.read_some(asio::buffer(buf), ec);
}

void logLine(const Options& o, const std::string& line) {
    if (o.logFile.empty()) return;
    std::lock_guard lock(logMutex);
    std::ofstream(o.logFile, std::ios::app) << line << std::endl;
}

void reset(TlsStream& stream) {
    beast::error_code ec;
    stream.next_layer().set_option(asio::socket_base::linger(true, 0), ec);
    stream.next_layer().close(ec);
}

std::string describe(const http::request<http::string_body>& req, const Options& o) {
    const std::string self = "https://" + o.host + ":" + std::to_string(o.urlPort);
    return "request-line: " + str(req.method_string()) + " " + str(req.target()) + "\n" +
           "host: " + str(req[http::field::host]) + "\n" + "backend: " + o.host + "\n" +
           "x-forwarded-for: " + str(req["X-Forwarded-For"]) + "\n" +
           "x-forwarded-proto: " + str(req["X-Forwarded-Proto"]) + "\n" +
           "body-bytes: " + std::to_string(req.body().size()) + "\n" + "link: " + self +
           "/in-the-body\n";
}

void writeChunked(TlsStream& stream, const http::request<http::string_body>& req, bool stall) {
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.chunked(true);
    head.keep_alive(req.keep_alive());
    http::response_serializer<http::empty_body> sr{head};
    beast::error_code ec;
    http::write_header(stream, sr, ec);
    for (int i = 0; i < 5; ++i) {
        if (i == 1 && stall) return readUntilClosed(stream);
        const std::string piece = "piece " + std::to_string(i) + "\n";
        asio::write(stream, http::make_chunk(asio::buffer(piece)), ec);
    }
    asio::write(stream, http::make_chunk_last(), ec);
}

void echoForever(TlsStream& stream, beast::flat_buffer& buffer) {
    beast::error_code ec;
    if (buffer.size()) asio::write(stream, buffer.data(), ec);
    char buf[4096];
    for (;;) {
        const std::size_t n = stream.read_some(asio::buffer(buf), ec);
        if (ec) return;
        asio::write(stream, asio::buffer(buf, n), ec);
        if (ec) return;
    }
}

// NTLM message type from the base64 of "NTLMSSP\0" + a little-endian type.
int ntlmMessageType(std::string_view authorization) {
    if (authorization.rfind("NTLM TlRMTVNTUAAB", 0) == 0) return 1;
    if (authorization.rfind("NTLM TlRMTVNTUAAD", 0) == 0) return 3;
    return 0;
}

// The start of a response whose last line then never ends, for each
// /endless-* target; empty for any other target.
std::string endlessStart(const std::string& target) {
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (target == "/endless-header") return "HTTP/1.1 200 OK\r\nX-Endless: ";
    if (target == "/endless-chunk-line") return chunked + "5;ext=";
    if (target == "/endless-trailer") return chunked + "5\r\nhello\r\n0\r\nX-Endless: ";
    return {};
}

// How the peer's close looks from here, once the socket is readable (or
// after a blocking read): what a lingering close sends is close_notify.
std::string closeSeen(TlsStream& stream) {
    beast::error_code ec;
    char c;
    stream.read_some(asio::buffer(&c, 1), ec);
    if (ec == asio::error::eof) return "close_notify";
    if (ec == ssl::error::stream_truncated) return "fin";
    if (ec) return "reset (read: " + ec.message() + ")";
    return "bytes";
}

void writeEndless(TlsStream& stream, const std::string& start, const Options& o, int id) {
    beast::error_code ec;
    asio::write(stream, asio::buffer(start), ec);
    const std::string piece(16 * 1024, 'e');
    std::size_t sent = 0;
    std::string how;
    while (how.empty() && sent < 8u * 1024 * 1024) {
        sent += asio::write(stream, asio::buffer(piece), ec);
        if (ec) {
            how = "reset (write: " + ec.message() + ")";
            break;
        }
        pollfd p{stream.next_layer().native_handle(), POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) how = closeSeen(stream);
    }
    if (how.empty()) how = closeSeen(stream);
    logLine(o,
            "endless-ended " + std::to_string(id) + " " + how + " wrote " + std::to_string(sent));
    stream.next_layer().close(ec);
}

// Answers one request; false when the connection is to end.
bool answer(TlsStream& stream, beast::flat_buffer& buffer, http::request<http::string_body>& req,
            const Options& o, bool& challenged, int id) {
    const std::string target = str(req.target());
    if (const auto start = endlessStart(target); !start.empty()) {
        writeEndless(stream, start, o, id);
        return false;
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    beast::error_code ec;
    if (target == "/drop") return false;
    if (target == "/upgrade") {
        res.result(http::status::switching_protocols);
        res.set(http::field::upgrade, "echo");
        res.set(http::field::connection, "Upgrade");
        http::response_serializer<http::string_body> sr{res};
        http::write_header(stream, sr, ec);
        echoForever(stream, buffer);
        return false;
    }
    if (target == "/truncate" || target == "/truncate-close") {
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
        head +=
            target == "/truncate" ? "Content-Length: 1000\r\n\r\n" : "Connection: close\r\n\r\n";
        asio::write(stream, asio::buffer(head + "0123456789"), ec);
        // A reset discards what the peer has not read yet: the test lets it
        // come once its client has the 10 bytes, so it is mid-response.
        waitReleased("truncate");
        reset(stream);
        return false;
    }
    if (target == "/reset") {
        reset(stream);
        return false;
    }
    if (target == "/stall") {
        readUntilClosed(stream);
        return false;
    }
    if (target.rfind("/release?name=", 0) == 0) release(target.substr(14));
    if (target.rfind("/together?n=", 0) == 0) waitTogether(numberIn(target.substr(12)));
    if (target.rfind("/large?mb=", 0) == 0) {
        const std::size_t total = numberIn(target.substr(10)) * 1024 * 1024;
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n";
        asio::write(stream, asio::buffer(head), ec);
        const std::string piece(64 * 1024, 'L');
        for (std::size_t sent = 0; !ec && sent < total; sent += piece.size()) {
            asio::write(stream, asio::buffer(piece), ec);
        }
        return false;
    }
    if (target == "/chunked" || target == "/stall-body") {
        writeChunked(stream, req, target == "/stall-body");
        return target == "/chunked" && req.keep_alive();
    }
    const std::string self = "https://" + o.host + ":" + std::to_string(o.urlPort);
    res.body() = describe(req, o);
    if (target == "/redirect") {
        res.result(http::status::found);
        res.set(http::field::location, self + "/x");
        res.set(http::field::content_location, self + "/y");
        res.insert(http::field::set_cookie, "session=1; Domain=" + o.host + "; Path=/");
    } else if (target == "/headers") {
        for (const auto& f : req)
            res.body() += "field: " + str(f.name_string()) + ": " + str(f.value()) + "\n";
    } else if (target == "/hop-by-hop") {
        res.set(http::field::connection, "X-Hop, keep-alive");
        res.set("X-Hop", "1");
        res.set(http::field::keep_alive, "timeout=5");
        res.set(http::field::proxy_connection, "keep-alive");
        res.set(http::field::upgrade, "h2c");
        res.set("X-End-To-End", "kept");
    } else if (target == "/interim") {
        http::response<http::empty_body> hints{static_cast<http::status>(103), 11};
        hints.set(http::field::link, "</style.css>; rel=preload");
        http::write(stream, hints, ec);
        res.set("X-Large", std::string(20 * 1024, 'h'));
    } else if (target == "/ntlm") {
        const int type = ntlmMessageType(str(req[http::field::authorization]));
        if (type == 1) {
            challenged = true;
            res.result(http::status::unauthorized);
            res.set(http::field::www_authenticate, "NTLM TlRMTVNTUAACAAAAchallenge");
        } else if (type == 3 && challenged) {
            res.body() = "authenticated on the challenged connection\n";
        } else {
            res.result(http::status::unauthorized);
            res.insert(http::field::www_authenticate, "Negotiate");
            res.insert(http::field::www_authenticate, "NTLM");
        }
    }
    res.prepare_payload();
    http::write(stream, res, ec);
    return !ec && req.keep_alive();
}

void serve(tcp::socket socket, ssl::context& ctx, const Options& o) {
    const int id = ++connections;
    beast::error_code ec;
    TlsStream stream(std::move(socket), ctx);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    logLine(o, "tls " + std::to_string(id) +
                   (SSL_session_reused(stream.native_handle()) ? " resumed" : " full"));
    beast::flat_buffer buffer;
    bool challenged = false;
    for (int answered = 0;; ++answered) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(64 * 1024);
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        http::read(stream, buffer, parser, ec);
        if (ec) {
            if (ec == http::error::end_of_stream || ec == ssl::error::stream_truncated) {
                logLine(o, "peer-closed " + std::to_string(id));
            }
            return;
        }
        auto req = parser.release();
        logLine(o, "request " + std::to_string(id) + " " + str(req.method_string()) + " " +
                       str(req.target()));
        if (o.requestsPerConnection && answered >= o.requestsPerConnection) {
            stream.next_layer().close(ec);  // a FIN after the request arrived
            return;
        }
        if (!answer(stream, buffer, req, o, challenged, id)) return;
        if (req.target() == "/then-close") {
            SSL_shutdown(stream.native_handle());  // close_notify, the proxy's not waited for
            stream.next_layer().close(ec);
            logLine(o, "closed " + std::to_string(id));
            return;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen, cert, key;
    Options o;
    std::string urlPort;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::string v = argv[i + 1];
        if (a == "--listen")
            listen = v;
        else if (a == "--cert")
            cert = v;
        else if (a == "--key")
            key = v;
        else if (a == "--host")
            o.host = v;
        else if (a == "--url-port")
            urlPort = v;
        else if (a == "--requests-per-connection")
            o.requestsPerConnection = static_cast<int>(numberIn(v));
        else if (a == "--log")
            o.logFile = v;
    }
    if (listen.empty() || cert.empty() || key.empty() || o.host.empty()) {
        std::cerr << "usage: --listen ADDR:PORT --cert PEM --key PEM --host NAME\n";
        return 2;
    }
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, ssl::context::pem);
    asio::io_context ioc;
    const auto at =
        edgelab::parseEndpoint(listen, edgelab::EndpointHost::Address, edgelab::PortZero::Any);
    const auto given = urlPort.empty() ? std::nullopt : edgelab::parsePort(urlPort).optional();
    if (!at || (!urlPort.empty() && !given)) {
        std::cerr << "--listen " << listen << " / --url-port " << urlPort << ": "
                  << (at ? "bad --url-port" : at.error()) << "\n";
        return 2;
    }
    tcp::acceptor acceptor(ioc, {asio::ip::make_address(at->host), at->port});
    const auto port = acceptor.local_endpoint().port();
    o.urlPort = given.value_or(port);
    std::cout << "READY https://" << edgelab::Endpoint{at->host, port}.str() << std::endl;
    for (;;) {
        tcp::socket socket(ioc);
        acceptor.accept(socket);
        std::thread(serve, std::move(socket), std::ref(ctx), std::cref(o)).detach();
    }
}
