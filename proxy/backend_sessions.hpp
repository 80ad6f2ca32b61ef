// TLS session resumption toward the backends. The proxy keeps, per backend,
// the newest session that backend gave any worker (a TLS 1.3 ticket or a
// TLS 1.2 session id), and a new connection to it offers that session, as
// Schannel's client session cache does for WAP. A resumed handshake skips the
// backend's certificate, its signature and the verification of its chain:
// they were checked, with the host name, when the session was made, on a
// connection to the same backend, under the same name and the same
// validation setting (applications differing in either never share a
// session). A session the backend no longer accepts (it restarted, its key
// or certificate changed) gives a full handshake, verified as any other.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "proxy/config.hpp"

namespace edgelab::proxy {

class BackendSessions {
  public:
    // One slot per distinct backend (name, port, validation) among the
    // applications. Shared by every worker.
    explicit BackendSessions(const std::vector<PublishingRule>& applications);
    BackendSessions(const BackendSessions&) = delete;
    BackendSessions& operator=(const BackendSessions&) = delete;

    // Client-side session caching on a worker's backend context: each
    // session a backend gives lands in that backend's slot, replacing the one
    // before.
    static void enable(SSL_CTX* ctx);

    // Before the handshake of a new connection for application `index`: the
    // slot its sessions go to, and the newest one it holds, offered if it is
    // still resumable; whether one was offered.
    bool offer(SSL* ssl, std::size_t index);

  private:
    struct FreeSession {
        void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
    };
    struct Slot {
        BackendSessions* owner;
        std::unique_ptr<SSL_SESSION, FreeSession> session;
    };
    static int onNewSession(SSL* ssl, SSL_SESSION* session);

    std::mutex mutex_;                 // the slots' sessions, from any worker
    std::vector<Slot> slots_;          // never resized: connections point at them
    std::vector<std::size_t> slotOf_;  // by application index
};

}  // namespace edgelab::proxy
