// edgelab-proxy's server: TLS termination with HTTP.sys binding rules,
// WAP publishing to TLS backends. One io_context per thread, each with its
// own SO_REUSEPORT acceptors, backend connection pool and copy of the
// binding snapshot, so the request path takes no locks.
#pragma once

#include <ostream>
#include <stdexcept>

#include "proxy/config.hpp"

namespace edgelab::proxy {

// A listener that cannot be bound (the address is not this host's, the port
// is taken): the proxy could not be brought up (exit 3).
class ListenError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ServerOptions {
    unsigned threads = 0;  // 0: the core count
};

// Runs until SIGINT or SIGTERM. Prints `READY ADDR:PORT published=PORT` per
// listener and then `READY` to `ready` once every listener accepts. Throws
// ConfigError (before READY) when the certificate store, CA bundle or
// binding store cannot be used; returns the process exit code.
int runProxy(const ProxyConfig& config, const ServerOptions& options, std::ostream& ready);

}  // namespace edgelab::proxy
