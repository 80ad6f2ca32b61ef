#include "checks/gather.hpp"

#include "checks/signin.hpp"
#include "checks/trust.hpp"
#include "common/ascii.hpp"
#include "common/endpoint.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace edgelab::checks {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Serialises progress reports from the HTTP and TLS threads.
struct Progress {
    ProgressSink* sink;
    std::size_t total;
    std::size_t done = 0;
    std::mutex m;
    void tick(const ProbeId& id) {
        std::lock_guard lock(m);
        ++done;
        if (sink) sink->probeDone(id.str(), done, total);
    }
};

std::string bioText(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::chrono::system_clock::time_point timeOf(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

CertificateInfo describe(X509* x) {
    CertificateInfo c;
    X509_NAME* subject = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0) {
        ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        unsigned char* utf8 = nullptr;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n >= 0) c.subjectCn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
    }
    for (auto [name, out] :
         {std::pair{subject, &c.subject}, std::pair{X509_get_issuer_name(x), &c.issuer}}) {
        BIO* bio = BIO_new(BIO_s_mem());
        X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
        *out = bioText(bio);
        BIO_free(bio);
    }
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    for (int k = 0; sans && k < sk_GENERAL_NAME_num(sans); ++k) {
        GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, k);
        if (g->type != GEN_DNS) continue;
        auto* s = g->d.dNSName;
        c.dnsNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(sans);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    X509_digest(x, EVP_sha1(), md, &mdLen);
    static const char* hex = "0123456789ABCDEF";
    for (unsigned k = 0; k < mdLen; ++k) c.thumbprint += {hex[md[k] >> 4], hex[md[k] & 15]};
    c.notBefore = timeOf(X509_get0_notBefore(x));
    c.notAfter = timeOf(X509_get0_notAfter(x));
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    c.pem = bioText(bio);
    BIO_free(bio);
    return c;
}

}  // namespace

CertificateInfo describeCertificate(X509* x) { return describe(x); }

std::size_t recordBody(char* data, std::size_t size, std::size_t n, void* recording) {
    auto* r = static_cast<ResponseRecording*>(recording);
    const std::size_t len = size * n;
    const std::size_t room = r->limit > r->x->body.size() ? r->limit - r->x->body.size() : 0;
    r->x->body.append(data, std::min(room, len));
    if (len > room) r->x->bodyTruncated = true;
    return len;
}

std::size_t recordHeader(char* data, std::size_t size, std::size_t n, void* recording) {
    auto* r = static_cast<ResponseRecording*>(recording);
    std::string_view line(data, size * n);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    // A status line starts a new response: after 100 Continue, or NTLM's 401
    // before its 200.
    if (line.rfind("HTTP/", 0) == 0) {
        r->x->responseHeaders.clear();
        return size * n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name = asciiLower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    r->x->responseHeaders.emplace(std::move(name), std::string(value));
    return size * n;
}

namespace {

// ---------------------------------------------------------------- HTTP

struct Transfer {
    ProbeId id;
    std::string host;  // the URL's, lower case
    ResponseRecording recording;
    curl_slist* headers = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {};
};

void finish(CURL* easy, CURLcode code, Transfer& t) {
    HttpExchange& x = *t.recording.x;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x.status);
    curl_off_t us = 0;
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &us);
    x.timings.connectMs = static_cast<double>(us) / 1000.0;
    curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &us);
    x.timings.tlsMs = static_cast<double>(us) / 1000.0;
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &us);
    x.timings.firstByteMs = static_cast<double>(us) / 1000.0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
    x.timings.totalMs = static_cast<double>(us) / 1000.0;
    if (code != CURLE_OK) x.error = t.errbuf[0] ? t.errbuf : curl_easy_strerror(code);
    x.transport = transportError(code, x.timings.connectMs > 0);
    // Only these mean that no TCP connection was made; a TLS or HTTP error
    // comes from a server that answered.
    bool noConnection = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
                        (code == CURLE_OPERATION_TIMEDOUT && x.timings.connectMs == 0);
    x.connected = x.status > 0 || !noConnection;
}

// Holds back a public name's later HTTP probes until its first connection
// has a TLS session in the run's share, so that the connections they open
// resume it instead of each paying a full handshake at the client, the proxy
// (a signature) and, for the certificate, here again. libcurl stores a
// session from its new-session callback (a TLS 1.3 ticket, read right after
// the handshake); the gate wraps that callback on the probes' own contexts to
// learn that it ran. When libcurl installed none, or a name's first probe
// ended without a session, the rest go at once, as before.
class SessionGate {
  public:
    explicit SessionGate(const TrustStore& trust) : trust_(trust) {}

    void apply(CURL* easy) {
        trust_.apply(easy);
        if (trust_.readFailed()) return;  // libcurl reads the file itself, and fails
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, onSslContext);
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, this);
    }
    bool hasSession(const std::string& host) const { return withSession_.count(host) > 0; }

  private:
    using NewSession = int (*)(SSL*, SSL_SESSION*);

    static int exIndex() {
        static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        return index;
    }
    // libcurl's own callback: the same function for every context it makes.
    static inline std::atomic<NewSession> libcurlNewSession_{nullptr};

    static CURLcode onSslContext(CURL*, void* sslContext, void* self) {
        auto* gate = static_cast<SessionGate*>(self);
        auto* ctx = static_cast<SSL_CTX*>(sslContext);
        if (CURLcode rc = gate->trust_.configure(ctx); rc != CURLE_OK) return rc;
        NewSession libcurls = SSL_CTX_sess_get_new_cb(ctx);
        if (!libcurls || libcurls == onNewSession) return CURLE_OK;
        libcurlNewSession_ = libcurls;
        SSL_CTX_set_ex_data(ctx, exIndex(), gate);
        SSL_CTX_sess_set_new_cb(ctx, onNewSession);
        return CURLE_OK;
    }
    static int onNewSession(SSL* ssl, SSL_SESSION* session) {
        const int kept = libcurlNewSession_.load()(ssl, session);
        auto* gate =
            static_cast<SessionGate*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), exIndex()));
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        if (gate && name) gate->withSession_.insert(asciiLower(name));
        return kept;
    }

    const TrustStore& trust_;
    std::set<std::string> withSession_;  // lower-case names; the multi's thread only
};

std::string hostOf(const std::string& url) {
    std::string host;
    CURLU* u = curl_url();
    char* h = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
        host = asciiLower(h);
    curl_free(h);
    curl_url_cleanup(u);
    return host;
}

CURL* httpHandle(const HttpProbe& p, Transfer& t, curl_slist* connectTo, const GatherOptions& opt,
                 SessionGate& gate) {
    for (auto& [k, v] : p.headers) t.headers = curl_slist_append(t.headers, (k + ": " + v).c_str());
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, p.url.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, p.method == "GET" ? nullptr : p.method.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connectTo);
    gate.apply(e);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connectTimeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.requestTimeout.count()));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "edgelab-check/0.1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, recordBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t.recording);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, recordHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t.recording);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    // One TLS session cache and DNS cache for all probes (and the sign-ins):
    // later connections resume instead of paying full handshakes.
    curl_easy_setopt(e, CURLOPT_SHARE, opt.share);
    return e;
}

// Runs the multi handle until every transfer, the held ones included, is
// done; a name's held transfers are added once it has a session, its first
// transfer ended, or `grace` passed (a server that never finishes a
// handshake must not make the others wait out a timeout of their own after
// it).
void driveHttp(CURLM* multi, std::map<std::string, std::vector<CURL*>>& held,
               const SessionGate& gate, std::chrono::milliseconds grace, Progress& progress,
               const std::function<void()>& released) {
    std::set<std::string> ended;  // names whose first transfer is done
    const auto deadline = Clock::now() + grace;
    for (;;) {
        if (held.empty()) released();
        int running = 0;
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
            finish(m->easy_handle, m->data.result, *t);
            ended.insert(t->host);
            progress.tick(t->id);
            curl_multi_remove_handle(multi, m->easy_handle);
            curl_easy_cleanup(m->easy_handle);
        }
        bool added = false;
        for (auto it = held.begin(); it != held.end();) {
            if (!gate.hasSession(it->first) && !ended.count(it->first) && Clock::now() < deadline) {
                ++it;
                continue;
            }
            for (CURL* e : it->second) curl_multi_add_handle(multi, e);
            it = held.erase(it);
            added = true;
        }
        if (added) continue;
        if (!running) break;
        auto wait = std::chrono::milliseconds(200);
        if (!held.empty())
            wait = std::clamp(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                std::chrono::milliseconds(1), wait);
        curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
}

void gatherHttp(const std::vector<const HttpProbe*>& probes, const Target& target,
                const GatherOptions& opt, Evidence& ev, Progress& progress,
                const std::function<void()>& released) {
    if (probes.empty()) return;
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    // A few keep-alive connections per name carry all its requests: every
    // extra connection costs a TLS handshake at the client, the proxy and the
    // backend, which on a small machine is the bulk of the work.
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(opt.connectionsPerHost));

    curl_slist* connectTo = nullptr;
    for (auto& c : target.connectTo) connectTo = curl_slist_append(connectTo, c.c_str());

    SessionGate gate(*opt.trust);
    std::map<std::string, std::vector<CURL*>> held;  // name -> its probes after the first
    std::vector<std::unique_ptr<Transfer>> transfers;
    for (auto* p : probes) {
        HttpExchange& x = ev.http[p->id];
        x = HttpExchange{};
        x.method = p->method;
        x.url = p->url;
        x.requestHeaders = p->headers;
        auto t = std::make_unique<Transfer>();
        t->id = p->id;
        t->host = hostOf(p->url);
        t->recording = {&x, opt.bodyLimit};
        CURL* e = httpHandle(*p, *t, connectTo, opt, gate);
        if (auto first = held.try_emplace(t->host); first.second)
            curl_multi_add_handle(multi, e);
        else
            first.first->second.push_back(e);
        transfers.push_back(std::move(t));
    }
    // A name's first handshake takes milliseconds on loopback and well under
    // this on a network; one that takes longer no longer holds the others.
    driveHttp(multi, held, gate, std::min(opt.connectTimeout, std::chrono::milliseconds(250)),
              progress, released);
    for (auto& t : transfers) curl_slist_free_all(t->headers);
    curl_slist_free_all(connectTo);
    curl_multi_cleanup(multi);
}

// ---------------------------------------------------------------- TLS

int protoVersion(const std::string& v) {
    if (v == "1.0") return TLS1_VERSION;
    if (v == "1.1") return TLS1_1_VERSION;
    if (v == "1.2") return TLS1_2_VERSION;
    return TLS1_3_VERSION;
}

struct Handshake {
    const HandshakeProbe* probe;
    TlsHandshake* out;
    int fd = -1;
    SSL* ssl = nullptr;
    bool connecting = true;
    short events = POLLOUT;
    bool done = false;
    Clock::time_point start;
    std::string alert;  // set by the info callback when the server sends one
};

void onInfo(const SSL* ssl, int where, int ret) {
    if (!(where & SSL_CB_READ_ALERT)) return;
    auto* h = static_cast<Handshake*>(SSL_get_app_data(ssl));
    if (h && h->alert.empty()) h->alert = SSL_alert_desc_string_long(ret);
}

std::optional<sockaddr_storage> resolve(const std::string& host, std::uint16_t port, socklen_t& len,
                                        std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    int rc = getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || !res) {
        error = "cannot resolve " + host + ": " + gai_strerror(rc);
        return std::nullopt;
    }
    sockaddr_storage ss{};
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
    return ss;
}

void settle(Handshake& h, HandshakeOutcome o, std::string detail) {
    h.out->outcome = o;
    h.out->detail = std::move(detail);
    h.out->durationMs = msSince(h.start);
    h.done = true;
    if (h.ssl) SSL_free(h.ssl);
    h.ssl = nullptr;
    if (h.fd >= 0) close(h.fd);
    h.fd = -1;
}

void verifyChain(Handshake& h, X509_STORE* store) {
    STACK_OF(X509)* sent = SSL_get_peer_cert_chain(h.ssl);
    X509* leaf = SSL_get0_peer_certificate(h.ssl);
    for (int i = 0; sent && i < sk_X509_num(sent); ++i)
        h.out->chain.push_back(describe(sk_X509_value(sent, i)));
    if (!leaf) return;
    // Only what the server sent is untrusted input; the store holds the
    // trusted root alone, so a missing intermediate cannot be filled in.
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, sent);
    if (X509_verify_cert(ctx) == 1) {
        h.out->chainVerifiedFromSentOnly = true;
    } else {
        h.out->verifyError = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    }
    X509_STORE_CTX_free(ctx);
}

void step(Handshake& h, SSL_CTX* ctx, X509_STORE* store) {
    if (h.connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(h.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == ECONNREFUSED) return settle(h, HandshakeOutcome::Refused, std::strerror(err));
        if (err != 0) return settle(h, HandshakeOutcome::OtherError, std::strerror(err));
        h.connecting = false;
        h.out->connected = true;
        h.ssl = SSL_new(ctx);
        SSL_set_app_data(h.ssl, &h);
        SSL_set_info_callback(h.ssl, onInfo);
        int minV = protoVersion(h.probe->minTls), maxV = protoVersion(h.probe->maxTls);
        SSL_set_min_proto_version(h.ssl, minV);
        SSL_set_max_proto_version(h.ssl, maxV);
        // Old profiles (TLS 1.0/1.1) need OpenSSL 3's security level 0 to offer them.
        if (minV < TLS1_2_VERSION) {
            SSL_set_security_level(h.ssl, 0);
            SSL_set_cipher_list(h.ssl, "DEFAULT:@SECLEVEL=0");
        }
        if (h.probe->sni) SSL_set_tlsext_host_name(h.ssl, h.probe->sni->c_str());
        SSL_set_fd(h.ssl, h.fd);
        SSL_set_connect_state(h.ssl);
    }
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(h.ssl);
    if (rc == 1) {
        h.out->protocol = SSL_get_version(h.ssl);
        h.out->cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(h.ssl));
        verifyChain(h, store);
        SSL_shutdown(h.ssl);
        return settle(h, HandshakeOutcome::Ok, {});
    }
    int e = SSL_get_error(h.ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        h.events = POLLIN;
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        h.events = POLLOUT;
        return;
    }
    int sysErr = errno;
    unsigned long sslErr = ERR_peek_error();
    if (!h.alert.empty()) return settle(h, HandshakeOutcome::Alert, h.alert);
    if (e == SSL_ERROR_SYSCALL) {
        if (sysErr == ECONNRESET || sysErr == EPIPE)
            return settle(h, HandshakeOutcome::Reset,
                          std::string(std::strerror(sysErr)) + ", errno=" + std::to_string(sysErr));
        if (sysErr == 0 && sslErr == 0)
            return settle(h, HandshakeOutcome::Reset, "connection closed during the handshake");
        return settle(h, HandshakeOutcome::OtherError,
                      sysErr ? std::strerror(sysErr) : ERR_reason_error_string(sslErr));
    }
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(sslErr) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return settle(h, HandshakeOutcome::Reset, "connection closed during the handshake");
    const char* reason = ERR_reason_error_string(sslErr);
    settle(h, HandshakeOutcome::OtherError, reason ? reason : "handshake failed");
}

// Drives every started handshake with poll(2) until each has settled or
// the deadline has passed (the rest then time out).
void awaitHandshakes(std::vector<Handshake>& hs, const std::vector<const HandshakeProbe*>& probes,
                     Clock::time_point deadline, const GatherOptions& opt, SSL_CTX* ctx,
                     X509_STORE* store, Progress& progress) {
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<std::size_t> which;
        for (std::size_t i = 0; i < hs.size(); ++i)
            if (!hs[i].done) {
                fds.push_back({hs[i].fd, hs[i].events, 0});
                which.push_back(i);
            }
        if (fds.empty()) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            for (auto i : which) {
                settle(hs[i], HandshakeOutcome::Timeout,
                       std::string(hs[i].connecting ? "TCP connect" : "TLS handshake") +
                           " did not finish in " + std::to_string(opt.handshakeTimeout.count()) +
                           " ms");
                progress.tick(probes[i]->id);
            }
            break;
        }
        int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) break;
        for (std::size_t k = 0; n > 0 && k < fds.size(); ++k) {
            if (!fds[k].revents) continue;
            Handshake& h = hs[which[k]];
            step(h, ctx, store);
            if (h.done) progress.tick(probes[which[k]]->id);
        }
    }
}

void gatherTls(const std::vector<const HandshakeProbe*>& probes, const Target& target,
               const GatherOptions& opt, Evidence& ev, Progress& progress,
               std::vector<TlsHandshake>& results) {
    if (probes.empty()) return;
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the chain is verified apart
    X509_STORE* store = opt.trust->store();

    results.resize(probes.size());
    std::vector<Handshake> hs(probes.size());
    auto deadline = Clock::now() + opt.handshakeTimeout;
    for (std::size_t i = 0; i < probes.size(); ++i) {
        const HandshakeProbe& p = *probes[i];
        Handshake& h = hs[i];
        h.probe = &p;
        h.out = &results[i];
        h.out->sni = p.sni;
        h.out->profile = p.profile;
        h.out->minTls = p.minTls;
        h.out->maxTls = p.maxTls;
        h.start = Clock::now();
        std::string addr;
        std::uint16_t port = p.port;
        if (p.address) {
            // A running lab's state names the address; a hand-edited one
            // may not read, and that is this probe's failure alone.
            const auto e = parseEndpoint(*p.address, EndpointHost::AddressOrName);
            if (!e) {
                h.out->address = *p.address;
                settle(h, HandshakeOutcome::Unresolved, e.error());
                continue;
            }
            addr = e->host;
            port = e->port;
        } else if (auto ct = connectToFor(target.connectTo, p.host, p.port)) {
            addr = ct->first;
            port = ct->second;
        } else {
            addr = p.host;
        }
        h.out->address = Endpoint{addr, port}.str();
        socklen_t len = 0;
        std::string err;
        auto sa = resolve(addr, port, len, err);
        if (!sa) {
            settle(h, HandshakeOutcome::Unresolved, err);
            continue;
        }
        h.fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (h.fd < 0 ||
            (connect(h.fd, reinterpret_cast<sockaddr*>(&*sa), len) != 0 && errno != EINPROGRESS)) {
            int e = errno;
            settle(h, e == ECONNREFUSED ? HandshakeOutcome::Refused : HandshakeOutcome::OtherError,
                   std::strerror(e));
        }
    }
    for (std::size_t i = 0; i < hs.size(); ++i)
        if (hs[i].done) progress.tick(probes[i]->id);

    awaitHandshakes(hs, probes, deadline, opt, ctx, store, progress);
    SSL_CTX_free(ctx);
    (void)ev;
}

bool httpConnected(const HttpExchange& x) { return x.connected; }

// A libcurl share used from several threads at once (the probes' and the
// sign-ins'): libcurl takes a lock per kind of data it shares.
class LockedShare {
  public:
    LockedShare() : share_(curl_share_init()) {
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, lock);
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, unlock);
        curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
    ~LockedShare() { curl_share_cleanup(share_); }
    LockedShare(const LockedShare&) = delete;
    LockedShare& operator=(const LockedShare&) = delete;
    CURLSH* get() const { return share_; }

  private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
        static_cast<LockedShare*>(self)->locks_[data % CURL_LOCK_DATA_LAST].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* self) {
        static_cast<LockedShare*>(self)->locks_[data % CURL_LOCK_DATA_LAST].unlock();
    }
    CURLSH* share_;
    std::mutex locks_[CURL_LOCK_DATA_LAST];
};

// Writing to a socket the peer has reset raises SIGPIPE, which would end the
// whole program; a server that resets is exactly what the checks look for.
// SIGPIPE is delivered to the thread that wrote, so blocking it on the
// gathering threads is enough, and write() returns EPIPE instead.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, &old_);
    }
    ~SigpipeBlocked() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        timespec zero{0, 0};
        while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

  private:
    sigset_t old_;
};

// The HTTP probes and the handshakes, side by side, with the user's retries
// for those that could not connect.
void gatherProbes(std::vector<const HttpProbe*> http, std::vector<const HandshakeProbe*> tls,
                  const Target& target, const GatherOptions& opt, Evidence& ev, ProgressSink* sink,
                  const std::function<void()>& released) {
    for (int round = 0;; ++round) {
        Progress progress{sink, http.size() + tls.size(), 0, {}};
        std::vector<TlsHandshake> tlsResults;
        // The handshakes poll their own sockets on a second thread while
        // libcurl runs the HTTP probes on this one.
        std::thread tlsThread([&] {
            SigpipeBlocked blocked;
            gatherTls(tls, target, opt, ev, progress, tlsResults);
        });
        SigpipeBlocked blocked;
        gatherHttp(http, target, opt, ev, progress, released);
        tlsThread.join();
        for (std::size_t i = 0; i < tls.size(); ++i) ev.tls[tls[i]->id] = tlsResults[i];

        if (round >= opt.retries) break;
        std::vector<const HttpProbe*> httpAgain;
        std::vector<const HandshakeProbe*> tlsAgain;
        for (auto* p : http)
            if (!httpConnected(ev.http[p->id])) httpAgain.push_back(p);
        for (auto* p : tls)
            if (!ev.tls[p->id].connected) tlsAgain.push_back(p);
        if (httpAgain.empty() && tlsAgain.empty()) break;
        http = std::move(httpAgain);
        tls = std::move(tlsAgain);
        std::this_thread::sleep_for(opt.retryDelay);  // the user's --retry-delay
    }
}

}  // namespace

TransportError transportError(CURLcode code, bool connected) {
    switch (code) {
        case CURLE_OK:
        case CURLE_HTTP_RETURNED_ERROR:
            return TransportError::None;
        case CURLE_COULDNT_RESOLVE_HOST:
            return TransportError::Unresolved;
        case CURLE_COULDNT_CONNECT:
            return TransportError::Refused;
        case CURLE_OPERATION_TIMEDOUT:
            return connected ? TransportError::Timeout : TransportError::ConnectTimeout;
        case CURLE_SSL_CONNECT_ERROR:
            return TransportError::TlsHandshake;
        case CURLE_PEER_FAILED_VERIFICATION:
            return TransportError::CertificateRejected;
        default:
            return TransportError::Other;
    }
}

namespace {

// HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT; an IPv6 host is in brackets.
std::vector<std::string> connectToParts(const std::string& entry) {
    std::vector<std::string> parts;
    std::string cur;
    int depth = 0;
    for (char c : entry) {
        if (c == '[') ++depth;
        if (c == ']') --depth;
        if (c == ':' && depth == 0) {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(cur);
    return parts;
}

// An empty port means "any" (first) or "the same" (second), as curl reads it.
std::optional<std::uint16_t> connectToPort(std::string_view text, std::uint16_t ifEmpty) {
    if (text.empty()) return ifEmpty;
    return parsePort(text).optional();
}

}  // namespace

std::optional<std::string> connectToError(const std::string& entry) {
    const auto parts = connectToParts(entry);
    if (parts.size() != 4) return "expected HOST:PORT:ADDR:PORT";
    for (const auto& port : {parts[1], parts[3]})
        if (auto p = parsePort(port); !port.empty() && !p) return p.error() + " (or empty)";
    return std::nullopt;
}

std::optional<std::pair<std::string, std::uint16_t>> connectToFor(
    const std::vector<std::string>& connectTo, const std::string& host, std::uint16_t port) {
    for (auto& entry : connectTo) {
        const auto parts = connectToParts(entry);
        if (parts.size() != 4) continue;
        // An entry that does not read (a port that is not a number) applies
        // to nothing; `edgelab check` refuses it before (connectToError).
        const auto fromPort = connectToPort(parts[1], port);
        const auto toPort = connectToPort(parts[3], port);
        if (!fromPort || !toPort) continue;
        if (!parts[0].empty() && !iequals(parts[0], host)) continue;
        if (*fromPort != port) continue;
        return std::pair{parts[2].empty() ? host : parts[2], *toPort};
    }
    return std::nullopt;
}

namespace {

// A one-way gate between threads: closed until open() (once, from any
// thread), then every wait() returns.
class SessionsReady {
  public:
    void open() {
        std::call_once(once_, [this] { promise_.set_value(); });
    }
    void wait() const { future_.wait(); }

    struct OpenAtExit {
        SessionsReady& gate;
        ~OpenAtExit() { gate.open(); }
    };

  private:
    std::once_flag once_;
    std::promise<void> promise_;
    std::shared_future<void> future_ = promise_.get_future().share();
};

}  // namespace

Evidence gather(const ProbePlan& plan, const Target& target, const GatherOptions& options,
                ProgressSink* sink) {
    // libcurl's global set-up is not thread-safe: do it once, here.
    static const bool curlReady = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)curlReady;
    LockedShare share;
    GatherOptions opt = options;
    if (!opt.share) opt.share = share.get();
    std::optional<TrustStore> trust;
    if (!opt.trust) opt.trust = &trust.emplace(target.caFile);
    Evidence ev;
    ev.gatheredAt = std::chrono::system_clock::now();
    std::vector<const HttpProbe*> http;
    std::vector<const HandshakeProbe*> tls;
    for (auto& p : plan.http) http.push_back(&p);
    for (auto& p : plan.tls) tls.push_back(&p);

    // Sign-ins: UCWA (OAuth, with its event channel hold) started first and
    // awaited last; the anonymous meeting join (no NTLM) beside the probes;
    // the NTLM ones once the other probes are done, so that nothing of this
    // run but what they start themselves and the UCWA hold shares the
    // publishing with their handshakes.
    std::vector<SignInProbe> bearerSignIns, besideSignIns, ntlmSignIns;
    for (const auto& p : plan.signin) {
        if (p.flow == SignInProbe::Flow::Ucwa)
            bearerSignIns.push_back(p);
        else if (p.flow == SignInProbe::Flow::AnonMeeting)
            besideSignIns.push_back(p);
        else
            ntlmSignIns.push_back(p);
    }
    // Those two start once every public name's first probe has its TLS
    // session (or has ended): their first connections then resume it, as
    // the probes' later ones do, instead of racing it with full handshakes.
    SessionsReady ready;
    std::map<ProbeId, SignInFlow> bearerFlows, besideFlows;
    std::thread bearerThread([&] {
        SigpipeBlocked blocked;
        ready.wait();
        bearerFlows = gatherSignIns(bearerSignIns, target, opt);
    });
    std::thread besideThread([&] {
        SigpipeBlocked blocked;
        ready.wait();
        besideFlows = gatherSignIns(besideSignIns, target, opt);
    });
    {
        // Opened whatever happens to the probes (none, an exception).
        const SessionsReady::OpenAtExit open{ready};
        gatherProbes(http, tls, target, opt, ev, sink, [&] { ready.open(); });
    }
    besideThread.join();
    {
        SigpipeBlocked blocked;
        ev.signin = gatherSignIns(ntlmSignIns, target, opt);
    }
    bearerThread.join();
    ev.signin.merge(bearerFlows);
    ev.signin.merge(besideFlows);
    return ev;
}

bool targetUnreachable(const Evidence& ev) {
    if (ev.http.empty() && ev.tls.empty()) return false;
    for (auto& [id, x] : ev.http)
        if (x.connected) return false;
    for (auto& [id, h] : ev.tls)
        if (h.connected && h.profile != "backend") return false;
    return true;
}

}  // namespace edgelab::checks
