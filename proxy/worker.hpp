// One worker thread of edgelab-proxy: its io_context, acceptors, backend
// pools and copy of the binding snapshot. Only its own thread touches it.
#pragma once

#include <memory>
#include <vector>

#include "net/asio.hpp"
#include "proxy/access_log.hpp"
#include "proxy/backend_pool.hpp"
#include "proxy/config.hpp"
#include "proxy/tls_bindings.hpp"

namespace edgelab::proxy {

// Every awaited operation of the proxy reports its error into `ec` instead
// of throwing: no exception on the data path.
inline auto withError(boost::system::error_code& ec) {
    return boost::asio::redirect_error(boost::asio::use_awaitable, ec);
}

struct Worker {
    Worker(const ProxyConfig& c, const AccessLog& l)
        : cfg(c),
          log(l),
          front(boost::asio::ssl::context::tls_server),
          backendTls(boost::asio::ssl::context::tls_client) {}

    boost::asio::io_context ioc{1};
    const ProxyConfig& cfg;
    const AccessLog& log;
    std::shared_ptr<const TlsSnapshot> tls;
    boost::asio::ssl::context front;  // every handshake starts here; the hello callback switches
    boost::asio::ssl::context backendTls;                          // trusts caBundle
    std::vector<boost::asio::ip::tcp::endpoint> backendEndpoints;  // by application index
    std::vector<BackendPool> pools;                                // by application index
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
    std::size_t sessions = 0;      // client connections open on this thread
    std::size_t sessionsHigh = 0;  // the most open since memory was last given back
};

}  // namespace edgelab::proxy
