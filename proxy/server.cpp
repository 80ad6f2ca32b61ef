#include "proxy/server.hpp"

#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/endpoint.hpp"
#include "proxy/binding_reloader.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/spawned.hpp"

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// Errors of accept(2) that free descriptors or memory cure, not a retry:
// the pending connection stays in the backlog, the acceptor stays readable,
// and an immediate retry spins a core.
bool isResourceExhaustion(const error_code& ec) {
    if (ec.category() != boost::system::system_category()) return false;
    const int e = ec.value();
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

// Logs a pause once and its end once, with the number of retries it took.
struct AcceptPause {
    bool paused = false;
    Clock::time_point since;
    std::uint64_t retries = 0;
};

Task<void> acceptLoop(Worker& w, TcpAcceptor& acceptor, const Listener& listener) {
    Timer backoff(w.ioc);
    AcceptPause pause;
    for (;;) {
        error_code ec;
        TcpSocket socket(w.ioc);
        tcp::endpoint peer;  // from accept(2) itself: no getpeername(2) later
        co_await acceptor.async_accept(socket, peer, withError(ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec && isResourceExhaustion(ec)) {
            if (!pause.paused) {
                pause = {true, Clock::now(), 0};
                logEvent(w.log, {{"event", "accept-paused"},
                                 {"listener", listener.address},
                                 {"reason", ec.message()},
                                 {"retryMs", kAcceptBackoff.count()}});
            }
            ++pause.retries;
            backoff.expires_after(kAcceptBackoff);
            co_await backoff.async_wait(withError(ec));
            continue;
        }
        if (ec) continue;  // the client gave up before the accept (ECONNABORTED)
        if (pause.paused) {
            const auto ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pause.since);
            logEvent(w.log, {{"event", "accept-resumed"},
                             {"listener", listener.address},
                             {"pausedMs", ms.count()},
                             {"retries", pause.retries}});
            pause = {};
        }
        socket.set_option(tcp::no_delay(true), ec);
        auto session = std::make_unique<ClientConnection>(w, std::move(socket), peer, listener);
        auto& client = *session;
        asio::co_spawn(w.ioc, client.run(std::move(session)), LogIfThrown{&w.log, "session"});
    }
}

// glibc keeps what many closed connections freed (its trim threshold only
// looks at the top of each heap); once most of a crowd of connections has
// gone, the freed pages go back to the system.
constexpr std::size_t kCrowd = 256;

// Likewise once idle connections have freed their buffers (a crowd's worth,
// or fewer once no more are freed): those lie between the connections' live
// memory, where only a trim gives their pages back.
void returnFreedMemory(Worker& w, std::size_t released) {
    w.releasedSinceTrim += released;
    const bool crowdGone =
        w.sessionsHigh >= w.sessions + kCrowd && w.sessions <= w.sessionsHigh / 2;
    const bool idleWaveOver = released == 0 && w.releasedSinceTrim > 0;
    if (!crowdGone && !idleWaveOver && w.releasedSinceTrim < kCrowd) return;
    malloc_trim(0);
    w.sessionsHigh = w.sessions;
    w.releasedSinceTrim = 0;
}

// Frees the buffers of client connections idle through a whole period;
// how many were freed.
std::size_t sweepIdleConnections(Worker& w) {
    ++w.sweeps;
    std::size_t released = 0;
    for (auto& c : w.connections) released += c.releaseIfIdleSince(w.sweeps) ? 1 : 0;
    return released;
}

// Once a period: pooled backend connections past the backend idle timeout
// are closed even when no request comes to take them, idle client
// connections free their buffers, and memory freed by closed or idle
// connections is given back. One worker also drops the expired sessions
// from the shared session cache.
Task<void> keepHouse(Worker& w, bool flushesSessions) {
    const auto maxIdle = std::chrono::seconds(w.cfg.limits.backendIdleTimeoutSec);
    const auto period = std::min<Clock::duration>(std::chrono::seconds(1), maxIdle / 2);
    Timer timer(w.ioc);
    for (;;) {
        timer.expires_after(period);
        error_code ec;
        co_await timer.async_wait(withError(ec));
        if (ec) co_return;
        for (auto& pool : w.pools) pool.closeExpired(Clock::now());
        if (flushesSessions)
            SSL_CTX_flush_sessions(w.front->native_handle(), static_cast<long>(std::time(nullptr)));
        returnFreedMemory(w, sweepIdleConnections(w));
    }
}

std::vector<tcp::endpoint> backendEndpointsOf(const ProxyConfig& cfg) {
    std::vector<tcp::endpoint> endpoints;
    for (const auto& app : cfg.applications) {
        // parseProxyConfig checked every internalDns value.
        const Endpoint e =
            parseEndpoint(cfg.internalDns.at(app.backendServerUrl.hostPort())).value();
        endpoints.emplace_back(asio::ip::make_address(e.host), e.port);
    }
    return endpoints;
}

std::shared_ptr<const TlsSnapshot> loadStartingSnapshot(const ProxyConfig& cfg,
                                                        const AccessLog& log) {
    // The application bindings WAP adds when it publishes, merged into what
    // the store holds under the lock every writer takes (`edgelab bindings`
    // may be adding its own at this moment); written only when missing.
    BindingStore published;
    try {
        const auto update = updateBindingStore(cfg.bindingStore, [&](const BindingStore& store) {
            BindingStore merged = withApplicationBindings(store, cfg);
            if (merged == store) return StoreChange{};
            return StoreChange{std::move(merged), {}};
        });
        published = update.change.store ? *update.change.store : update.before;
    } catch (const std::exception& e) {
        throw ConfigError(std::string("/bindingStore: ") + e.what());
    }
    // Each application's certificate must load; each is loaded once (most
    // applications share one), and the snapshot takes them as they are.
    TlsSnapshot loaded;
    for (std::size_t i = 0; i < cfg.applications.size(); ++i) {
        const std::string& thumbprint = cfg.applications[i].externalCertificateThumbprint;
        if (loaded.certificates.count(thumbprint)) continue;
        std::string error;
        auto entry = loadCertificate(cfg, thumbprint, error);
        if (!entry) {
            throw ConfigError("/applications/" + std::to_string(i) +
                              "/externalCertificateThumbprint: " + error);
        }
        loaded.certificates.emplace(thumbprint, std::move(entry));
    }
    return buildSnapshot(cfg, published, &loaded, log);
}

std::vector<std::unique_ptr<Worker>> makeWorkers(const ProxyConfig& cfg, const AccessLog& log,
                                                 unsigned threads,
                                                 std::shared_ptr<const TlsSnapshot> snapshot) {
    const auto endpoints = backendEndpointsOf(cfg);
    // One client-facing context, and so one session cache, for every worker:
    // SO_REUSEPORT hands a client's next connection to any worker, and a
    // session only one worker knew would turn that resumption into a full
    // handshake. OpenSSL locks the cache for a lookup and an insertion per
    // handshake; nothing else on the request path is shared.
    auto front = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    applyProtocolPolicy(front->native_handle(), cfg);
    installClientHello(front->native_handle());
    // One store of backend TLS sessions too: a backend's session, whichever
    // worker got it, saves every worker's next connection a full handshake.
    auto backendSessions = std::make_shared<BackendSessions>(cfg.applications);
    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned i = 0; i < threads; ++i) {
        auto w = std::make_unique<Worker>(cfg, log, front);
        w->tls = snapshot;
        error_code ec;
        w->backendTls.load_verify_file(cfg.caBundle.string(), ec);
        if (ec) throw ConfigError("/caBundle: " + cfg.caBundle.string() + ": " + ec.message());
        SSL_CTX_set_min_proto_version(w->backendTls.native_handle(), TLS1_2_VERSION);
        if (cfg.backendTlsSessionResumption) BackendSessions::enable(w->backendTls.native_handle());
        w->backendSessions = backendSessions;
        w->backendEndpoints = endpoints;
        for (std::size_t a = 0; a < cfg.applications.size(); ++a) {
            w->pools.emplace_back(std::chrono::seconds(cfg.limits.backendIdleTimeoutSec), 256);
        }
        workers.push_back(std::move(w));
    }
    return workers;
}

// Thread 0 binds first (maybe port 0); the others join its real port.
std::vector<std::uint16_t> openListeners(const ProxyConfig& cfg,
                                         std::vector<std::unique_ptr<Worker>>& workers) {
    std::vector<std::uint16_t> boundPorts;
    for (const auto& listener : cfg.listeners) {
        std::uint16_t port = listener.port;
        for (auto& w : workers) {
            auto acceptor = std::make_unique<TcpAcceptor>(w->ioc);
            const tcp::endpoint ep(asio::ip::make_address(listener.address), port);
            error_code ec;
            acceptor->open(ep.protocol(), ec);
            if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) {
                using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
                acceptor->set_option(ReusePort(true), ec);
            }
            if (!ec) acceptor->bind(ep, ec);
            if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
            if (ec) {
                throw ListenError("cannot listen on " + listener.address + ":" +
                                  std::to_string(port) + ": " + ec.message());
            }
            port = acceptor->local_endpoint().port();
            w->acceptors.push_back(std::move(acceptor));
        }
        boundPorts.push_back(port);
    }
    return boundPorts;
}

}  // namespace

int runProxy(const ProxyConfig& cfg, const ServerOptions& options, std::ostream& ready) {
    const unsigned threads =
        options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    AccessLog log(cfg.accessLog);
    auto snapshot = loadStartingSnapshot(cfg, log);
    auto workers = makeWorkers(cfg, log, threads, snapshot);
    const auto boundPorts = openListeners(cfg, workers);
    for (auto& w : workers) {
        for (std::size_t l = 0; l < cfg.listeners.size(); ++l) {
            asio::co_spawn(w->ioc, acceptLoop(*w, *w->acceptors[l], cfg.listeners[l]),
                           MustRunForever{&log, "accept", true});
        }
        asio::co_spawn(w->ioc, keepHouse(*w, w == workers.front()),
                       MustRunForever{&log, "housekeeping"});
    }

    BindingReloader reloader(cfg, log, workers, snapshot);
    Worker& main = *workers[0];
    asio::co_spawn(main.ioc, reloader.watch(), MustRunForever{&log, "binding store watch"});
    asio::signal_set hangup(main.ioc, SIGHUP);
    std::function<void(const error_code&, int)> onHangup = [&](const error_code& ec, int) {
        if (ec) return;
        reloader.reload("SIGHUP");
        hangup.async_wait(onHangup);
    };
    hangup.async_wait(onHangup);
    asio::signal_set stop(main.ioc, SIGINT, SIGTERM);
    stop.async_wait([&](const error_code& ec, int) {
        if (ec) return;
        for (auto& w : workers) w->ioc.stop();
    });

    for (std::size_t l = 0; l < cfg.listeners.size(); ++l) {
        ready << "READY " << cfg.listeners[l].address << ":" << boundPorts[l]
              << " published=" << cfg.listeners[l].publishedPort << "\n";
    }
    ready << "READY" << std::endl;

    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < workers.size(); ++i) {
        pool.emplace_back([w = workers[i].get()] { w->ioc.run(); });
    }
    main.ioc.run();
    for (auto& w : workers) w->ioc.stop();
    for (auto& t : pool) t.join();
    return 0;
}

}  // namespace edgelab::proxy
