// One worker thread of edgelab-proxy: its io_context, acceptors, backend
// pools and copy of the binding snapshot. Only its own thread touches it,
// but for the client-facing TLS context that every worker shares (its
// session cache, so a client resumes on whichever worker takes it).
#pragma once

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/asio.hpp"
#include "proxy/access_log.hpp"
#include "proxy/backend_pool.hpp"
#include "proxy/backend_sessions.hpp"
#include "proxy/config.hpp"
#include "proxy/executor.hpp"
#include "proxy/tls_bindings.hpp"

namespace edgelab::proxy {

// A client connection whose buffers the worker's sweep frees once it has
// waited idle through a whole sweep period. A keep-alive connection that is
// busy keeps them, so its requests allocate none of them again.
class IdleMemory : public boost::intrusive::list_base_hook<
                       boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  public:
    // Frees what the connection holds if it has waited idle since before
    // sweep `sweep`; whether it freed anything.
    virtual bool releaseIfIdleSince(std::uint64_t sweep) = 0;

  protected:
    ~IdleMemory() = default;
};

// Idle since before `sweep` means waiting from a sweep number lower than the
// one before it: a wait begun just before sweep s-1 has lasted a period.
inline bool idleThroughAPeriod(std::uint64_t waitingSince, std::uint64_t sweep) {
    return waitingSince + 2 <= sweep;
}

struct Worker {
    Worker(const ProxyConfig& c, const AccessLog& l,
           std::shared_ptr<boost::asio::ssl::context> sharedFront)
        : cfg(c),
          log(l),
          front(std::move(sharedFront)),
          backendTls(boost::asio::ssl::context::tls_client) {}

    boost::asio::io_context ioc{1};
    const ProxyConfig& cfg;
    const AccessLog& log;
    std::shared_ptr<const TlsSnapshot> tls;
    // Every handshake starts here (the hello callback switches to the
    // certificate's context); it holds the session cache. One for all workers.
    std::shared_ptr<boost::asio::ssl::context> front;
    boost::asio::ssl::context backendTls;                          // trusts caBundle
    std::shared_ptr<BackendSessions> backendSessions;              // one for every worker
    std::vector<boost::asio::ip::tcp::endpoint> backendEndpoints;  // by application index
    std::vector<BackendPool> pools;                                // by application index
    std::vector<std::unique_ptr<TcpAcceptor>> acceptors;
    std::size_t sessions = 0;           // client connections open on this thread
    std::size_t sessionsHigh = 0;       // the most open since memory was last given back
    std::uint64_t sweeps = 0;           // idle sweeps so far
    std::size_t releasedSinceTrim = 0;  // idle connections whose buffers were freed since
    boost::intrusive::list<IdleMemory, boost::intrusive::constant_time_size<false>> connections;
};

}  // namespace edgelab::proxy
