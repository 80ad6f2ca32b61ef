// Where one client connection's forwarded exchanges get their backend
// connections: the connection this client keeps (NTLM/Negotiate affinity),
// the worker's pool for the application, or a new connection; and where a
// connection goes afterwards: kept for this client, pooled, or closed (with
// a lingering close when the backend may still be sending). Failures are
// error codes, never exceptions (CONTRIBUTING.md, the data path).
#pragma once

#include <memory>
#include <string>

#include "proxy/backend_pool.hpp"
#include "proxy/worker.hpp"

namespace edgelab::proxy {

class BackendSource {
  public:
    explicit BackendSource(Worker& w) : w_(w) {}
    BackendSource(const BackendSource&) = delete;
    BackendSource& operator=(const BackendSource&) = delete;
    ~BackendSource();

    struct Acquired {
        std::unique_ptr<BackendConnection> conn;  // null: none could be had (ec, why)
        bool reused = false;                      // pooled or kept: not connected for this request
        bool pinned = false;  // this client keeps a connection to the application
        // beast::error::timeout when the backend took too long to accept or
        // to answer the TLS handshake (a 504), else why it failed (a 502).
        boost::system::error_code ec;
        std::string why;
    };

    // The first attempt takes this client's kept connection or a pooled one;
    // a retry always connects anew, never taking another pooled connection
    // that has sat idle as long as the one that failed.
    Task<Acquired> acquire(const PublishingRule& rule, bool firstAttempt);

    // A connection whose response was read to its end: kept for this client
    // when `pin` (it carries the client's identity: never pooled), pooled
    // otherwise.
    void release(std::unique_ptr<BackendConnection> conn, const PublishingRule& rule, bool pin);

    // A connection given up before its exchange ended (a response refused or
    // left unread, a request not sent whole). Unless the backend has ended it
    // (`failure` a FIN or a reset, or the stream saw one), it gets a bounded
    // lingering close of its own, logged, while the client is answered; it is
    // never pooled.
    void abandon(std::unique_ptr<BackendConnection> conn, const PublishingRule& rule,
                 const boost::system::error_code& failure);

  private:
    std::size_t ruleIndex(const PublishingRule& rule) const;
    Task<void> connect(const PublishingRule& rule, Acquired& out);

    Worker& w_;
    std::unique_ptr<BackendConnection> pinned_;
    std::size_t pinnedRule_ = 0;
};

}  // namespace edgelab::proxy
