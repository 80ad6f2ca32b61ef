// The lab PKI, as an enterprise CA has it: a root CA, an issuing
// (intermediate) CA, and the server certificates the lab asks for.
//
// Certificates live in a certificate store folder, each named by its SHA-1
// thumbprint as Windows shows it (40 upper-case hex digits):
//   STORE/<THUMBPRINT>.pem   the certificate, then its chain up to (not
//                            including) the root, unless the lab says the
//                            server sends its leaf alone
//   STORE/<THUMBPRINT>.key   its private key, mode 0600
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provision/lab.hpp"

namespace edgelab::provision {

namespace fs = std::filesystem;

struct CertificateRequest {
    std::string subjectCn;
    std::vector<std::string> dnsNames;  // subjectAltName dNSName entries
    KeyType keyType = KeyType::EcdsaP256;
    int validityDays = 365;
    bool includeChain = true;  // store the issuing CA after the leaf
};

struct StoredCertificate {
    std::string thumbprint;  // 40 upper-case hex digits
    fs::path certFile;       // STORE/<thumbprint>.pem
    fs::path keyFile;        // STORE/<thumbprint>.key
    std::vector<std::string> dnsNames;
    std::chrono::system_clock::time_point notAfter;
};

struct LabPki {
    fs::path dir;          // WORK/pki
    fs::path storeDir;     // WORK/pki/store
    fs::path rootCert;     // the lab root (the CA bundle clients and the proxy trust)
    fs::path issuingCert;  // the issuing CA
    StoredCertificate proxy;
    std::map<std::string, StoredCertificate> backends;  // by Backend::name
    fs::path rootKey;                                   // mode 0600
    fs::path issuingKey;                                // mode 0600
    fs::path manifest;  // WORK/pki/manifest.json: request -> thumbprint, for re-use
};

// Creates (or re-uses, when still valid and matching the lab) the lab's root
// and issuing CA, the proxy certificate and one certificate per backend.
// A backend whose publicNamesInCertificate is false gets its own host name
// only (S4). Throws std::runtime_error naming the file or OpenSSL's reason.
//
// With `runCaDir`, the root and issuing CA are the run's, not the lab's
// ("edgelab run Root CA", "edgelab run Issuing CA"): made in `runCaDir` (or
// re-used from it while valid) once per process and folder, and shared by
// every lab provisioned with the same folder, in any thread. The lab's
// WORK/pki holds the same files as without it (root.pem, root.key,
// issuing.pem, issuing.key: hard links to the run's, a copy across file
// systems), so the lab's folder stands alone as `edgelab up` leaves it. Its
// leaves are issued from the run's issuing CA into `runCaDir`/store once per
// distinct request (subject, names, key type, chain, validity) and shared
// into the store of every lab of the run that asks for the same one (hard
// links, under the same thumbprint): labs that are copies of one another
// hold one certificate, as the servers of a deployment hold the one their
// CA issued.
LabPki provisionPki(const Lab& lab, const fs::path& workDir, const fs::path& runCaDir = {});

// Issues one more server certificate from the lab's issuing CA into its store
// (always new: no re-use). For certificates the lab description does not name.
StoredCertificate issueToStore(const LabPki& pki, const CertificateRequest& request);

// The SHA-1 thumbprint of a PEM certificate file's first certificate.
std::string thumbprintOfPemFile(const fs::path& pem);

// Adds an existing certificate and key (PEM) to a store; returns its entry.
// The certificate file may hold its chain after the leaf; it is stored as
// given. Throws when the key does not belong to the certificate.
StoredCertificate importToStore(const fs::path& storeDir, const fs::path& certPem,
                                const fs::path& keyPem);

// The store entry for a thumbprint (any case), if present. Throws naming the
// file when the entry is not a readable certificate or holds another one.
std::optional<StoredCertificate> findInStore(const fs::path& storeDir, std::string_view thumbprint);

}  // namespace edgelab::provision
