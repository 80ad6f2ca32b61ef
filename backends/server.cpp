#include "backends/server.hpp"

#include "common/endpoint.hpp"
#include "common/utc_time.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "backends/request_target.hpp"
#include "backends/response.hpp"
#include "backends/ucwa.hpp"

namespace edgelab::backends {

namespace beast = boost::beast;
using nlohmann::json;

std::string to_string(FaultMode mode) {
    switch (mode) {
        case FaultMode::None:
            return "none";
        case FaultMode::Slow:
            return "slow";
        case FaultMode::Reset:
            return "reset";
        case FaultMode::Stop:
            return "stop";
    }
    return "none";
}

Parsed<Fault> parseFault(std::string_view body) {
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return Parsed<Fault>::failure(
            "expected a JSON object {\"mode\":\"none|slow|reset|stop\",\"delayMs\":N}");
    }
    Fault fault;
    auto mode = doc.find("mode");
    if (mode == doc.end() || !mode->is_string()) {
        return Parsed<Fault>::failure("/mode: expected one of none, slow, reset, stop");
    }
    const auto& m = mode->get_ref<const std::string&>();
    if (m == "none")
        fault.mode = FaultMode::None;
    else if (m == "slow")
        fault.mode = FaultMode::Slow;
    else if (m == "reset")
        fault.mode = FaultMode::Reset;
    else if (m == "stop")
        fault.mode = FaultMode::Stop;
    else {
        return Parsed<Fault>::failure("/mode: expected one of none, slow, reset, stop, got \"" + m +
                                      "\"");
    }
    if (auto delay = doc.find("delayMs"); delay != doc.end()) {
        if (!delay->is_number_integer() || delay->get<long long>() < 0 ||
            delay->get<long long>() > 3'600'000) {
            return Parsed<Fault>::failure("/delayMs: expected an integer from 0 to 3600000");
        }
        fault.delay = std::chrono::milliseconds(delay->get<long long>());
    }
    return fault;
}

std::optional<tcp::endpoint> parseEndpoint(std::string_view text) {
    const auto e = edgelab::parseEndpoint(text, EndpointHost::Address, PortZero::Any);
    if (!e) return std::nullopt;
    return tcp::endpoint(asio::ip::make_address(e->host), e->port);
}

std::string endpointText(const tcp::endpoint& ep) {
    auto a = ep.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return host + ":" + std::to_string(ep.port());
}

namespace {

std::string utcNow() { return utcMillis(std::chrono::system_clock::now()); }

// One JSON object per line, appended and flushed as each answer is sent, so
// a test or a check can read it while the backend runs.
class AccessLog {
  public:
    void open(const std::filesystem::path& file) {
        out_.open(file, std::ios::app);
        if (!out_)
            throw std::runtime_error("--access-log: cannot open " + file.string() + ": " +
                                     std::strerror(errno));
        enabled_ = true;
    }
    void write(const json& entry) {
        if (!enabled_) return;
        // Invalid UTF-8 in a target must not throw on the data path.
        std::string line = entry.dump(-1, ' ', false, json::error_handler_t::replace);
        std::lock_guard lock(mutex_);
        out_ << line << '\n';
        out_.flush();
    }

  private:
    std::mutex mutex_;
    std::ofstream out_;
    bool enabled_ = false;
};

// What one answered request leaves in the access log.
struct Exchange {
    std::string time;
    std::string host;
    std::string method;
    std::string target;
    std::chrono::steady_clock::time_point started;
};

constexpr auto kHandshakeTimeout = std::chrono::seconds(15);
constexpr auto kWriteTimeout = std::chrono::seconds(30);

}  // namespace

class TlsSession;

struct BackendServer::State : std::enable_shared_from_this<BackendServer::State> {
    State(asio::io_context& ioc, ssl::context& tls, ServerOptions opts)
        : ioc(ioc), tls(tls), options(std::move(opts)), acceptor(asio::make_strand(ioc)) {}

    asio::io_context& ioc;
    ssl::context& tls;
    ServerOptions options;
    tcp::acceptor acceptor;  // used on its strand only
    tcp::endpoint bound;
    std::optional<tcp::acceptor> control;
    tcp::endpoint controlBound;
    AccessLog accessLog;

    std::mutex faultMutex;
    Fault fault;

    // Requests answered later (the event channel's hold, a slow fault),
    // reported by /healthz so a test can see them held at once.
    std::atomic<int> held{0};

    std::mutex sessionsMutex;
    std::unordered_map<const void*, std::weak_ptr<TlsSession>> sessions;

    // The held reply of each hold key (a UCWA application's pending P-GET).
    std::mutex heldMutex;
    std::unordered_map<std::string, std::weak_ptr<TlsSession>> heldByKey;
    void holdUnderKey(const std::string& key, const std::shared_ptr<TlsSession>& session);

    Fault currentFault() {
        std::lock_guard lock(faultMutex);
        return fault;
    }

    void openListener(const tcp::endpoint& ep) {
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
    }

    void doAccept();
    void onAccept(beast::error_code ec, tcp::socket socket);
    void doAcceptControl();
    void applyFault(const Fault& next);
    void closeSessions();
    Response answerControl(const Request& req);
};

namespace {

bool isParseError(const beast::error_code& ec) {
    return ec.category() == beast::http::make_error_code(beast::http::error::bad_method).category();
}

}  // namespace

class TlsSession : public std::enable_shared_from_this<TlsSession> {
  public:
    TlsSession(std::shared_ptr<BackendServer::State> state, tcp::socket&& socket)
        : state_(std::move(state)),
          stream_(std::move(socket), state_->tls),
          timer_(stream_.get_executor()) {
        beast::error_code ec;
        auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        remote_ = ec ? std::string("-") : endpointText(remote);
    }

    ~TlsSession() {
        std::lock_guard lock(state_->sessionsMutex);
        state_->sessions.erase(this);
    }

    void run() {
        {
            std::lock_guard lock(state_->sessionsMutex);
            state_->sessions[this] = weak_from_this();
        }
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&TlsSession::onRun, shared_from_this()));
    }

    // Answers a held request at once with the reply it was given for that
    // case (a newer request replaced it); nothing if it is no longer held.
    void supersede(const std::string& key) {
        asio::post(stream_.get_executor(), [self = shared_from_this(), key] {
            if (!self->holding_ || !self->ifReplaced_ || self->holdKey_ != key) return;
            self->replaced_ = true;
            self->timer_.cancel();
        });
    }

    // Drops the connection at once (the backend is being stopped).
    void abort() {
        asio::post(stream_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->timer_.cancel();
            beast::get_lowest_layer(self->stream_).socket().close(ec);
        });
    }

  private:
    void onRun() {
        beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
        stream_.async_handshake(
            ssl::stream_base::server,
            beast::bind_front_handler(&TlsSession::onHandshake, shared_from_this()));
    }

    void onHandshake(beast::error_code ec) {
        // A client that gives up during the handshake is no concern of the log.
        if (ec) return;
        doRead();
    }

    void doRead() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(state_->options.headerLimit));
        parser_->body_limit(state_->options.bodyLimit);
        beast::get_lowest_layer(stream_).expires_after(state_->options.idleTimeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&TlsSession::onRead, shared_from_this()));
    }

    void onRead(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return doClose();
        // partial_message: the client closed mid-request; nobody is left to answer.
        if (ec == http::error::partial_message) return closeNow();
        if (ec && isParseError(ec)) return rejectMalformed(ec);
        // Timeouts, resets and ssl::error::stream_truncated (a client that
        // closes without close_notify) end the connection; nothing to answer.
        if (ec) return;

        Fault fault = state_->currentFault();
        if (fault.mode == FaultMode::Reset) return resetConnection();
        if (fault.mode == FaultMode::Stop) return closeNow();

        Request req = parser_->release();
        exchange_ = Exchange{utcNow(), std::string(sv(req[http::field::host])),
                             std::string(req.method_string()), std::string(sv(req.target())),
                             std::chrono::steady_clock::now()};
        Reply reply = handle(state_->options.role, state_->options.site, req, auth_);
        res_ = std::move(reply.response);
        ifReplaced_ = std::move(reply.ifReplaced);
        auto wait = reply.holdFor;
        if (fault.mode == FaultMode::Slow) wait += fault.delay;
        if (wait.count() > 0) {
            // Held without a thread: the session just waits on its timer.
            beast::get_lowest_layer(stream_).expires_never();
            ++state_->held;
            holding_ = true;
            replaced_ = false;
            holdKey_ = reply.holdKey;
            if (!reply.holdKey.empty()) state_->holdUnderKey(reply.holdKey, shared_from_this());
            timer_.expires_after(wait);
            timer_.async_wait(beast::bind_front_handler(&TlsSession::onHeld, shared_from_this()));
            return;
        }
        doWrite();
    }

    void onHeld(beast::error_code ec) {
        --state_->held;
        holding_ = false;
        if (replaced_) {
            res_ = std::move(*ifReplaced_);
        } else if (ec) {
            return;  // aborted
        }
        ifReplaced_.reset();
        doWrite();
    }

    // Beast could not parse the request: answer 400 and close, as HTTP.sys does.
    void rejectMalformed(beast::error_code ec) {
        exchange_ = Exchange{utcNow(), "", "", "", std::chrono::steady_clock::now()};
        if (parser_ && parser_->is_header_done()) {
            const auto& h = parser_->get();
            exchange_.host = std::string(h[http::field::host]);
            exchange_.method = std::string(h.method_string());
            exchange_.target = std::string(h.target());
        }
        Request bad;
        bad.version(11);
        bad.keep_alive(false);
        std::string detail = "Bad Request - " + ec.message();
        res_ = errorPage(bad, http::status::bad_request, detail);
        res_->keep_alive(false);
        doWrite();
    }

    void doWrite() {
        beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
        http::async_write(stream_, *res_,
                          beast::bind_front_handler(&TlsSession::onWrite, shared_from_this()));
    }

    void onWrite(beast::error_code ec, std::size_t) {
        auto elapsed = std::chrono::steady_clock::now() - exchange_.started;
        state_->accessLog.write(
            {{"time", exchange_.time},
             {"remote", remote_},
             {"host", exchange_.host},
             {"method", exchange_.method},
             {"target", exchange_.target},
             {"status", res_->result_int()},
             {"durationMs", std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()},
             {"error", ec ? ec.message() : std::string()}});
        if (ec) return;
        bool close = res_->need_eof();
        res_.reset();
        if (close) return doClose();
        doRead();
    }

    void doClose() {
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
        stream_.async_shutdown(
            beast::bind_front_handler(&TlsSession::onShutdown, shared_from_this()));
    }

    void onShutdown(beast::error_code) { closeNow(); }

    void closeNow() {
        beast::error_code ec;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

    void resetConnection() {
        beast::error_code ec;
        auto& socket = beast::get_lowest_layer(stream_).socket();
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
    }

    std::shared_ptr<BackendServer::State> state_;
    beast::ssl_stream<beast::tcp_stream> stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<Response> res_;
    Exchange exchange_;
    std::string remote_;
    ConnectionAuth auth_;  // what this connection has proven (NTLM is per connection)
    std::optional<Response> ifReplaced_;  // the answer if a newer request replaces this one
    std::string holdKey_;
    bool holding_ = false;
    bool replaced_ = false;
};

void BackendServer::State::holdUnderKey(const std::string& key,
                                        const std::shared_ptr<TlsSession>& session) {
    std::shared_ptr<TlsSession> previous;
    {
        std::lock_guard lock(heldMutex);
        auto& slot = heldByKey[key];
        previous = slot.lock();
        slot = session;
        // Keys of finished holds go when the map is next written.
        for (auto it = heldByKey.begin(); it != heldByKey.end();)
            it = it->second.expired() ? heldByKey.erase(it) : std::next(it);
    }
    if (previous && previous != session) previous->supersede(key);
}

// The control listener's connection: plain HTTP, one small request at a time.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
  public:
    ControlSession(std::shared_ptr<BackendServer::State> state, tcp::socket&& socket)
        : state_(std::move(state)), stream_(std::move(socket)) {}

    void run() {
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&ControlSession::doRead, shared_from_this()));
    }

  private:
    void doRead() {
        req_ = {};
        stream_.expires_after(std::chrono::seconds(30));
        http::async_read(stream_, buffer_, req_,
                         beast::bind_front_handler(&ControlSession::onRead, shared_from_this()));
    }

    void onRead(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return close();
        if (ec && isParseError(ec)) {
            Request bad;
            bad.version(11);
            res_ = errorPage(bad, http::status::bad_request, ec.message());
            res_->keep_alive(false);
        } else if (ec) {
            return;
        } else {
            res_ = state_->answerControl(req_);
            // A fault change closes or reopens the TLS listener on the
            // acceptor's strand. Answer after that work has run (a strand runs
            // its handlers in order), so a client acting on the answer finds
            // the listener already as it says.
            asio::post(state_->acceptor.get_executor(), [self = shared_from_this()] {
                asio::dispatch(self->stream_.get_executor(), [self] { self->doWrite(); });
            });
            return;
        }
        doWrite();
    }

    void doWrite() {
        http::async_write(stream_, *res_,
                          beast::bind_front_handler(&ControlSession::onWrite, shared_from_this()));
    }

    void onWrite(beast::error_code ec, std::size_t) {
        if (ec) return;
        if (res_->need_eof()) return close();
        doRead();
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    std::shared_ptr<BackendServer::State> state_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    Request req_;
    std::optional<Response> res_;
};

void BackendServer::State::doAccept() {
    acceptor.async_accept(asio::make_strand(ioc),
                          beast::bind_front_handler(&State::onAccept, shared_from_this()));
}

void BackendServer::State::onAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // stopped
    if (!ec) {
        if (currentFault().mode == FaultMode::Reset) {
            // SO_LINGER {1, 0}: close() sends RST, which the client sees as a reset.
            beast::error_code ignored;
            socket.set_option(asio::socket_base::linger(true, 0), ignored);
            socket.close(ignored);
        } else {
            // Without it, a response written while the TLS 1.3 session
            // ticket sent after the handshake is unacknowledged waits for the
            // client's delayed ACK (Nagle): 40 ms on every new connection.
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<TlsSession>(shared_from_this(), std::move(socket))->run();
        }
    }
    doAccept();
}

void BackendServer::State::doAcceptControl() {
    control->async_accept(asio::make_strand(ioc),
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                              if (ec == asio::error::operation_aborted) return;
                              if (!ec)
                                  std::make_shared<ControlSession>(self, std::move(socket))->run();
                              self->doAcceptControl();
                          });
}

void BackendServer::State::closeSessions() {
    std::vector<std::shared_ptr<TlsSession>> live;
    {
        std::lock_guard lock(sessionsMutex);
        for (auto& [key, weak] : sessions)
            if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->abort();
}

void BackendServer::State::applyFault(const Fault& next) {
    Fault previous;
    {
        std::lock_guard lock(faultMutex);
        previous = fault;
        fault = next;
    }
    if (next.mode == FaultMode::Stop && previous.mode != FaultMode::Stop) {
        asio::post(acceptor.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->acceptor.close(ec);
        });
        closeSessions();
    } else if (next.mode != FaultMode::Stop && previous.mode == FaultMode::Stop) {
        asio::post(acceptor.get_executor(), [self = shared_from_this()] {
            try {
                self->openListener(self->bound);
                self->doAccept();
            } catch (const std::exception& e) {
                std::cerr << "edgelab-backend: cannot listen again on " << endpointText(self->bound)
                          << ": " << e.what() << std::endl;
            }
        });
    }
}

Response BackendServer::State::answerControl(const Request& req) {
    auto [path, query] = splitTarget(sv(req.target()));
    auto answer = [&](http::status status, const json& doc) {
        Response res{status, req.version()};
        res.set(http::field::content_type, "application/json");
        res.keep_alive(req.keep_alive());
        res.body() = doc.dump() + "\n";
        res.prepare_payload();
        return res;
    };
    auto describe = [&] {
        Fault f = currentFault();
        return json{{"status", "ok"},
                    {"role", roleName(options.role)},
                    {"listen", "https://" + endpointText(bound)},
                    {"listening", f.mode != FaultMode::Stop},
                    {"mode", to_string(f.mode)},
                    {"delayMs", f.delay.count()},
                    {"held", held.load()},
                    {"eventHoldScale", holdScale(options.site)}};
    };
    if (path == "/healthz" && isGetOrHead(req)) return answer(http::status::ok, describe());
    if (path == "/fault" && req.method() == http::verb::get)
        return answer(http::status::ok, describe());
    if (path == "/fault" && req.method() == http::verb::post) {
        auto fault = parseFault(req.body());
        if (!fault) return answer(http::status::bad_request, json{{"error", fault.error()}});
        applyFault(*fault);
        return answer(http::status::ok, describe());
    }
    return answer(http::status::not_found, json{{"error", "no such control path"}});
}

BackendServer::BackendServer(asio::io_context& ioc, ssl::context& tls, ServerOptions options)
    : state_(std::make_shared<State>(ioc, tls, std::move(options))) {
    auto& s = *state_;
    if (!s.options.accessLog.empty()) s.accessLog.open(s.options.accessLog);
    try {
        s.openListener(s.options.listen);
    } catch (const boost::system::system_error& e) {
        throw ListenError("cannot listen on " + endpointText(s.options.listen) + ": " +
                          e.code().message());
    }
    s.bound = s.acceptor.local_endpoint();
    s.options.site.listenPort = s.bound.port();
    if (s.options.control) {
        try {
            s.control.emplace(asio::make_strand(ioc));
            s.control->open(s.options.control->protocol());
            s.control->set_option(asio::socket_base::reuse_address(true));
            s.control->bind(*s.options.control);
            s.control->listen();
        } catch (const boost::system::system_error& e) {
            throw ListenError("cannot listen for --control on " + endpointText(*s.options.control) +
                              ": " + e.code().message());
        }
        s.controlBound = s.control->local_endpoint();
    }
}

BackendServer::~BackendServer() = default;

void BackendServer::start() {
    asio::dispatch(state_->acceptor.get_executor(), [s = state_] { s->doAccept(); });
    if (state_->control)
        asio::dispatch(state_->control->get_executor(), [s = state_] { s->doAcceptControl(); });
}

tcp::endpoint BackendServer::endpoint() const { return state_->bound; }

std::optional<tcp::endpoint> BackendServer::controlEndpoint() const {
    if (!state_->control) return std::nullopt;
    return state_->controlBound;
}

}  // namespace edgelab::backends
