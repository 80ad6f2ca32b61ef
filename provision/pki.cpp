#include "provision/pki.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/file_lock.hpp"

namespace edgelab::provision {

namespace {

template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const {
        Free(p);
    }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using AsnIntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

constexpr auto kPrivateMode = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto kPublicMode = kPrivateMode | fs::perms::group_read | fs::perms::others_read;

constexpr int kRootValidityDays = 3650;
constexpr int kIssuingValidityDays = 1825;
// The CA of a run of several labs names the run, not one of its labs.
constexpr const char* kRunRootCn = "edgelab run Root CA";
constexpr const char* kRunIssuingCn = "edgelab run Issuing CA";
// A certificate about to expire is replaced rather than handed to a lab that
// may stay up for hours.
constexpr long kRenewWithinSeconds = 24 * 60 * 60;
// Backdated so a peer whose clock lags a little still accepts a fresh certificate.
constexpr long kBackdateSeconds = 60 * 60;

// OpenSSL's queued reasons, earliest (the root cause) first; clears the queue.
std::string opensslReason() {
    std::string reason;
    int count = 0;
    while (unsigned long code = ERR_get_error()) {
        if (count++ == 3) continue;  // drain the rest, keep the message short
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!reason.empty()) reason += "; ";
        reason += buf;
    }
    return reason.empty() ? "unknown OpenSSL error" : reason;
}

[[noreturn]] void fail(const std::string& what, const fs::path& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + opensslReason());
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + opensslReason());
}

std::string keyTypeName(KeyType type) {
    return type == KeyType::Rsa2048 ? "rsa-2048" : "ecdsa-p256";
}

bool isThumbprint(std::string_view t) {
    return t.size() == 40 &&
           std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// DNS names compare without regard to case (RFC 4343).
std::set<std::string> nameSet(const std::vector<std::string>& names) {
    std::set<std::string> set;
    for (const auto& n : names) set.insert(asciiLower(n));
    return set;
}

void createDirectories(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
}

// Leaves a file untouched (mtime, inode) when it already holds this content,
// so a re-run does not disturb processes watching the store.
void writeIfChanged(const fs::path& file, const std::string& content, fs::perms mode) {
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) {
        bool same = false;
        try {
            same = readFile(file) == content;
        } catch (const std::runtime_error&) {
        }
        if (same) {
            if ((fs::status(file).permissions() & fs::perms::all) != mode) {
                fs::permissions(file, mode, ec);
                if (ec)
                    throw std::runtime_error("cannot set the mode of " + file.string() + ": " +
                                             ec.message());
            }
            return;
        }
    }
    writeFileAtomic(file, content, mode);
}

// ---- PEM in and out ----------------------------------------------------------

BioPtr memoryBio(const std::string& text) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) fail("cannot allocate a memory BIO");
    return bio;
}

// Every certificate in a PEM file, in order. Throws naming the file when it
// holds none, or when a certificate in it is torn or not a certificate.
std::vector<X509Ptr> readCertificates(const fs::path& file) {
    const std::string text = readFile(file);
    ERR_clear_error();
    auto bio = memoryBio(text);
    std::vector<X509Ptr> certs;
    for (;;) {
        X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (x == nullptr) {
            const unsigned long err = ERR_peek_last_error();
            const bool endOfFile =
                ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
            if (!certs.empty() && endOfFile) {
                ERR_clear_error();
                break;
            }
            fail("cannot read a certificate from", file);
        }
        certs.emplace_back(x);
    }
    return certs;
}

// Never prompts: an encrypted key is an error, not a question on the terminal.
int noPassphrase(char*, int, int, void*) { return -1; }

PKeyPtr readPrivateKey(const fs::path& file) {
    const std::string text = readFile(file);
    ERR_clear_error();
    auto bio = memoryBio(text);
    PKeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
    if (!key) fail("cannot read a private key from", file);
    return key;
}

std::string memoryBioText(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string pemOf(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("cannot encode a certificate");
    return memoryBioText(bio.get());
}

std::string pemOf(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("cannot encode a private key");
    return memoryBioText(bio.get());
}

// ---- reading certificates -----------------------------------------------------

std::string thumbprintOf(const X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha1(), md, &n) != 1) fail("cannot hash a certificate");
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string hex;
    for (unsigned int i = 0; i < n; ++i) {
        hex += kHex[md[i] >> 4];
        hex += kHex[md[i] & 0xf];
    }
    return hex;
}

std::string commonNameOf(const X509* cert) {
    const X509_NAME* name = X509_get_subject_name(cert);
    const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) return {};
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0) return {};
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return cn;
}

std::vector<std::string> dnsNamesOf(const X509* cert) {
    std::vector<std::string> names;
    GeneralNamesPtr san(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!san) return names;
    for (int i = 0; i < sk_GENERAL_NAME_num(san.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(san.get(), i);
        if (gn->type != GEN_DNS) continue;
        const ASN1_IA5STRING* s = gn->d.dNSName;
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    return names;
}

std::chrono::system_clock::time_point notAfterOf(const X509* cert) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool expiresSoon(const X509* cert) {
    std::time_t limit = std::time(nullptr) + kRenewWithinSeconds;
    return X509_cmp_time(X509_get0_notAfter(cert), &limit) <= 0;
}

std::optional<KeyType> keyTypeOf(const X509* cert) {
    const EVP_PKEY* key = X509_get0_pubkey(cert);
    if (key == nullptr) return std::nullopt;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) == 2048)
        return KeyType::Rsa2048;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_bits(key) == 256)
        return KeyType::EcdsaP256;
    return std::nullopt;
}

// Whether `issuer` signed `cert`: names and key identifiers line up and the
// signature verifies with the issuer's key.
bool issuedBy(X509* cert, X509* issuer) {
    const bool ok = X509_check_issued(issuer, cert) == X509_V_OK &&
                    X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    return ok;
}

bool keyMatches(X509* cert, EVP_PKEY* key) {
    const bool ok = X509_check_private_key(cert, key) == 1;
    ERR_clear_error();
    return ok;
}

StoredCertificate entryFor(const fs::path& storeDir, X509* leaf) {
    StoredCertificate entry;
    entry.thumbprint = thumbprintOf(leaf);
    entry.certFile = storeDir / (entry.thumbprint + ".pem");
    entry.keyFile = storeDir / (entry.thumbprint + ".key");
    entry.dnsNames = dnsNamesOf(leaf);
    entry.notAfter = notAfterOf(leaf);
    return entry;
}

// ---- issuing ----------------------------------------------------------------

PKeyPtr generateKey(KeyType type) {
    ERR_clear_error();
    PKeyPtr key(type == KeyType::Rsa2048 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("cannot generate a " + keyTypeName(type) + " key");
    return key;
}

struct Authority {
    X509Ptr cert;
    PKeyPtr key;
    // A run's CA signs for labs in several threads: one signature at a time.
    std::mutex* signLock = nullptr;
};

struct Profile {
    std::string basicConstraints;
    std::string keyUsage;
    std::string extendedKeyUsage;  // empty: none
};

// The profile's extensions, the key identifiers among them.
void addExtensions(X509* cert, const Authority* issuer, const Profile& profile,
                   const std::string& cn) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : cert, cert, nullptr, nullptr, 0);
    // The subject key identifier goes first: the authority key identifier of a
    // self-signed root is computed from it.
    std::vector<std::pair<int, std::string>> extensions = {
        {NID_basic_constraints, profile.basicConstraints},
        {NID_key_usage, profile.keyUsage},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };
    if (!profile.extendedKeyUsage.empty())
        extensions.emplace_back(NID_ext_key_usage, profile.extendedKeyUsage);
    for (const auto& [nid, value] : extensions) {
        ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
        if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
            fail("cannot add " + std::string(OBJ_nid2sn(nid)) + " to " + cn);
    }
}

void addSubjectAltNames(X509* cert, const std::vector<std::string>& dnsNames,
                        const std::string& cn) {
    // Built as GENERAL_NAMES rather than a "DNS:a,DNS:b" string, so no name
    // is ever parsed as configuration syntax.
    GeneralNamesPtr san(sk_GENERAL_NAME_new_null());
    if (!san) fail("cannot allocate subjectAltName for " + cn);
    for (const auto& name : dnsNames) {
        ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
        GENERAL_NAME* gn = GENERAL_NAME_new();
        if (!ia5 || !gn || ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size())) != 1) {
            ASN1_IA5STRING_free(ia5);
            GENERAL_NAME_free(gn);
            fail("cannot encode the DNS name " + name);
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
        if (sk_GENERAL_NAME_push(san.get(), gn) == 0) {
            GENERAL_NAME_free(gn);
            fail("cannot encode the DNS name " + name);
        }
    }
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, san.get(), 0, X509V3_ADD_DEFAULT) != 1)
        fail("cannot add subjectAltName to " + cn);
}

// A v3 certificate for `subjectKey`, signed by `issuer` (itself when null).
X509Ptr signCertificate(const std::string& cn, EVP_PKEY* subjectKey, const Authority* issuer,
                        int validityDays, const Profile& profile,
                        const std::vector<std::string>& dnsNames) {
    ERR_clear_error();
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
        fail("cannot create a certificate for " + cn);

    // RFC 5280 4.1.2.2: positive, at most 20 octets; CA/B Forum asks for 64+ random bits.
    unsigned char serialBytes[16];
    if (RAND_bytes(serialBytes, sizeof serialBytes) != 1) fail("cannot draw a serial number");
    BnPtr serialBn(BN_bin2bn(serialBytes, sizeof serialBytes, nullptr));
    if (serialBn && BN_is_zero(serialBn.get())) BN_one(serialBn.get());
    AsnIntPtr serial(serialBn ? BN_to_ASN1_INTEGER(serialBn.get(), nullptr) : nullptr);
    if (!serial || X509_set_serialNumber(cert.get(), serial.get()) != 1)
        fail("cannot set the serial number of " + cn);

    NamePtr subject(X509_NAME_new());
    if (!subject ||
        X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(cert.get(), subject.get()) != 1 ||
        X509_set_issuer_name(
            cert.get(), issuer ? X509_get_subject_name(issuer->cert.get()) : subject.get()) != 1)
        fail("cannot set the names of " + cn);

    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), validityDays, 0, nullptr))
        fail("cannot set the validity of " + cn);
    // A certificate outliving its issuer would stop verifying before it expires.
    if (issuer && ASN1_TIME_compare(X509_get0_notAfter(cert.get()),
                                    X509_get0_notAfter(issuer->cert.get())) > 0) {
        if (X509_set1_notAfter(cert.get(), X509_get0_notAfter(issuer->cert.get())) != 1)
            fail("cannot set the validity of " + cn);
    }
    if (X509_set_pubkey(cert.get(), subjectKey) != 1) fail("cannot set the key of " + cn);

    addExtensions(cert.get(), issuer, profile, cn);
    if (!dnsNames.empty()) addSubjectAltNames(cert.get(), dnsNames, cn);

    std::unique_lock<std::mutex> signing;
    if (issuer && issuer->signLock) signing = std::unique_lock(*issuer->signLock);
    if (X509_sign(cert.get(), issuer ? issuer->key.get() : subjectKey, EVP_sha256()) <= 0)
        fail("cannot sign the certificate of " + cn);
    return cert;
}

Authority createAuthority(const std::string& cn, const Authority* parent, int validityDays,
                          const fs::path& certFile, const fs::path& keyFile) {
    Authority ca;
    ca.key = generateKey(KeyType::EcdsaP256);
    const Profile profile{
        parent ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE",
        parent ? "critical,digitalSignature,keyCertSign,cRLSign" : "critical,keyCertSign,cRLSign",
        ""};
    ca.cert = signCertificate(cn, ca.key.get(), parent, validityDays, profile, {});
    // Key first: a certificate on disk always has its key beside it.
    writeFileAtomic(keyFile, pemOf(ca.key.get()), kPrivateMode);
    writeFileAtomic(certFile, pemOf(ca.cert.get()), kPublicMode);
    return ca;
}

// The authority on disk, if it can still serve: the expected name, its own
// key, not expiring, and signed by `parent` (or by itself for a root).
std::optional<Authority> loadAuthority(const std::string& cn, const Authority* parent,
                                       const fs::path& certFile, const fs::path& keyFile) {
    std::error_code ec;
    if (!fs::exists(certFile, ec) || !fs::exists(keyFile, ec)) return std::nullopt;
    auto certs = readCertificates(certFile);
    Authority ca{std::move(certs.front()), readPrivateKey(keyFile)};
    if (!keyMatches(ca.cert.get(), ca.key.get()) || commonNameOf(ca.cert.get()) != cn ||
        expiresSoon(ca.cert.get()))
        return std::nullopt;
    if (!issuedBy(ca.cert.get(), parent ? parent->cert.get() : ca.cert.get())) return std::nullopt;
    if ((fs::status(keyFile).permissions() & fs::perms::all) != kPrivateMode)
        fs::permissions(keyFile, kPrivateMode, ec);
    return ca;
}

StoredCertificate issueLeaf(const fs::path& storeDir, const Authority& issuing,
                            const CertificateRequest& request) {
    auto key = generateKey(request.keyType);
    const Profile profile{
        "critical,CA:FALSE",
        // RSA key exchange (TLS 1.2 without ECDHE) encrypts with the server's key.
        request.keyType == KeyType::Rsa2048 ? "critical,digitalSignature,keyEncipherment"
                                            : "critical,digitalSignature",
        "serverAuth"};
    auto cert = signCertificate(request.subjectCn, key.get(), &issuing, request.validityDays,
                                profile, request.dnsNames);
    auto entry = entryFor(storeDir, cert.get());
    std::string pem = pemOf(cert.get());
    if (request.includeChain) pem += pemOf(issuing.cert.get());
    writeFileAtomic(entry.keyFile, pemOf(key.get()), kPrivateMode);
    writeFileAtomic(entry.certFile, pem, kPublicMode);
    return entry;
}

// The stored certificate `thumbprint`, if it still answers `request`: issued by
// the current issuing CA, not expiring, same subject, names, key type and chain.
std::optional<StoredCertificate> reusableLeaf(const fs::path& storeDir,
                                              const std::string& thumbprint,
                                              const Authority& issuing,
                                              const CertificateRequest& request) {
    if (!isThumbprint(thumbprint)) return std::nullopt;
    const fs::path certFile = storeDir / (thumbprint + ".pem");
    const fs::path keyFile = storeDir / (thumbprint + ".key");
    std::error_code ec;
    if (!fs::exists(certFile, ec) || !fs::exists(keyFile, ec)) return std::nullopt;
    auto certs = readCertificates(certFile);
    X509* leaf = certs.front().get();
    if (thumbprintOf(leaf) != thumbprint) return std::nullopt;
    if (certs.size() != (request.includeChain ? 2u : 1u)) return std::nullopt;
    if (request.includeChain && X509_cmp(certs[1].get(), issuing.cert.get()) != 0)
        return std::nullopt;
    if (!issuedBy(leaf, issuing.cert.get()) || expiresSoon(leaf)) return std::nullopt;
    if (commonNameOf(leaf) != request.subjectCn) return std::nullopt;
    if (nameSet(dnsNamesOf(leaf)) != nameSet(request.dnsNames)) return std::nullopt;
    if (keyTypeOf(leaf) != request.keyType) return std::nullopt;
    auto key = readPrivateKey(keyFile);
    if (!keyMatches(leaf, key.get())) return std::nullopt;
    if ((fs::status(keyFile).permissions() & fs::perms::all) != kPrivateMode)
        fs::permissions(keyFile, kPrivateMode, ec);
    return entryFor(storeDir, leaf);
}

// ---- the manifest -------------------------------------------------------------

// pki/manifest.json remembers which store entry answers which request, so a
// re-run finds its certificates without scanning the store.
nlohmann::json readManifest(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return nlohmann::json::object();
    // Only an index: when unreadable, everything is checked and issued again.
    auto doc = nlohmann::json::parse(readFile(file), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return nlohmann::json::object();
    return doc;
}

std::string manifestThumbprint(const nlohmann::json& manifest, const std::string& id) {
    const auto certs = manifest.find("certificates");
    if (certs == manifest.end() || !certs->is_object()) return {};
    const auto entry = certs->find(id);
    if (entry == certs->end() || !entry->is_object()) return {};
    return entry->value("thumbprint", std::string{});
}

nlohmann::json manifestEntry(const StoredCertificate& cert, const CertificateRequest& request) {
    return {{"thumbprint", cert.thumbprint},
            {"subject", request.subjectCn},
            {"dnsNames", request.dnsNames},
            {"keyType", keyTypeName(request.keyType)},
            {"includeChain", request.includeChain}};
}

std::vector<std::string> withoutDuplicates(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& n : names)
        if (!n.empty() && seen.insert(asciiLower(n)).second) out.push_back(n);
    return out;
}

CertificateRequest proxyRequest(const Lab& lab) {
    const CertificateSpec& spec = lab.certificate;
    CertificateRequest request;
    request.subjectCn = spec.subject.empty() ? lab.names.webServices : spec.subject;
    request.dnsNames = withoutDuplicates(
        spec.san.empty()
            ? std::vector<std::string>{lab.names.webServices, lab.names.meet, lab.names.dialin,
                                       lab.names.lyncdiscover, lab.names.owas}
            : spec.san);
    request.keyType = spec.keyType;
    request.validityDays = spec.validityDays;
    request.includeChain = spec.sendChain;
    return request;
}

CertificateRequest backendRequest(const Lab& lab, const Backend& backend) {
    CertificateRequest request;
    request.subjectCn = backend.host;
    std::vector<std::string> names{backend.host};
    // S4: a backend published under its public names must present them itself.
    if (backend.publicNamesInCertificate)
        names.insert(names.end(), backend.serves.begin(), backend.serves.end());
    request.dnsNames = withoutDuplicates(names);
    // Backends are the lab's own servers: ECDSA keeps provisioning fast.
    request.keyType = KeyType::EcdsaP256;
    request.validityDays = lab.certificate.validityDays;
    request.includeChain = true;
    return request;
}

// The authority on disk when it can still serve, else a new one written there.
Authority labAuthority(const std::string& cn, const Authority* parent, const fs::path& certFile,
                       const fs::path& keyFile) {
    if (auto ca = loadAuthority(cn, parent, certFile, keyFile)) return std::move(*ca);
    return createAuthority(cn, parent, parent ? kIssuingValidityDays : kRootValidityDays, certFile,
                           keyFile);
}

// One file of the run's CA, as it is on disk, for the labs' own pki folders.
struct SharedFile {
    fs::path path;
    std::string content;
    fs::perms mode;
};

// The root and issuing CA that every lab of one `edgelab run` of several labs
// is issued from: made (or loaded, while valid) once per run and folder.
// And the leaves issued from it in this process, by request: a lab that asks
// for a certificate another lab of the run already got (the same subject,
// names, key type, chain and validity) gets that one, as an enterprise CA's
// certificate is issued once and installed on every server that needs it.
struct RunAuthorities {
    fs::path dir;
    std::mutex signLock;
    Authority root;
    Authority issuing;
    std::vector<std::pair<std::string, SharedFile>> files;  // name in WORK/pki -> the run's file
    std::mutex leavesLock;
    std::map<std::string, StoredCertificate> leaves;  // request -> entry in DIR/store
};

RunAuthorities& runAuthorities(const fs::path& dir) {
    static std::mutex m;
    static std::map<fs::path, std::unique_ptr<RunAuthorities>> made;
    std::lock_guard lock(m);
    auto& run = made[fs::absolute(dir).lexically_normal()];
    if (run) return *run;
    createDirectories(dir);
    // Two runs side by side over one work folder: one makes the CA, the
    // other waits and loads it, so neither links the other's files to
    // leaves of its own CA.
    const ExclusiveFileLock folderLock(dir / ".lock");
    auto fresh = std::make_unique<RunAuthorities>();
    fresh->dir = dir;
    fresh->root = labAuthority(kRunRootCn, nullptr, dir / "root.pem", dir / "root.key");
    fresh->issuing =
        labAuthority(kRunIssuingCn, &fresh->root, dir / "issuing.pem", dir / "issuing.key");
    fresh->issuing.signLock = &fresh->signLock;
    // The extensions OpenSSL caches on first use, cached now, before the
    // labs' threads read these certificates side by side.
    X509_check_purpose(fresh->root.cert.get(), -1, 0);
    X509_check_purpose(fresh->issuing.cert.get(), -1, 0);
    for (const char* name : {"root.key", "root.pem", "issuing.key", "issuing.pem"}) {
        const bool key = std::string_view(name).ends_with(".key");
        fresh->files.emplace_back(
            name, SharedFile{dir / name, readFile(dir / name), key ? kPrivateMode : kPublicMode});
    }
    run = std::move(fresh);
    return *run;
}

// `target` becomes the run's file: a hard link to it (no data written, no
// sync: the run's file is), unless it already is that file or holds the
// same bytes; a copy, written atomically, where a link cannot be made
// (another file system).
void shareFile(const SharedFile& shared, const fs::path& target);

std::string requestKey(const CertificateRequest& r) {
    nlohmann::json key = {{"subject", r.subjectCn},
                          {"dnsNames", nameSet(r.dnsNames)},
                          {"keyType", keyTypeName(r.keyType)},
                          {"validityDays", r.validityDays},
                          {"includeChain", r.includeChain}};
    return key.dump();
}

// The run's certificate for `request` in the lab's store: issued into the
// run's store by the first lab that asks, then shared (linked) into each
// lab's store under the same thumbprint.
StoredCertificate sharedLeaf(RunAuthorities& run, const fs::path& storeDir,
                             const CertificateRequest& request) {
    StoredCertificate issued;
    {
        std::lock_guard lock(run.leavesLock);
        auto it = run.leaves.find(requestKey(request));
        if (it == run.leaves.end()) {
            createDirectories(run.dir / "store");
            it = run.leaves
                     .emplace(requestKey(request),
                              issueLeaf(run.dir / "store", run.issuing, request))
                     .first;
        }
        issued = it->second;
    }
    StoredCertificate entry = issued;
    entry.certFile = storeDir / issued.certFile.filename();
    entry.keyFile = storeDir / issued.keyFile.filename();
    shareFile({issued.keyFile, readFile(issued.keyFile), kPrivateMode}, entry.keyFile);
    shareFile({issued.certFile, readFile(issued.certFile), kPublicMode}, entry.certFile);
    return entry;
}

void shareFile(const SharedFile& shared, const fs::path& target) {
    struct stat from {
    }, to{};
    if (::stat(shared.path.c_str(), &from) == 0 && ::stat(target.c_str(), &to) == 0 &&
        from.st_dev == to.st_dev && from.st_ino == to.st_ino)
        return;
    std::error_code ec;
    if (fs::is_regular_file(target, ec)) {
        try {
            if (readFile(target) == shared.content) return;
        } catch (const std::runtime_error&) {
        }
    }
    std::random_device rd;
    // Named as writeFileAtomic names its temporaries, so a writer killed
    // before the rename leaves nothing the next write does not remove.
    const fs::path tmp =
        target.parent_path() / ("." + target.filename().string() + ".tmp-" +
                                std::to_string(::getpid()) + "-link" + std::to_string(rd()));
    if (::link(shared.path.c_str(), tmp.c_str()) == 0) {
        if (::rename(tmp.c_str(), target.c_str()) == 0) return;
        ::unlink(tmp.c_str());
    }
    writeIfChanged(target, shared.content, shared.mode);
}

}  // namespace

LabPki provisionPki(const Lab& lab, const fs::path& workDir, const fs::path& runCaDir) {
    LabPki pki;
    pki.dir = workDir / "pki";
    pki.storeDir = pki.dir / "store";
    pki.rootCert = pki.dir / "root.pem";
    pki.rootKey = pki.dir / "root.key";
    pki.issuingCert = pki.dir / "issuing.pem";
    pki.issuingKey = pki.dir / "issuing.key";
    pki.manifest = pki.dir / "manifest.json";
    createDirectories(pki.storeDir);

    std::optional<Authority> ownRoot, ownIssuing;
    const Authority* root = nullptr;
    const Authority* issuing = nullptr;
    RunAuthorities* shared = nullptr;
    if (runCaDir.empty()) {
        ownRoot =
            labAuthority("edgelab " + lab.name + " Root CA", nullptr, pki.rootCert, pki.rootKey);
        ownIssuing = labAuthority("edgelab " + lab.name + " Issuing CA", &*ownRoot, pki.issuingCert,
                                  pki.issuingKey);
        root = &*ownRoot;
        issuing = &*ownIssuing;
    } else {
        shared = &runAuthorities(runCaDir);
        for (const auto& [file, runFile] : shared->files) shareFile(runFile, pki.dir / file);
        root = &shared->root;
        issuing = &shared->issuing;
    }

    const nlohmann::json previous = readManifest(pki.manifest);
    nlohmann::json manifest = {{"root", thumbprintOf(root->cert.get())},
                               {"issuing", thumbprintOf(issuing->cert.get())},
                               {"certificates", nlohmann::json::object()}};
    auto obtain = [&](const std::string& id, const CertificateRequest& request) {
        auto cert = reusableLeaf(pki.storeDir, manifestThumbprint(previous, id), *issuing, request);
        if (!cert)
            cert = shared ? sharedLeaf(*shared, pki.storeDir, request)
                          : issueLeaf(pki.storeDir, *issuing, request);
        manifest["certificates"][id] = manifestEntry(*cert, request);
        return *cert;
    };

    const CertificateSpec& spec = lab.certificate;
    if (spec.pemCert) {
        if (!spec.pemKey)
            throw std::runtime_error("the lab's certificate " + spec.pemCert->string() +
                                     " comes without its key (certificate.pemKey)");
        pki.proxy = importToStore(pki.storeDir, *spec.pemCert, *spec.pemKey);
        manifest["certificates"]["proxy"] = {{"thumbprint", pki.proxy.thumbprint},
                                             {"importedFrom", spec.pemCert->string()}};
    } else {
        pki.proxy = obtain("proxy", proxyRequest(lab));
    }
    for (const Backend& backend : lab.backends)
        pki.backends[backend.name] =
            obtain("backend/" + backend.name, backendRequest(lab, backend));

    writeIfChanged(pki.manifest, manifest.dump(2) + "\n", kPublicMode);
    return pki;
}

StoredCertificate issueToStore(const LabPki& pki, const CertificateRequest& request) {
    const fs::path certFile = pki.issuingCert.empty() ? pki.dir / "issuing.pem" : pki.issuingCert;
    const fs::path keyFile = pki.issuingKey.empty() ? pki.dir / "issuing.key" : pki.issuingKey;
    Authority issuing{std::move(readCertificates(certFile).front()), readPrivateKey(keyFile)};
    if (!keyMatches(issuing.cert.get(), issuing.key.get()))
        throw std::runtime_error("the key in " + keyFile.string() +
                                 " does not belong to the certificate in " + certFile.string());
    createDirectories(pki.storeDir);
    return issueLeaf(pki.storeDir, issuing, request);
}

std::string thumbprintOfPemFile(const fs::path& pem) {
    return thumbprintOf(readCertificates(pem).front().get());
}

StoredCertificate importToStore(const fs::path& storeDir, const fs::path& certPem,
                                const fs::path& keyPem) {
    auto certs = readCertificates(certPem);
    auto key = readPrivateKey(keyPem);
    if (X509_check_private_key(certs.front().get(), key.get()) != 1)
        fail("the key in " + keyPem.string() + " does not belong to the certificate in", certPem);
    createDirectories(storeDir);
    auto entry = entryFor(storeDir, certs.front().get());
    std::string pem;
    for (const auto& cert : certs) pem += pemOf(cert.get());
    writeIfChanged(entry.keyFile, pemOf(key.get()), kPrivateMode);
    writeIfChanged(entry.certFile, pem, kPublicMode);
    return entry;
}

std::optional<StoredCertificate> findInStore(const fs::path& storeDir,
                                             std::string_view thumbprint) {
    if (!isThumbprint(thumbprint)) return std::nullopt;
    const std::string name = asciiUpper(std::string(thumbprint));
    const fs::path certFile = storeDir / (name + ".pem");
    std::error_code ec;
    if (!fs::exists(certFile, ec)) return std::nullopt;
    auto certs = readCertificates(certFile);
    const std::string actual = thumbprintOf(certs.front().get());
    if (actual != name)
        throw std::runtime_error("the store entry " + certFile.string() + " holds certificate " +
                                 actual + ", not " + name);
    return entryFor(storeDir, certs.front().get());
}

}  // namespace edgelab::provision
