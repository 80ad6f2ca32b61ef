// A TLS backend for the proxy's end-to-end tests: it reports what reached
// it, so a test can see what the proxy forwarded. Paths:
//   /redirect  302 to https://HOST:PORT/x with a cookie and Content-Location on HOST
//   /hold?ms=N answers after N ms (the inactive-transaction timeout)
//   /drop      closes the connection without answering
//   /chunked   a chunked body in several pieces
//   else       200, a body naming the request line, Host and this backend's host
// Usage: edgelab-proxy-test-backend --listen ADDR:0 --cert PEM --key PEM --host NAME
//        [--url-port PORT]
// prints `READY https://ADDR:PORT` when listening.
#include <iostream>
#include <string>
#include <thread>

#include "provision/net/asio.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string str(beast::string_view s) { return std::string(s.data(), s.size()); }

// `port` is the one the backend's URLs name (4443 for a Lync front end), not
// necessarily the one it listens on.
void serve(tcp::socket socket, ssl::context& ctx, const std::string& host, unsigned short port) {
    beast::error_code ec;
    ssl::stream<tcp::socket> stream(std::move(socket), ctx);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        http::read(stream, buffer, parser, ec);
        if (ec) return;
        auto req = parser.release();
        const std::string target = str(req.target());
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/plain");
        res.keep_alive(req.keep_alive());
        if (target == "/drop") {
            stream.next_layer().close(ec);
            return;
        }
        if (target.rfind("/hold?ms=", 0) == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(target.substr(9))));
        }
        const std::string self = "https://" + host + ":" + std::to_string(port);
        if (target == "/redirect") {
            res.result(http::status::found);
            res.set(http::field::location, self + "/x");
            res.set(http::field::content_location, self + "/y");
            res.insert(http::field::set_cookie, "session=1; Domain=" + host + "; Path=/");
        }
        res.body() = "request-line: " + str(req.method_string()) + " " + target + "\n" +
                     "host: " + str(req[http::field::host]) + "\n" + "backend: " + host + "\n" +
                     "x-forwarded-for: " + str(req["X-Forwarded-For"]) + "\n" +
                     "x-forwarded-proto: " + str(req["X-Forwarded-Proto"]) + "\n" +
                     "body-bytes: " + std::to_string(req.body().size()) + "\n" + "link: " + self +
                     "/in-the-body\n";
        if (target == "/chunked") {
            http::response<http::empty_body> head{http::status::ok, req.version()};
            head.chunked(true);
            head.keep_alive(req.keep_alive());
            http::response_serializer<http::empty_body> sr{head};
            http::write_header(stream, sr, ec);
            for (int i = 0; i < 5; ++i) {
                const std::string piece = "piece " + std::to_string(i) + "\n";
                asio::write(stream, http::make_chunk(asio::buffer(piece)), ec);
            }
            asio::write(stream, http::make_chunk_last(), ec);
            if (ec || !req.keep_alive()) return;
            continue;
        }
        res.prepare_payload();
        http::write(stream, res, ec);
        if (ec || !req.keep_alive()) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen, cert, key, host, urlPort;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--listen")
            listen = argv[i + 1];
        else if (a == "--cert")
            cert = argv[i + 1];
        else if (a == "--key")
            key = argv[i + 1];
        else if (a == "--host")
            host = argv[i + 1];
        else if (a == "--url-port")
            urlPort = argv[i + 1];
    }
    if (listen.empty() || cert.empty() || key.empty() || host.empty()) {
        std::cerr << "usage: --listen ADDR:PORT --cert PEM --key PEM --host NAME\n";
        return 2;
    }
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, ssl::context::pem);
    asio::io_context ioc;
    const auto colon = listen.rfind(':');
    tcp::acceptor acceptor(ioc, {asio::ip::make_address(listen.substr(0, colon)),
                                 static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))});
    const auto port = acceptor.local_endpoint().port();
    const auto named = urlPort.empty() ? port : static_cast<unsigned short>(std::stoi(urlPort));
    std::cout << "READY https://" << listen.substr(0, colon) << ":" << port << std::endl;
    for (;;) {
        tcp::socket socket(ioc);
        acceptor.accept(socket);
        std::thread(serve, std::move(socket), std::ref(ctx), host, named).detach();
    }
}
