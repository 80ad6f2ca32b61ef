// The roots one run of the checks trusts, read once. libcurl 7.88 makes a
// new SSL_CTX for every connection and reads its CA file into it again
// (OpenSSL 3 decodes each certificate's key anew, ~1.5 M instructions a
// certificate); here the file is read once, and every libcurl connection and
// every raw handshake verifies against those certificates, as strictly as
// before (checks/README.md, "One trust store per run").
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

#include <openssl/types.h>

namespace edgelab::checks {

class TrustStore {
  public:
    // `caFile` is --cacert (or a running lab's CA bundle); without it, the
    // roots libcurl reads by default (CURLINFO_CAINFO, CURLINFO_CAPATH).
    explicit TrustStore(const std::optional<std::filesystem::path>& caFile);
    ~TrustStore();
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;

    // For the raw handshakes' own chain verification (the roots alone, no
    // flags): only read, from any thread.
    X509_STORE* store() const { return store_; }

    // Makes every connection of this easy handle verify against these roots
    // with libcurl's own checks (peer and host names, its store flags) and
    // libcurl reading no file itself. When the roots did not read, libcurl
    // is left to read them, and fails each connection as it always did.
    void apply(CURL* easy) const;

    // What apply()'s callback does to a connection's SSL_CTX, for a caller
    // that installs its own CURLOPT_SSL_CTX_FUNCTION (after apply()).
    CURLcode configure(SSL_CTX* context) const;

    // How many certificates were read (the CA directory's, looked up when
    // needed, not counted).
    std::size_t certificates() const { return roots_.size(); }
    bool readFailed() const { return readFailed_; }

  private:
    static CURLcode onSslContext(CURL* easy, void* sslContext, void* self);

    X509_STORE* store_ = nullptr;
    std::vector<X509*> roots_;  // the store's certificates, one reference each
    std::string caFile_;        // --cacert, or libcurl's default bundle
    std::string caPath_;        // libcurl's default CA directory
    bool readFailed_ = false;
};

}  // namespace edgelab::checks
