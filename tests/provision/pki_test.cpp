#include "provision/pki.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace edgelab::provision {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// Every certificate in a PEM file, read with OpenSSL directly so the test does
// not trust the code under test to read what it wrote.
std::vector<X509Ptr> certificatesIn(const fs::path& file) {
    std::vector<X509Ptr> certs;
    FILE* f = std::fopen(file.c_str(), "r");
    if (f == nullptr) return certs;
    while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) certs.emplace_back(x, X509_free);
    std::fclose(f);
    ERR_clear_error();
    return certs;
}

X509Ptr firstCertificate(const fs::path& file) {
    auto certs = certificatesIn(file);
    if (certs.empty()) return X509Ptr(nullptr, X509_free);
    return std::move(certs.front());
}

std::string commonName(X509* cert) {
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    return buf;
}

bool coversHost(X509* cert, const std::string& host) {
    return X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
}

// Verifies the leaf of `storeFile` against `rootFile` as a TLS client would:
// the root is the only trust anchor, intermediates come from what the server
// sends (the rest of the store file), purpose serverAuth.
bool verifiesAgainstRoot(const fs::path& storeFile, const fs::path& rootFile,
                         std::string* error = nullptr) {
    auto chain = certificatesIn(storeFile);
    auto root = firstCertificate(rootFile);
    if (chain.empty() || !root) return false;
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  X509_STORE_free);
    X509_STORE_add_cert(store.get(), root.get());
    std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
        sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
    for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
    X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get());
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    if (!ok && error) *error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return ok;
}

unsigned modeOf(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return 0;
    return st.st_mode & 0777;
}

// What identifies a file's version on disk: a rewrite (rename over) changes both.
struct FileStamp {
    ino_t inode;
    long long mtimeNs;
    bool operator==(const FileStamp&) const = default;
};

std::map<std::string, FileStamp> stampsUnder(const fs::path& dir) {
    std::map<std::string, FileStamp> stamps;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        struct stat st {};
        ::stat(e.path().c_str(), &st);
        stamps[e.path().string()] = {st.st_ino,
                                     st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
    }
    return stamps;
}

std::string run(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    return out;
}

// The seed's lab: five public names on one domain, a Lync front end that
// serves four of them and an OWAS server that serves its own public name.
Lab seedLab() {
    Lab lab;
    lab.name = "seed";
    lab.domain = "marc.kloud.com.au";
    lab.names = {"lyncws.marc.kloud.com.au", "meet.marc.kloud.com.au", "dialin.marc.kloud.com.au",
                 "lyncdiscover.marc.kloud.com.au", "owas.marc.kloud.com.au"};
    lab.certificate.subject = lab.names.webServices;
    lab.certificate.san = {lab.names.webServices, lab.names.meet, lab.names.dialin,
                           lab.names.lyncdiscover, lab.names.owas};
    Backend fe;
    fe.name = "fe1";
    fe.role = BackendRole::LyncFrontEnd;
    fe.host = "marc-lync1.marc.kloud.com.au";
    fe.port = 4443;
    fe.serves = {lab.names.webServices, lab.names.meet, lab.names.dialin, lab.names.lyncdiscover};
    Backend owas;
    owas.name = "owas1";
    owas.role = BackendRole::Owas;
    owas.host = "marc-owas1.marc.kloud.com.au";
    owas.port = 443;
    owas.serves = {lab.names.owas};
    lab.backends = {fe, owas};
    return lab;
}

class PkiTest : public ::testing::Test {
  protected:
    test::TempDir work_{"pki-test"};
};

TEST_F(PkiTest, ProxyCertificateVerifiesThroughTheIssuingCa) {
    const Lab lab = seedLab();
    const LabPki pki = provisionPki(lab, work_);

    std::string error;
    EXPECT_TRUE(verifiesAgainstRoot(pki.proxy.certFile, pki.rootCert, &error)) << error;
    // The store file carries the issuing CA; without it the leaf does not verify,
    // which is what a client sees from a server that sends its leaf alone.
    auto chain = certificatesIn(pki.proxy.certFile);
    ASSERT_EQ(chain.size(), 2u);
    auto issuing = firstCertificate(pki.issuingCert);
    ASSERT_TRUE(issuing);
    EXPECT_EQ(X509_cmp(chain[1].get(), issuing.get()), 0);
    const fs::path leafOnly = work_ / "leaf-only.pem";
    {
        FILE* f = std::fopen(leafOnly.c_str(), "w");
        PEM_write_X509(f, chain[0].get());
        std::fclose(f);
    }
    EXPECT_FALSE(verifiesAgainstRoot(leafOnly, pki.rootCert));

    auto root = firstCertificate(pki.rootCert);
    ASSERT_TRUE(root);
    EXPECT_EQ(commonName(root.get()), "edgelab seed Root CA");
    EXPECT_EQ(commonName(issuing.get()), "edgelab seed Issuing CA");
    // pathlen:0 on the issuing CA, CA:FALSE on the leaf.
    EXPECT_EQ(X509_get_pathlen(issuing.get()), 0);
    EXPECT_EQ(X509_check_ca(chain[0].get()), 0);
    EXPECT_EQ(X509_get_signature_nid(chain[0].get()), NID_ecdsa_with_SHA256);
    EXPECT_NE(X509_get0_subject_key_id(chain[0].get()), nullptr);
    EXPECT_NE(X509_get0_authority_key_id(chain[0].get()), nullptr);

    for (const auto& [name, backend] : pki.backends) {
        EXPECT_TRUE(verifiesAgainstRoot(backend.certFile, pki.rootCert, &error))
            << name << ": " << error;
    }
}

TEST_F(PkiTest, ProxyCertificateCoversEveryPublicNameAndNothingElse) {
    const Lab lab = seedLab();
    const LabPki pki = provisionPki(lab, work_);
    auto leaf = firstCertificate(pki.proxy.certFile);
    ASSERT_TRUE(leaf);
    for (const auto& name : {lab.names.webServices, lab.names.meet, lab.names.dialin,
                             lab.names.lyncdiscover, lab.names.owas}) {
        EXPECT_TRUE(coversHost(leaf.get(), name)) << name;
    }
    EXPECT_FALSE(coversHost(leaf.get(), "marc-owas1.marc.kloud.com.au"));
    EXPECT_FALSE(coversHost(leaf.get(), "mail.marc.kloud.com.au"));
    EXPECT_EQ(commonName(leaf.get()), lab.names.webServices);
    EXPECT_EQ(pki.proxy.dnsNames.size(), 5u);
}

TEST_F(PkiTest, LayoutNamesAndModes) {
    const LabPki pki = provisionPki(seedLab(), work_);
    EXPECT_EQ(pki.dir, work_ / "pki");
    EXPECT_EQ(pki.storeDir, work_ / "pki" / "store");
    EXPECT_EQ(modeOf(pki.dir / "root.key"), 0600u);
    EXPECT_EQ(modeOf(pki.dir / "issuing.key"), 0600u);
    EXPECT_EQ(modeOf(pki.proxy.keyFile), 0600u);
    for (const auto& [name, backend] : pki.backends) EXPECT_EQ(modeOf(backend.keyFile), 0600u);
    EXPECT_EQ(modeOf(pki.rootCert), 0644u);

    // Thumbprint: 40 upper-case hex digits naming both store files.
    ASSERT_EQ(pki.proxy.thumbprint.size(), 40u);
    EXPECT_TRUE(std::all_of(pki.proxy.thumbprint.begin(), pki.proxy.thumbprint.end(),
                            [](char c) { return std::isdigit(c) || (c >= 'A' && c <= 'F'); }));
    EXPECT_EQ(pki.proxy.certFile, pki.storeDir / (pki.proxy.thumbprint + ".pem"));
    EXPECT_EQ(pki.proxy.keyFile, pki.storeDir / (pki.proxy.thumbprint + ".key"));
    EXPECT_TRUE(fs::exists(pki.proxy.certFile));
    EXPECT_TRUE(fs::exists(pki.manifest));

    ASSERT_EQ(pki.backends.size(), 2u);
    EXPECT_TRUE(pki.backends.count("fe1"));
    EXPECT_TRUE(pki.backends.count("owas1"));
    EXPECT_GT(pki.proxy.notAfter, std::chrono::system_clock::now() + std::chrono::hours(24 * 364));
}

TEST_F(PkiTest, SecondRunReusesEverythingWithoutRewriting) {
    const Lab lab = seedLab();
    const LabPki first = provisionPki(lab, work_);
    const auto before = stampsUnder(work_ / "pki");
    const LabPki second = provisionPki(lab, work_);
    const auto after = stampsUnder(work_ / "pki");

    EXPECT_EQ(second.proxy.thumbprint, first.proxy.thumbprint);
    ASSERT_EQ(second.backends.size(), first.backends.size());
    for (const auto& [name, backend] : first.backends)
        EXPECT_EQ(second.backends.at(name).thumbprint, backend.thumbprint) << name;
    EXPECT_EQ(thumbprintOfPemFile(second.rootCert), thumbprintOfPemFile(first.rootCert));
    EXPECT_EQ(thumbprintOfPemFile(second.issuingCert), thumbprintOfPemFile(first.issuingCert));
    EXPECT_EQ(before.size(), after.size());
    for (const auto& [file, stamp] : before) {
        ASSERT_TRUE(after.count(file)) << file;
        EXPECT_EQ(after.at(file), stamp) << file << " was rewritten";
    }
}

TEST_F(PkiTest, ChangedSanIssuesANewProxyCertificateOnly) {
    Lab lab = seedLab();
    const LabPki first = provisionPki(lab, work_);
    lab.certificate.san.push_back("sip.marc.kloud.com.au");
    const LabPki second = provisionPki(lab, work_);

    EXPECT_NE(second.proxy.thumbprint, first.proxy.thumbprint);
    auto leaf = firstCertificate(second.proxy.certFile);
    ASSERT_TRUE(leaf);
    EXPECT_TRUE(coversHost(leaf.get(), "sip.marc.kloud.com.au"));
    for (const auto& [name, backend] : first.backends)
        EXPECT_EQ(second.backends.at(name).thumbprint, backend.thumbprint) << name;
    EXPECT_EQ(thumbprintOfPemFile(second.issuingCert), thumbprintOfPemFile(first.issuingCert));

    // Back to the first SAN set: the manifest now points at the new one, so the
    // request is answered by a certificate that matches it, not a stale one.
    lab.certificate.san.pop_back();
    const LabPki third = provisionPki(lab, work_);
    auto again = firstCertificate(third.proxy.certFile);
    ASSERT_TRUE(again);
    EXPECT_FALSE(coversHost(again.get(), "sip.marc.kloud.com.au"));
}

TEST_F(PkiTest, ChangedKeyTypeOrChainChoiceIssuesANewCertificate) {
    Lab lab = seedLab();
    const LabPki first = provisionPki(lab, work_);
    lab.certificate.sendChain = false;
    const LabPki leafAlone = provisionPki(lab, work_);
    EXPECT_NE(leafAlone.proxy.thumbprint, first.proxy.thumbprint);
    lab.certificate.keyType = KeyType::Rsa2048;
    const LabPki rsa = provisionPki(lab, work_);
    EXPECT_NE(rsa.proxy.thumbprint, leafAlone.proxy.thumbprint);
}

TEST_F(PkiTest, SendChainFalseStoresTheLeafAlone) {
    Lab lab = seedLab();
    lab.certificate.sendChain = false;
    const LabPki pki = provisionPki(lab, work_);
    EXPECT_EQ(certificatesIn(pki.proxy.certFile).size(), 1u);
    EXPECT_FALSE(verifiesAgainstRoot(pki.proxy.certFile, pki.rootCert));
    // Backends always send their chain.
    for (const auto& [name, backend] : pki.backends)
        EXPECT_EQ(certificatesIn(backend.certFile).size(), 2u) << name;
}

TEST_F(PkiTest, BackendWithoutPublicNamesDoesNotCoverThem) {
    Lab lab = seedLab();
    lab.backends[0].publicNamesInCertificate = false;
    const LabPki pki = provisionPki(lab, work_);

    auto fe = firstCertificate(pki.backends.at("fe1").certFile);
    ASSERT_TRUE(fe);
    EXPECT_EQ(commonName(fe.get()), "marc-lync1.marc.kloud.com.au");
    EXPECT_TRUE(coversHost(fe.get(), "marc-lync1.marc.kloud.com.au"));
    EXPECT_FALSE(coversHost(fe.get(), lab.names.webServices));
    EXPECT_FALSE(coversHost(fe.get(), lab.names.meet));

    // S4: the OWAS backend keeps the public name, as full-domain publishing needs.
    auto owas = firstCertificate(pki.backends.at("owas1").certFile);
    ASSERT_TRUE(owas);
    EXPECT_TRUE(coversHost(owas.get(), lab.names.owas));
    EXPECT_TRUE(coversHost(owas.get(), "marc-owas1.marc.kloud.com.au"));
}

TEST_F(PkiTest, Rsa2048ProxyCertificate) {
    Lab lab = seedLab();
    lab.certificate.keyType = KeyType::Rsa2048;
    const LabPki pki = provisionPki(lab, work_);
    auto leaf = firstCertificate(pki.proxy.certFile);
    ASSERT_TRUE(leaf);
    const EVP_PKEY* key = X509_get0_pubkey(leaf.get());
    EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
    EXPECT_EQ(EVP_PKEY_get_bits(key), 2048);
    std::string error;
    EXPECT_TRUE(verifiesAgainstRoot(pki.proxy.certFile, pki.rootCert, &error)) << error;
    EXPECT_EQ(modeOf(pki.proxy.keyFile), 0600u);
    // Re-use applies to RSA as well.
    EXPECT_EQ(provisionPki(lab, work_).proxy.thumbprint, pki.proxy.thumbprint);
}

TEST_F(PkiTest, ThumbprintMatchesOpensslFingerprint) {
    const LabPki pki = provisionPki(seedLab(), work_);
    std::string out =
        run("openssl x509 -fingerprint -sha1 -noout -in '" + pki.proxy.certFile.string() + "'");
    // "SHA1 Fingerprint=AB:CD:..."
    const auto eq = out.find('=');
    ASSERT_NE(eq, std::string::npos) << out;
    std::string hex;
    for (char c : out.substr(eq + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += c;
    EXPECT_EQ(hex, pki.proxy.thumbprint);
    EXPECT_EQ(thumbprintOfPemFile(pki.proxy.certFile), pki.proxy.thumbprint);
}

TEST_F(PkiTest, ImportedCertificateIsStoredAndFoundByLowerCaseThumbprint) {
    const fs::path cert = work_ / "existing.pem";
    const fs::path key = work_ / "existing.key";
    const std::string out =
        run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30"
            " -subj /CN=lyncws.marc.kloud.com.au"
            " -addext subjectAltName=DNS:lyncws.marc.kloud.com.au,DNS:meet.marc.kloud.com.au"
            " -keyout '" +
            key.string() + "' -out '" + cert.string() + "' 2>&1");
    ASSERT_TRUE(fs::exists(cert)) << out;

    const fs::path store = work_ / "store";
    const StoredCertificate entry = importToStore(store, cert, key);
    EXPECT_EQ(entry.thumbprint, thumbprintOfPemFile(cert));
    EXPECT_EQ(entry.certFile, store / (entry.thumbprint + ".pem"));
    EXPECT_EQ(modeOf(entry.keyFile), 0600u);
    EXPECT_EQ(entry.dnsNames,
              (std::vector<std::string>{"lyncws.marc.kloud.com.au", "meet.marc.kloud.com.au"}));

    std::string lowerThumb = entry.thumbprint;
    std::transform(lowerThumb.begin(), lowerThumb.end(), lowerThumb.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto found = findInStore(store, lowerThumb);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->thumbprint, entry.thumbprint);
    EXPECT_EQ(found->keyFile, entry.keyFile);
    EXPECT_FALSE(findInStore(store, std::string(40, 'A')).has_value());
    EXPECT_FALSE(findInStore(store, "not-a-thumbprint").has_value());

    // The lab's own certificate: provisionPki imports it instead of issuing.
    Lab lab = seedLab();
    lab.certificate.pemCert = cert;
    lab.certificate.pemKey = key;
    const LabPki pki = provisionPki(lab, work_);
    EXPECT_EQ(pki.proxy.thumbprint, entry.thumbprint);
    EXPECT_TRUE(fs::exists(pki.storeDir / (entry.thumbprint + ".key")));
}

TEST_F(PkiTest, ImportRefusesAKeyOfAnotherCertificate) {
    const LabPki pki = provisionPki(seedLab(), work_);
    const auto& other = pki.backends.at("fe1");
    try {
        importToStore(work_ / "store2", pki.proxy.certFile, other.keyFile);
        FAIL() << "a foreign key was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(other.keyFile.string()), std::string::npos)
            << e.what();
    }
}

TEST_F(PkiTest, GarbageOrTornPemNamesTheFile) {
    const LabPki pki = provisionPki(seedLab(), work_);
    const std::string good = readFile(pki.proxy.certFile);

    const std::string thumb(40, 'B');
    const fs::path garbage = pki.storeDir / (thumb + ".pem");
    writeFileAtomic(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n");
    try {
        findInStore(pki.storeDir, thumb);
        FAIL() << "garbage was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(garbage.string()), std::string::npos) << e.what();
    }

    const fs::path torn = work_ / "torn.pem";
    writeFileAtomic(torn, good.substr(0, good.size() / 3));
    try {
        thumbprintOfPemFile(torn);
        FAIL() << "a torn certificate was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(torn.string()), std::string::npos) << e.what();
    }

    // A store entry torn in its chain (second certificate) is not silently
    // shortened to the leaf when the lab re-uses it.
    writeFileAtomic(pki.proxy.certFile, good.substr(0, good.size() - 100));
    try {
        provisionPki(seedLab(), work_);
        FAIL() << "a torn store entry was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(pki.proxy.certFile.string()), std::string::npos)
            << e.what();
    }
}

// What a lab's manifest asks of each certificate, without the thumbprints:
// the same for a lab provisioned alone and one provisioned in a run.
nlohmann::json requestsOf(const LabPki& pki) {
    auto manifest = nlohmann::json::parse(readFile(pki.manifest));
    auto certs = manifest.at("certificates");
    for (auto& [id, entry] : certs.items()) entry.erase("thumbprint");
    return certs;
}

TEST_F(PkiTest, LabsOfOneRunShareTheRunCaAndEachVerifies) {
    Lab first = seedLab();
    Lab second = seedLab();
    second.name = "seed-2";
    const fs::path runCa = work_ / "@run-ca";
    const LabPki a = provisionPki(first, work_ / "a", runCa);
    const LabPki b = provisionPki(second, work_ / "b", runCa);

    // One root and one issuing CA, named for the run, in the run's folder
    // and in each lab's own pki folder.
    EXPECT_EQ(thumbprintOfPemFile(a.rootCert), thumbprintOfPemFile(runCa / "root.pem"));
    EXPECT_EQ(thumbprintOfPemFile(b.rootCert), thumbprintOfPemFile(runCa / "root.pem"));
    EXPECT_EQ(thumbprintOfPemFile(a.issuingCert), thumbprintOfPemFile(b.issuingCert));
    auto root = firstCertificate(a.rootCert);
    ASSERT_TRUE(root);
    EXPECT_EQ(commonName(root.get()), "edgelab run Root CA");
    // Each verifies against its lab's root.
    for (const LabPki* pki : {&a, &b}) {
        std::string error;
        EXPECT_TRUE(verifiesAgainstRoot(pki->proxy.certFile, pki->rootCert, &error)) << error;
        for (const auto& [name, backend] : pki->backends)
            EXPECT_TRUE(verifiesAgainstRoot(backend.certFile, pki->rootCert, &error))
                << name << ": " << error;
        EXPECT_EQ(modeOf(pki->dir / "root.key"), 0600u);
        EXPECT_EQ(modeOf(pki->dir / "issuing.key"), 0600u);
        EXPECT_EQ(modeOf(pki->rootCert), 0644u);
        EXPECT_EQ(modeOf(pki->proxy.keyFile), 0600u);
    }
    // The lab's folder stands alone: more certificates are issued from it.
    CertificateRequest request;
    request.subjectCn = "mail.marc.kloud.com.au";
    request.dnsNames = {"mail.marc.kloud.com.au"};
    std::string error;
    EXPECT_TRUE(verifiesAgainstRoot(issueToStore(b, request).certFile, b.rootCert, &error))
        << error;
}

TEST_F(PkiTest, LabsOfOneRunAskingTheSameCertificateGetTheSameOne) {
    Lab first = seedLab();
    Lab second = seedLab();
    second.name = "seed-2";
    second.certificate.san.push_back("sip.marc.kloud.com.au");  // the proxy's differs
    const fs::path runCa = work_ / "@run-ca";
    const LabPki a = provisionPki(first, work_ / "a", runCa);
    const LabPki b = provisionPki(second, work_ / "b", runCa);

    // The backends ask the same of both labs: one certificate, issued once,
    // in each lab's store (the same file).
    for (const auto& [name, backend] : a.backends) {
        EXPECT_EQ(b.backends.at(name).thumbprint, backend.thumbprint) << name;
        EXPECT_TRUE(fs::equivalent(b.backends.at(name).certFile, backend.certFile)) << name;
        EXPECT_EQ(b.backends.at(name).certFile.parent_path(), b.storeDir);
        EXPECT_EQ(modeOf(b.backends.at(name).keyFile), 0600u);
    }
    // The proxy's names differ: a certificate of its own, with the name.
    EXPECT_NE(b.proxy.thumbprint, a.proxy.thumbprint);
    auto proxy = firstCertificate(b.proxy.certFile);
    ASSERT_TRUE(proxy);
    EXPECT_TRUE(coversHost(proxy.get(), "sip.marc.kloud.com.au"));
    auto other = firstCertificate(a.proxy.certFile);
    ASSERT_TRUE(other);
    EXPECT_FALSE(coversHost(other.get(), "sip.marc.kloud.com.au"));
    // A lab's store entry is its own file name: found by thumbprint there.
    EXPECT_TRUE(findInStore(b.storeDir, a.backends.at("fe1").thumbprint).has_value());
}

TEST_F(PkiTest, ALabOfARunHasThePkiOfALabAlone) {
    const LabPki alone = provisionPki(seedLab(), work_ / "alone");
    const LabPki inRun = provisionPki(seedLab(), work_ / "run" / "seed", work_ / "run" / "@ca");
    // The same files, the same requests answered (subject, names, key type,
    // chain), only the CA differs.
    auto namesUnder = [](const fs::path& dir) {
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
        return names;
    };
    EXPECT_EQ(namesUnder(inRun.dir), namesUnder(alone.dir));
    EXPECT_EQ(namesUnder(inRun.storeDir).size(), namesUnder(alone.storeDir).size());
    EXPECT_EQ(requestsOf(inRun), requestsOf(alone));
    for (const auto& [name, backend] : alone.backends) {
        EXPECT_EQ(certificatesIn(inRun.backends.at(name).certFile).size(),
                  certificatesIn(backend.certFile).size())
            << name;
        auto a = firstCertificate(backend.certFile);
        auto r = firstCertificate(inRun.backends.at(name).certFile);
        ASSERT_TRUE(a && r);
        EXPECT_EQ(commonName(r.get()), commonName(a.get()));
    }
}

TEST_F(PkiTest, ALabRunAgainWithTheRunCaRewritesNothing) {
    const fs::path runCa = work_ / "@run-ca";
    const LabPki first = provisionPki(seedLab(), work_ / "lab", runCa);
    const auto before = stampsUnder(work_);
    const LabPki second = provisionPki(seedLab(), work_ / "lab", runCa);
    EXPECT_EQ(second.proxy.thumbprint, first.proxy.thumbprint);
    EXPECT_EQ(stampsUnder(work_), before);
    // Alone again, the lab gets a CA of its own, and new leaves from it.
    const LabPki alone = provisionPki(seedLab(), work_ / "lab");
    auto root = firstCertificate(alone.rootCert);
    ASSERT_TRUE(root);
    EXPECT_EQ(commonName(root.get()), "edgelab seed Root CA");
    EXPECT_NE(alone.proxy.thumbprint, first.proxy.thumbprint);
    // The run's own files were not touched by the lab's new CA.
    EXPECT_EQ(commonName(firstCertificate(runCa / "root.pem").get()), "edgelab run Root CA");
}

TEST_F(PkiTest, IssueToStoreAddsACertificateFromTheLabCa) {
    const LabPki pki = provisionPki(seedLab(), work_);
    CertificateRequest request;
    request.subjectCn = "mail.marc.kloud.com.au";
    request.dnsNames = {"mail.marc.kloud.com.au"};
    const StoredCertificate extra = issueToStore(pki, request);
    std::string error;
    EXPECT_TRUE(verifiesAgainstRoot(extra.certFile, pki.rootCert, &error)) << error;
    EXPECT_TRUE(findInStore(pki.storeDir, extra.thumbprint).has_value());
}

}  // namespace
}  // namespace edgelab::provision
