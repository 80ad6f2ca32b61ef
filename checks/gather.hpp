// Gathering evidence: the only part of the checks that does I/O. HTTP probes
// run through one libcurl multi handle (all in parallel, one connection
// cache); TLS handshakes are raw OpenSSL clients on non-blocking sockets,
// polled together with a deadline, so that a reset, an alert and a timeout
// are told apart exactly.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <curl/curl.h>

#include <openssl/types.h>

#include "checks/catalogue.hpp"
#include "checks/evidence.hpp"

namespace edgelab::checks {

class TrustStore;

inline constexpr int kDefaultAffinityClients = 24;  // a proxy whose workers are unknown
inline constexpr int kMaxAffinityClients = 256;

// How many other clients the affinity check starts against a proxy with
// `workers` per-worker backend pools (0: unknown): the default 24 when
// unknown; 4 for one worker, whose one pool every other client reaches;
// else enough that all of them miss the signed-in client's worker with a
// chance under one in a million, (1 - 1/W)^N <= 1e-6 (at most 256).
int affinityClientsFor(int workers);

// How many fresh connections ask anonymously once the affinity check's
// client has signed in (signin.anonymous-after-signin): 4, and 2 against a
// proxy of one worker, where the first already reaches the pool that holds
// the signed-in connection.
int anonymousRequestsFor(int workers);

struct GatherOptions {
    std::chrono::milliseconds connectTimeout{5000};
    std::chrono::milliseconds requestTimeout{15000};
    std::chrono::milliseconds handshakeTimeout{5000};
    std::size_t bodyLimit = 1 << 20;
    int connectionsPerHost = 6;  // HTTP/1.1 keep-alive connections per public name
    // The affinity check's other clients, each on a connection of its own
    // (--affinity-clients); 0: affinityClientsFor(Target::proxyWorkers).
    // Against a proxy that pools its backend connections per worker, each
    // lands on the signed-in client's worker with a chance of 1/W, so the
    // check misses that proxy with a chance of (1 - 1/W)^N (checks/README.md,
    // "The affinity check's strength").
    int affinityClients = 0;
    int retries = 0;  // extra rounds for probes that could not connect
    std::chrono::milliseconds retryDelay{1000};
    // Set by gather(): one libcurl share (TLS sessions, DNS) for every
    // client of the run, safe across its threads, so a new connection
    // resumes a session as a client's next connection would.
    CURLSH* share = nullptr;
    // Set by gather(): the run's trusted roots, read once (checks/trust.hpp),
    // for every libcurl connection and raw handshake.
    const TrustStore* trust = nullptr;
};

// Told about each probe as it finishes; called from gathering threads, one
// call at a time.
class ProgressSink {
  public:
    virtual ~ProgressSink() = default;
    virtual void probeDone(const std::string& probeId, std::size_t done, std::size_t total) = 0;
};

Evidence gather(const ProbePlan&, const Target&, const GatherOptions& = {},
                ProgressSink* = nullptr);

// What a certificate says, as the checks read it (also for certificates
// read from files, e.g. by `edgelab audit --cert`).
CertificateInfo describeCertificate(X509* certificate);

// Where a libcurl transfer records its answer: the body up to `limit` (the
// rest is counted, not kept) and the header fields of the last response,
// names in lower case. Both gatherers (the probes and the sign-in flows)
// hand libcurl these two callbacks with a ResponseRecording as their data.
struct ResponseRecording {
    HttpExchange* x = nullptr;
    std::size_t limit = 0;
};
std::size_t recordBody(char* data, std::size_t size, std::size_t n, void* recording);
std::size_t recordHeader(char* data, std::size_t size, std::size_t n, void* recording);

// How a libcurl transfer that got no answer failed, for the root causes.
TransportError transportError(CURLcode code, bool connected);

// True when no probe reached the target at all (no TCP connection made).
bool targetUnreachable(const Evidence&);

// What is wrong with a --connect-to entry (curl's HOST:PORT:ADDR:PORT, ports
// empty or 1-65535), or nullopt when it reads.
std::optional<std::string> connectToError(const std::string& entry);

// Parses curl's --connect-to syntax and finds the address for host:port;
// nullopt when no entry applies (an entry that does not read applies to
// nothing). Exposed for tests.
std::optional<std::pair<std::string, std::uint16_t>> connectToFor(
    const std::vector<std::string>& connectTo, const std::string& host, std::uint16_t port);

}  // namespace edgelab::checks
