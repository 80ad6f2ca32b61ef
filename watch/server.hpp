// `edgelab watch`'s HTTP endpoint (Boost.Beast): /metrics, /healthz,
// /report and /history, served from pages the loop replaces after each run.
// One thread; each connection kept alive until idle for 30 s.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "common/endpoint.hpp"
#include "watch/state.hpp"

namespace edgelab::watch {

// What the endpoint serves, replaced as a whole after each run.
struct Pages {
    std::string metrics;
    Health health;
    std::string report;  // "" before the first run
    std::string history;
};

// An address that cannot be listened on (in use, not local, no permission).
struct ListenError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Server {
  public:
    // Binds and listens at once (port 0: the kernel chooses); throws
    // ListenError naming the address and the system's reason.
    explicit Server(const Endpoint& listen);
    ~Server();  // stops
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    Endpoint bound() const;  // the address and port listened on
    void publish(std::shared_ptr<const Pages> pages);
    void start();  // serves on a thread of its own
    void stop();

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace edgelab::watch
