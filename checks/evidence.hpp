// What the probes saw, as plain values. Gathering (gather.cpp) fills these;
// the checks (catalogue.cpp) only read them, so every check is tested on
// canned evidence without a socket.
#pragma once

#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checks/ids.hpp"
#include "common/ascii.hpp"

namespace edgelab::checks {

// One certificate as a client sees it in the chain a server sent.
struct CertificateInfo {
    std::string subjectCn;
    std::string subject;                // one-line RFC 2253 form
    std::string issuer;                 // one-line RFC 2253 form
    std::vector<std::string> dnsNames;  // subjectAltName dNSName entries
    std::string thumbprint;             // SHA-1, 40 upper-case hex digits, as Windows shows it
    std::chrono::system_clock::time_point notBefore;
    std::chrono::system_clock::time_point notAfter;
    std::string pem;
};

struct Timings {
    double connectMs = 0;
    double tlsMs = 0;
    double firstByteMs = 0;
    double totalMs = 0;
};

// Header names are stored lower case; HTTP field names are case-insensitive.
using HeaderMap = std::multimap<std::string, std::string>;

// Why an HTTP exchange got no answer, as libcurl's result code tells it.
enum class TransportError {
    None,                 // an answer came, or an error the server gave
    Unresolved,           // the host name did not resolve
    Refused,              // no TCP connection (refused or unreachable)
    ConnectTimeout,       // the TCP connection was not made in time
    Timeout,              // connected, but no complete answer in time
    TlsHandshake,         // the TLS handshake failed
    CertificateRejected,  // the server's certificate did not verify (trust, chain or name)
    Other,
};

// One HTTP request and what came back.
struct HttpExchange {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> requestHeaders;
    bool connected = false;  // a TCP connection to the target was made
    long status = 0;         // 0: no response
    HeaderMap responseHeaders;
    std::string body;  // up to the body limit
    bool bodyTruncated = false;
    std::string error;  // empty when the exchange completed
    TransportError transport = TransportError::None;
    Timings timings;
    std::vector<CertificateInfo> chain;  // as sent by the server

    // The first value of a header (name in any case), or nullopt.
    std::optional<std::string> header(std::string_view name) const {
        auto it = responseHeaders.find(asciiLower(name));
        if (it == responseHeaders.end()) return std::nullopt;
        return it->second;
    }
    std::vector<std::string> headers(std::string_view name) const {
        std::vector<std::string> out;
        auto [b, e] = responseHeaders.equal_range(asciiLower(name));
        for (auto it = b; it != e; ++it) out.push_back(it->second);
        return out;
    }
};

enum class HandshakeOutcome { Ok, Reset, Alert, Timeout, Refused, Unresolved, OtherError };

std::string to_string(HandshakeOutcome);

// One raw TLS handshake (OpenSSL), with or without SNI.
struct TlsHandshake {
    std::string address;             // ADDR:PORT connected to
    std::optional<std::string> sni;  // nullopt: no server_name extension sent
    std::string profile;             // client profile name, or "sni"
    std::string minTls = "1.2";
    std::string maxTls = "1.3";
    bool connected = false;  // the TCP connection was made
    HandshakeOutcome outcome = HandshakeOutcome::OtherError;
    std::string detail;    // alert name, errno text, or OpenSSL's reason
    std::string protocol;  // "TLSv1.3"
    std::string cipher;
    std::vector<CertificateInfo> chain;  // presented chain, leaf first
    bool chainVerifiedFromSentOnly = false;
    std::string verifyError;  // X509_verify_cert_error_string when not verified
    double durationMs = 0;
};

// One request of a sign-in, in the order the client made them.
struct SignInStep {
    std::string name;  // "mex", "rst", "user", "oauthtoken", ...
    HttpExchange exchange;
    double seconds = 0;  // wall time of the request, holds included
};

// A URL the client was handed and meant to follow, and where it came from:
// the sign-ins build no URL of their own past the lyncdiscover name.
struct DiscoveredUrl {
    std::string kind;    // "lyncdiscover", "redirect", "user", "oauth-href", "webticket-url", ...
    std::string url;     // absolute, as it would be requested
    std::string source;  // "_links.redirect of GET https://.../oauth/user (200)"
};

// A sign-in as a client does it, step after step: it stops at the first step
// that does not answer as it must, and before any URL it was handed that is
// not on a public name on 443 (that one is the last of `discovered`, and is
// never requested). Tickets and tokens are replaced by their length in the
// bodies kept here; passwords are never recorded.
struct SignInFlow {
    std::vector<SignInStep> steps;
    std::vector<DiscoveredUrl> discovered;     // in the order they were handed out
    std::map<std::string, std::string> found;  // what the steps yielded, e.g. "ticketExpires"
    std::string skipped;                       // why it did not run (no credentials)
    std::string stopped;  // what the last answer lacked, when a status does not say it

    const SignInStep* step(const std::string& name) const {
        for (const auto& s : steps)
            if (s.name == name) return &s;
        return nullptr;
    }
    // The last step of that name (a sign-in sent to another pool repeats some).
    const SignInStep* lastStep(const std::string& name) const {
        for (auto it = steps.rbegin(); it != steps.rend(); ++it)
            if (it->name == name) return &*it;
        return nullptr;
    }
};

// Everything gathered in one run, keyed by probe id.
struct Evidence {
    std::map<ProbeId, HttpExchange> http;
    std::map<ProbeId, TlsHandshake> tls;
    std::map<ProbeId, SignInFlow> signin;
    std::chrono::system_clock::time_point gatheredAt = std::chrono::system_clock::now();

    const HttpExchange* exchange(const ProbeId& id) const {
        auto it = http.find(id);
        return it == http.end() ? nullptr : &it->second;
    }
    const SignInFlow* flow(const ProbeId& id) const {
        auto it = signin.find(id);
        return it == signin.end() ? nullptr : &it->second;
    }
    const TlsHandshake* handshake(const ProbeId& id) const {
        auto it = tls.find(id);
        return it == tls.end() ? nullptr : &it->second;
    }
};

}  // namespace edgelab::checks
