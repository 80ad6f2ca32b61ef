#include "audit/certificates.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "checks/gather.hpp"

namespace edgelab::audit {

namespace {

AuditCertificate auditCertificateOf(X509* x, const std::string& source) {
    const auto info = checks::describeCertificate(x);
    return {info.thumbprint, info.subjectCn, info.dnsNames, source};
}

}  // namespace

std::vector<AuditCertificate> readCertificates(std::string_view bytes, const std::string& source) {
    std::vector<AuditCertificate> out;
    BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        out.push_back(auditCertificateOf(x, source));
        X509_free(x);
    }
    BIO_free(bio);
    if (out.empty()) {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()))) {
            out.push_back(auditCertificateOf(x, source));
            X509_free(x);
        }
    }
    ERR_clear_error();  // the PEM reader's end-of-input is not an error here
    if (out.empty())
        throw std::runtime_error(source + ": no certificate in it (expected PEM or DER)");
    return out;
}

}  // namespace edgelab::audit
