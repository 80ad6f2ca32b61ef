#include "checks/trust.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace edgelab::checks {

namespace {

// libcurl's built-in CA file and directory (Debian's: the bundle in
// /etc/ssl/certs and that directory), as a handle that sets neither reads.
std::pair<std::string, std::string> libcurlDefaults() {
    std::pair<std::string, std::string> out;
    CURL* easy = curl_easy_init();
    char* file = nullptr;
    char* dir = nullptr;
    if (easy && curl_easy_getinfo(easy, CURLINFO_CAINFO, &file) == CURLE_OK && file)
        out.first = file;
    if (easy && curl_easy_getinfo(easy, CURLINFO_CAPATH, &dir) == CURLE_OK && dir) out.second = dir;
    curl_easy_cleanup(easy);
    return out;
}

}  // namespace

TrustStore::TrustStore(const std::optional<std::filesystem::path>& caFile)
    : store_(X509_STORE_new()) {
    auto [defaultFile, defaultPath] = libcurlDefaults();
    caFile_ = caFile ? caFile->string() : defaultFile;
    // libcurl looks in its CA directory even when given a CA file (Debian's
    // /etc/ssl/certs): its connections keep doing so, as strictly as before.
    caPath_ = defaultPath;
    // What libcurl does with the same file: X509_STORE_load_file (PEM
    // certificates; CRLs are unused without a CRL file). The raw handshakes
    // trust --cacert alone, or all the system's roots without it.
    if (!caFile_.empty() && X509_STORE_load_file(store_, caFile_.c_str()) != 1) readFailed_ = true;
    if (!caFile && !caPath_.empty() && X509_STORE_load_path(store_, caPath_.c_str()) != 1)
        readFailed_ = true;
    STACK_OF(X509)* certs = X509_STORE_get1_all_certs(store_);
    for (int i = 0; certs && i < sk_X509_num(certs); ++i) roots_.push_back(sk_X509_value(certs, i));
    sk_X509_free(certs);  // the references are roots_'s now
}

TrustStore::~TrustStore() {
    for (X509* c : roots_) X509_free(c);
    X509_STORE_free(store_);
}

void TrustStore::apply(CURL* easy) const {
    if (readFailed_) {
        // libcurl reads the file (or its defaults) itself and fails each
        // connection with its own error (CURLE_SSL_CACERT_BADFILE).
        if (!caFile_.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, caFile_.c_str());
        return;
    }
    // Nothing for libcurl to read (Debian's libcurl is built without
    // --with-ca-fallback: with neither set it loads no roots of its own).
    curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, onSslContext);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, const_cast<TrustStore*>(this));
}

// Called by libcurl for each new connection's SSL_CTX, before its handshake.
// Each connection gets a store of its own holding the run's certificates (no
// decoding: each X509 gains a reference), because libcurl sets its flags
// (X509_V_FLAG_PARTIAL_CHAIN, TRUSTED_FIRST) on the store it is given, which
// must not race with another thread verifying against a shared one; libcurl
// then keeps that store for the later connections of the same multi handle.
CURLcode TrustStore::onSslContext(CURL*, void* sslContext, void* self) {
    return static_cast<const TrustStore*>(self)->configure(static_cast<SSL_CTX*>(sslContext));
}

CURLcode TrustStore::configure(SSL_CTX* context) const {
    X509_STORE* own = X509_STORE_new();
    if (!own) return CURLE_OUT_OF_MEMORY;
    for (X509* c : roots_)
        if (X509_STORE_add_cert(own, c) != 1) {
            X509_STORE_free(own);
            return CURLE_OUT_OF_MEMORY;
        }
    if (!caPath_.empty() && X509_STORE_load_path(own, caPath_.c_str()) != 1) {
        X509_STORE_free(own);
        return CURLE_SSL_CACERT_BADFILE;
    }
    SSL_CTX_set_cert_store(context, own);
    return CURLE_OK;
}

}  // namespace edgelab::checks
