// HTTP.sys TLS bindings in edgelab-proxy: the certificates a binding snapshot
// names, and the ClientHello callback that picks one by SNI and listener (or
// refuses the handshake without an alert, as HTTP.sys resets it).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.hpp"
#include "proxy/access_log.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/config.hpp"

namespace edgelab::proxy {

struct CertificateEntry {
    std::string thumbprint;
    std::shared_ptr<boost::asio::ssl::context> context;
    std::vector<std::string> dnsNames;
};

// One binding store and the certificates it names, immutable once built.
struct TlsSnapshot {
    BindingStore store;
    std::map<std::string, std::shared_ptr<const CertificateEntry>> certificates;
};

// TLS versions, no compression or renegotiation, resumption from the
// server session cache of `ctx` (none with cfg.tlsSessionResumption false).
void applyProtocolPolicy(SSL_CTX* ctx, const ProxyConfig& cfg);

// Loads STORE/<THUMB>.pem (leaf and chain) and STORE/<THUMB>.key; nullptr
// and `error` when they cannot be used.
std::shared_ptr<const CertificateEntry> loadCertificate(const ProxyConfig& cfg,
                                                        const std::string& thumbprint,
                                                        std::string& error);

// Certificates already loaded by `previous` are shared, not read again.
std::shared_ptr<const TlsSnapshot> buildSnapshot(const ProxyConfig& cfg, BindingStore store,
                                                 const TlsSnapshot* previous, const AccessLog& log);

// What the ClientHello callback learns about one handshake.
struct HandshakeState {
    const std::shared_ptr<const TlsSnapshot>* snapshot = nullptr;  // the worker's current one
    std::string listenerAddress;
    std::uint16_t publishedPort = 443;
    std::optional<std::string> sni;
    std::shared_ptr<const CertificateEntry> certificate;
    std::optional<std::string> refusal;
};

// Attaches `state` to `ssl` for the callback installed by installClientHello.
void attachHandshakeState(SSL* ssl, HandshakeState* state);
void installClientHello(SSL_CTX* ctx);

}  // namespace edgelab::proxy
