// One request of a client connection forwarded to its application's backend,
// and its response relayed back: the backend connection from the client's
// BackendSource, one retry when RFC 9110 9.2.2 allows it, the response's
// framing toward the client, the proxy's own 502/504 and the client's
// 400/413 when its body breaks, a switched protocol tunnelled, and whether
// the client keeps the backend connection (NTLM/Negotiate). Policy is in
// publishing.hpp; this reads, writes and decides between them.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/backend_source.hpp"
#include "proxy/publishing.hpp"
#include "proxy/relay.hpp"

namespace edgelab::proxy {

class ClientConnection;

class ForwardedExchange {
  public:
    using Clock = std::chrono::steady_clock;

    // The client connection has read and checked the request's header and
    // routed it to `rule`.
    ForwardedExchange(ClientConnection& client, const PublishingRule& rule,
                      Clock::time_point start);
    // Whether the client connection stays open for another request.
    Task<bool> run();

  private:
    // How an attempt with one backend connection ended.
    struct Attempt {
        boost::system::error_code ec;
        bool clientFault = false;  // reading the client's body (or writing to it) failed
        bool writeFailed = false;  // writing the request to the backend failed
        bool responseStarted = false;
    };

    std::optional<RequestRefusal> refusalBeforeForwarding();
    void prepareRequest();
    Task<bool> sendContinue(Attempt& a);
    Task<Attempt> attempt(BackendConnection& conn);
    void newResponseParser();
    Task<Attempt> readResponseHead(BackendConnection& conn);
    Task<bool> passInterim(Attempt& a);
    Task<bool> answerFailedAttempt(const Attempt& a, AfterFailure next,
                                   std::unique_ptr<BackendConnection> conn);
    Task<bool> answerClientFault(const Attempt& a, std::unique_ptr<BackendConnection> conn);
    Task<bool> answerBackendFailure(http::status status, const std::string& why,
                                    std::unique_ptr<BackendConnection> conn,
                                    boost::system::error_code failure);
    ResponseFraming prepareResponse();
    Task<bool> deliverResponse(std::unique_ptr<BackendConnection> conn);
    Task<bool> tunnel(std::unique_ptr<BackendConnection> conn);

    ClientConnection& client_;
    Worker& w_;
    const PublishingRule& rule_;
    Clock::time_point start_;
    unsigned version_ = 11;
    bool clientKeepAlive_ = true;
    bool upgrade_ = false;
    bool expectContinue_ = false;
    bool idempotent_ = true;
    bool pinned_ = false;       // this client connection keeps its backend connection
    bool interimSent_ = false;  // a 1xx went to the client
    Replay replay_;             // body bytes already sent, for a retry
};

}  // namespace edgelab::proxy
