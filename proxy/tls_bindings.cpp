#include "proxy/tls_bindings.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace edgelab::proxy {

namespace {

namespace ssl = boost::asio::ssl;

std::vector<std::string> dnsNamesOf(X509* cert) {
    std::vector<std::string> names;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
            if (n->type != GEN_DNS) continue;
            const auto* s = n->d.dNSName;
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
        }
        GENERAL_NAMES_free(sans);
    }
    return names;
}

int handshakeIndex() {
    // Asio keeps its verify callback in the SSL's app data (ex_data 0), so
    // the proxy takes an index of its own.
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::optional<std::string> sniOf(SSL* ssl) {
    const unsigned char* p = nullptr;
    std::size_t len = 0;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len)) return std::nullopt;
    // RFC 6066 3: a list (2-byte length) of {type, 2-byte length, name}.
    if (len < 5) return std::string();
    const std::size_t listLen = (std::size_t(p[0]) << 8) | p[1];
    if (listLen + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name) return std::string();
    const std::size_t nameLen = (std::size_t(p[3]) << 8) | p[4];
    if (nameLen + 3 > listLen) return std::string();
    return std::string(reinterpret_cast<const char*>(p + 5), nameLen);
}

// How HTTP.sys refuses: RETRY pauses the handshake without an alert; the
// session then resets the connection.
int onClientHello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
    auto* hs = static_cast<HandshakeState*>(SSL_get_ex_data(ssl, handshakeIndex()));
    if (!hs || !hs->snapshot) return SSL_CLIENT_HELLO_ERROR;
    hs->sni = sniOf(ssl);
    const TlsSnapshot& snap = **hs->snapshot;
    const auto lookup = selectBinding(snap.store, hs->sni, hs->listenerAddress, hs->publishedPort);
    if (!lookup.binding) {
        hs->refusal = std::string(describe(lookup.reason));
        return SSL_CLIENT_HELLO_RETRY;
    }
    auto it = snap.certificates.find(lookup.binding->certificateHash);
    if (it == snap.certificates.end()) {
        hs->refusal = "the certificate " + lookup.binding->certificateHash + " of binding " +
                      lookup.binding->key.str() + " is not in the certificate store";
        return SSL_CLIENT_HELLO_RETRY;
    }
    hs->certificate = it->second;
    SSL_set_SSL_CTX(ssl, it->second->context->native_handle());
    return SSL_CLIENT_HELLO_SUCCESS;
}

// ALPN (RFC 7301): HTTP.sys on Windows Server 2012 R2 speaks HTTP/1.1 only,
// and says so by choosing "http/1.1" when a client offers it (beside h2);
// a client that offers no protocol this proxy speaks goes on without ALPN,
// as the RFC allows a server that supports none of them to do.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
    static const unsigned char kHttp11[] = "\x08http/1.1";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void applyProtocolPolicy(SSL_CTX* ctx, const ProxyConfig& cfg) {
    SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
    SSL_CTX_set_min_proto_version(ctx, cfg.allowLegacyTls ? TLS1_VERSION : TLS1_2_VERSION);
    if (cfg.allowLegacyTls) SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    // Checked against the known names by parseProxyConfig; OpenSSL refuses
    // only a list of which it has none.
    if (SSL_CTX_set_ciphersuites(ctx, cfg.tls13CipherSuites.c_str()) != 1)
        throw ConfigError("/tls13CipherSuites: OpenSSL has none of " + cfg.tls13CipherSuites);
    static const unsigned char sid[] = "edgelab-proxy";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    // The session settings go on every context, not only on the front one
    // whose cache holds the sessions: OpenSSL reads some of them from the
    // context the hello callback switched to (whether a TLS 1.2 ServerHello
    // offers a session id, for one).
    // No encrypted session tickets: a session stays in the server's cache,
    // and a client resumes by its id (TLS 1.2) or by a TLS 1.3 ticket that
    // carries only that id. Per resumed TLS 1.3 handshake this spares the
    // ticket's encoding, encryption and MAC both ways (7 % of the
    // instructions of a resumed connection, bench/README.md), and no ticket
    // key outlives a connection's secrets in every worker's memory.
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (cfg.tlsSessionResumption) {
        // Expired sessions are flushed by the housekeeping of one worker,
        // not by whichever handshake happens to be the 255th.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR);
        // OpenSSL 3.0 counts the session it adds before it makes room, and
        // so keeps one fewer than the size it is given.
        SSL_CTX_sess_set_cache_size(ctx, static_cast<long>(cfg.limits.tlsSessionCacheSize) + 1);
        // One TLS 1.3 ticket per handshake instead of two: clients use one.
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
}

std::shared_ptr<const CertificateEntry> loadCertificate(const ProxyConfig& cfg,
                                                        const std::string& thumbprint,
                                                        std::string& error) {
    const auto pem = cfg.certificateStore / (thumbprint + ".pem");
    const auto key = cfg.certificateStore / (thumbprint + ".key");
    auto entry = std::make_shared<CertificateEntry>();
    entry->thumbprint = thumbprint;
    entry->context = std::make_shared<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    entry->context->use_certificate_chain_file(pem.string(), ec);
    if (!ec) entry->context->use_private_key_file(key.string(), ssl::context::pem, ec);
    if (ec) {
        error = "certificate " + thumbprint + " (" + pem.string() + "): " + ec.message();
        return nullptr;
    }
    SSL_CTX* ctx = entry->context->native_handle();
    applyProtocolPolicy(ctx, cfg);
    // The file holds the leaf and its chain, sent as they are: OpenSSL would
    // otherwise build a chain from its store on every handshake when the
    // file holds a leaf alone.
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    entry->dnsNames = dnsNamesOf(SSL_CTX_get0_certificate(ctx));
    return entry;
}

std::shared_ptr<const TlsSnapshot> buildSnapshot(const ProxyConfig& cfg, BindingStore store,
                                                 const TlsSnapshot* previous,
                                                 const AccessLog& log) {
    auto snap = std::make_shared<TlsSnapshot>();
    snap->store = std::move(store);
    for (const auto& b : snap->store.bindings) {
        if (snap->certificates.count(b.certificateHash)) continue;
        if (previous) {
            auto it = previous->certificates.find(b.certificateHash);
            if (it != previous->certificates.end()) {
                snap->certificates.emplace(b.certificateHash, it->second);
                continue;
            }
        }
        std::string error;
        if (auto entry = loadCertificate(cfg, b.certificateHash, error)) {
            snap->certificates.emplace(b.certificateHash, std::move(entry));
        } else {
            // The binding stays; its handshakes are refused, as HTTP.sys
            // does for a binding whose certificate is gone.
            logEvent(log, {{"event", "certificate-unavailable"},
                           {"binding", b.key.str()},
                           {"reason", error}});
        }
    }
    return snap;
}

void attachHandshakeState(SSL* ssl, HandshakeState* state) {
    SSL_set_ex_data(ssl, handshakeIndex(), state);
}

void installClientHello(SSL_CTX* ctx) { SSL_CTX_set_client_hello_cb(ctx, onClientHello, nullptr); }

}  // namespace edgelab::proxy
