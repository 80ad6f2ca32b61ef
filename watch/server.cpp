#include "watch/server.hpp"

#include <mutex>
#include <thread>

#include "net/asio.hpp"

namespace edgelab::watch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::mutex m;
    std::shared_ptr<const Pages> pages = std::make_shared<Pages>();
    std::thread thread;

    std::shared_ptr<const Pages> current() {
        std::lock_guard lock(m);
        return pages;
    }
    void accept();
};

namespace {

constexpr std::chrono::seconds kIdle{30};

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         const Pages& pages) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "edgelab-watch");
    res.keep_alive(req.keep_alive());
    auto text = [&](http::status status, std::string body, const char* type) {
        res.result(status);
        res.set(http::field::content_type, type);
        res.body() = std::move(body);
    };
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        text(http::status::method_not_allowed, "GET or HEAD only\n", "text/plain; charset=utf-8");
        res.set(http::field::allow, "GET, HEAD");
    } else if (target == "/metrics") {
        text(http::status::ok, pages.metrics, "text/plain; version=0.0.4; charset=utf-8");
    } else if (target == "/healthz") {
        text(static_cast<http::status>(pages.health.status), pages.health.body,
             "text/plain; charset=utf-8");
    } else if (target == "/report") {
        if (pages.report.empty())
            text(http::status::service_unavailable, "no run has finished yet\n",
                 "text/plain; charset=utf-8");
        else
            text(http::status::ok, pages.report, "application/json");
    } else if (target == "/history") {
        text(http::status::ok, pages.history, "application/json");
    } else if (target == "/") {
        text(http::status::ok, "edgelab watch: /metrics /healthz /report /history\n",
             "text/plain; charset=utf-8");
    } else {
        text(http::status::not_found, "not found; try /metrics /healthz /report /history\n",
             "text/plain; charset=utf-8");
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
}

// One connection: requests answered in turn until the client closes it or
// stays idle.
struct Session : std::enable_shared_from_this<Session> {
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    Server::Impl* server;  // outlives every session: its io_context holds them

    Session(tcp::socket s, Server::Impl* srv) : stream(std::move(s)), server(srv) {}

    void read() {
        req = {};
        stream.expires_after(kIdle);
        http::async_read(
            stream, buffer, req,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
    }
    void onRead(beast::error_code ec) {
        // The client closed, went idle or sent what is not HTTP: this
        // connection ends, the endpoint goes on.
        if (ec) return close();
        res = answer(req, *server->current());
        stream.expires_after(kIdle);
        http::async_write(stream, res,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              if (self->res.keep_alive())
                                  self->read();
                              else
                                  self->close();
                          });
    }
    void close() {
        beast::error_code ignored;  // the peer may have gone already
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
    }
};

}  // namespace

void Server::Impl::accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted) return;  // stopped
        if (!ec) std::make_shared<Session>(std::move(s), this)->read();
        accept();
    });
}

Server::Server(const Endpoint& listen) : impl_(std::make_shared<Impl>()) {
    try {
        const tcp::endpoint ep(asio::ip::make_address(listen.host), listen.port);
        impl_->acceptor.open(ep.protocol());
        impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
        impl_->acceptor.bind(ep);
        impl_->acceptor.listen();
    } catch (const boost::system::system_error& e) {
        throw ListenError("cannot listen on " + listen.str() + ": " + e.code().message());
    }
}

Server::~Server() { stop(); }

Endpoint Server::bound() const {
    const auto ep = impl_->acceptor.local_endpoint();
    return {ep.address().to_string(), ep.port()};
}

void Server::publish(std::shared_ptr<const Pages> pages) {
    std::lock_guard lock(impl_->m);
    impl_->pages = std::move(pages);
}

void Server::start() {
    impl_->accept();
    impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

void Server::stop() {
    if (!impl_->thread.joinable()) return;
    asio::post(impl_->io, [impl = impl_] {
        beast::error_code ignored;  // closing a closed acceptor is harmless
        impl->acceptor.close(ignored);
        impl->io.stop();
    });
    impl_->thread.join();
}

}  // namespace edgelab::watch
