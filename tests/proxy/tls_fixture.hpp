// Test certificates made with OpenSSL: a lab root CA and server
// certificates it signs, written as the proxy's certificate store expects
// (STORE/<THUMB>.pem with the chain, STORE/<THUMB>.key). Regenerated on
// every run, so there are no fixture files to expire.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgelab::proxy::test {

struct KeyPair {
    std::shared_ptr<EVP_PKEY> key;
    std::shared_ptr<X509> cert;
};

inline std::string pemOf(X509* cert) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

inline std::string pemOf(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

inline std::string thumbprintOf(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(cert, EVP_sha1(), md, &n);
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

inline void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) throw std::runtime_error("bad extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A CA when `issuer` is null (self-signed), else a server certificate.
inline KeyPair issue(const std::string& cn, const std::vector<std::string>& dnsNames,
                     const KeyPair* issuer) {
    KeyPair kp;
    kp.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
    kp.cert.reset(X509_new(), X509_free);
    X509* c = kp.cert.get();
    X509_set_version(c, 2);
    static long serial = 1000;
    ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
    X509_set_pubkey(c, kp.key.get());
    X509* issuerCert = issuer ? issuer->cert.get() : c;
    if (!issuer) {
        addExtension(c, issuerCert, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(c, issuerCert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        addExtension(c, issuerCert, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(c, issuerCert, NID_ext_key_usage, "serverAuth");
        std::string san;
        for (const auto& n : dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + n;
        if (!san.empty()) addExtension(c, issuerCert, NID_subject_alt_name, san);
    }
    X509_sign(c, issuer ? issuer->key.get() : kp.key.get(), EVP_sha256());
    return kp;
}

inline void writeText(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
}

// Writes STORE/<THUMB>.pem (leaf + CA) and STORE/<THUMB>.key; returns THUMB.
inline std::string addToStore(const std::filesystem::path& store, const KeyPair& leaf,
                              const KeyPair& ca) {
    std::filesystem::create_directories(store);
    const std::string thumb = thumbprintOf(leaf.cert.get());
    writeText(store / (thumb + ".pem"), pemOf(leaf.cert.get()) + pemOf(ca.cert.get()));
    writeText(store / (thumb + ".key"), pemOf(leaf.key.get()));
    std::filesystem::permissions(store / (thumb + ".key"), std::filesystem::perms::owner_read |
                                                               std::filesystem::perms::owner_write);
    return thumb;
}

}  // namespace edgelab::proxy::test
