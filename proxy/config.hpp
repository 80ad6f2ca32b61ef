// edgelab-proxy's configuration (proxy/README.md): parsed and validated once
// into an immutable ProxyConfig; every error names the JSON path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/json_reader.hpp"
#include "common/url.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::proxy {

enum class PreAuthentication { PassThrough, ADFS };

// One Add-WebApplicationProxyApplication, fields in camelCase.
struct PublishingRule {
    std::string name;
    Url externalUrl;
    Url backendServerUrl;
    PreAuthentication externalPreAuthentication = PreAuthentication::ADFS;  // WAP's default
    std::string externalCertificateThumbprint;  // 40 upper-case hex digits
    bool backendServerCertificateValidation = true;
    bool disableTranslateUrlInRequestHeaders = false;
    bool disableTranslateUrlInResponseHeaders = false;
    int inactiveTransactionsTimeoutSec = 300;  // WAP's default
    std::uint64_t requestBodyLimitBytes = 0;   // 0: ProxyLimits::requestBodyLimitBytes
    bool operator==(const PublishingRule&) const = default;
};

struct Listener {
    std::string address;     // IPv4
    std::uint16_t port = 0;  // 0: any
    std::uint16_t publishedPort = 443;
    bool operator==(const Listener&) const = default;
};

struct ProxyLimits {
    std::size_t headerBlockBytes = 16 * 1024;
    int headerTimeoutSec = 20;  // from the first byte of a request to the end of its header
    int idleTimeoutSec = 120;   // keep-alive wait, and a stalled body
    std::uint64_t requestBodyLimitBytes = 256ull * 1024 * 1024;
    int backendConnectTimeoutSec = 10;
    // A pooled backend connection idle this long is closed rather than
    // reused. Shorter than the backends' own keep-alive close (IIS's
    // connectionTimeout is 120 s, edgelab-backend's 60 s), so the proxy is
    // the side that closes and never writes into a connection being closed.
    int backendIdleTimeoutSec = 30;
    // A backend's response header block, 1xx interim answers included.
    std::size_t responseHeaderBlockBytes = 64 * 1024;
    // Resumable TLS sessions the proxy keeps (shared by every worker); the
    // oldest goes when a new one would pass this. About 1 KiB each.
    std::size_t tlsSessionCacheSize = 10 * 1024;
    // A lingering close (RFC 9112 9.6), after an answer sent before the
    // request was read completely: what the client still sends is read and
    // dropped for at most lingeringTimeSec in all, lingeringTimeoutSec
    // between reads and lingeringBytes, then the connection is closed
    // (nginx's lingering_time 30 s and lingering_timeout 5 s).
    int lingeringTimeSec = 30;
    int lingeringTimeoutSec = 5;
    std::uint64_t lingeringBytes = 64ull * 1024 * 1024;
    bool operator==(const ProxyLimits&) const = default;
};

inline constexpr std::string_view kDefaultTls13CipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct ProxyConfig {
    std::vector<Listener> listeners;
    std::filesystem::path certificateStore;
    std::filesystem::path bindingStore;
    std::filesystem::path caBundle;
    std::map<std::string, std::string> internalDns;  // "host:port" -> "addr:port"
    std::vector<PublishingRule> applications;
    std::optional<std::filesystem::path> accessLog;
    std::string adfsUrl = "https://adfs.invalid/adfs/ls/";
    ProxyLimits limits;
    bool allowLegacyTls = false;  // TLS 1.0/1.1 for client profiles that need them
    // true: client-facing TLS sessions are kept in a server session cache
    // shared by every worker (limits.tlsSessionCacheSize), and a client
    // resumes by its session id (TLS 1.2) or a ticket that names it (TLS 1.3).
    // false: no session cache and no tickets, so every client connection is
    // a full handshake (what a client without a usable session costs;
    // bench/proxy.sh's full rows).
    bool tlsSessionResumption = true;
    // true: a new backend connection offers the newest TLS session that
    // backend gave any worker (TLS 1.3 ticket or TLS 1.2 session id), as
    // Schannel's client session cache does for WAP; a resumed handshake skips
    // the backend's certificate, its signature and the chain's verification
    // (checked when the session was made). false: every backend connection is
    // a full handshake.
    bool backendTlsSessionResumption = true;
    // The TLS 1.3 cipher suites the proxy accepts, in its order of preference
    // (OpenSSL's names, ':' between them). AES-128-GCM first: RFC 8446's
    // mandatory suite, whose SHA-256 key schedule costs a resumed handshake
    // less than AES-256-GCM's SHA-384 (bench/README.md).
    std::string tls13CipherSuites = std::string(kDefaultTls13CipherSuites);
    // A client connection that starts NTLM or Negotiate keeps one backend
    // connection until either closes, as WAP does; false shares the pool
    // (a broken lab: connection-oriented authentication fails).
    bool connectionAffinity = true;
    // How often the binding store's stamp is polled; 0 leaves SIGHUP as the
    // only reload trigger (a test that must tell the two triggers apart).
    int bindingStorePollMs = 250;
    bool operator==(const ProxyConfig&) const = default;
};

// A proxy configuration that cannot be used: every problem found, each with
// its JSON path.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
    explicit ConfigError(std::vector<JsonError> errors);
    const std::vector<JsonError>& errors() const { return errors_; }

  private:
    std::vector<JsonError> errors_;
};

// Relative paths are taken from `baseDir`. Throws ConfigError with every
// problem ("/path: why"; unknown keys with the nearest known one).
ProxyConfig parseProxyConfig(const nlohmann::json& doc, const std::filesystem::path& baseDir);
ProxyConfig loadProxyConfig(const std::filesystem::path& file);

// The document parseProxyConfig reads back into an equal ProxyConfig (paths
// as they are: absolute ones read back unchanged). The runner writes a lab's
// proxy.json with it, so that the lab and the proxy share one description.
nlohmann::json toJson(const ProxyConfig& cfg);

// The store with the hostnameport binding WAP creates when it publishes: one
// per external host and port not bound yet, with the application's
// certificate and WAP's application id. Never an ipport binding: adding the
// default binding is the administrator's step (S6).
BindingStore withApplicationBindings(BindingStore store, const ProxyConfig& cfg);

}  // namespace edgelab::proxy
