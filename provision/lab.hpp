// The lab description: one JSON file, parsed and validated once into an
// immutable Lab. Every error names the JSON path and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/json_reader.hpp"
#include "common/lync_wap.hpp"
#include "common/url.hpp"

namespace edgelab::provision {

// A URL as WAP takes it: scheme, host, port (explicit or the scheme's), path.

enum class KeyType { EcdsaP256, Rsa2048 };
enum class PreAuthentication { PassThrough, ADFS, ClientCertificate };
enum class BackendRole { LyncFrontEnd, Owas };
enum class HostCache { None, ReadOnly, ReadWrite };

std::string to_string(KeyType);
std::string to_string(PreAuthentication);
std::string to_string(BackendRole);
std::string to_string(HostCache);

// Host name prefixes of the public namespaces (S1); FQDNs are prefix.domain.
struct PublicNames {
    std::string webServices;   // lyncws.DOMAIN
    std::string meet;          // meet.DOMAIN
    std::string dialin;        // dialin.DOMAIN
    std::string lyncdiscover;  // lyncdiscover.DOMAIN
    std::string owas;          // owas.DOMAIN

    // All five, in that order.
    std::vector<std::string> all() const;
};

struct CertificateSpec {
    std::string subject;           // CN; default the web services FQDN
    std::vector<std::string> san;  // default every public name
    KeyType keyType = KeyType::EcdsaP256;
    int validityDays = 365;
    bool sendChain = true;                         // the proxy sends the issuing CA with its leaf
    std::optional<std::filesystem::path> pemCert;  // an existing certificate instead
    std::optional<std::filesystem::path> pemKey;
};

struct Backend {
    std::string name;  // short id, e.g. "fe1"
    BackendRole role;
    std::string host;                        // the server's own FQDN, e.g. lyncfe1.DOMAIN
    std::uint16_t port;                      // lync-frontend default 4443, owas 443
    bool publicNamesInCertificate = true;    // S4
    std::vector<std::string> serves;         // public FQDNs the internal view maps here
    std::optional<std::string> internalUrl;  // OWAS farm InternalURL
    double eventChannelHoldSec = kUcwaEventChannelHold.count();  // lync-frontend
    // lync-frontend: its pool's external web services FQDN, the name it writes
    // into its links and redirects; "" = the lab's names.webServices.
    std::string webServices;
};

struct Application {
    std::string name;  // default: the external URL
    Url externalUrl;
    // Required to build the lab; a lab that describes a real site to check
    // may leave it out (then its host is empty).
    Url backendServerUrl;
    bool hasBackendServerUrl() const { return !backendServerUrl.host.empty(); }
    PreAuthentication externalPreAuthentication = PreAuthentication::ADFS;  // WAP's default
    // The AD FS relying party trust WAP asks for ADFS pre-authentication
    // (Add-WebApplicationProxyApplication -ADFSRelyingPartyName); "" = none.
    std::string adfsRelyingPartyName;
    std::string externalCertificateThumbprint;  // "" = the lab's proxy certificate
    bool backendServerCertificateValidation = true;
    bool disableTranslateUrlInRequestHeaders = false;
    bool disableTranslateUrlInResponseHeaders = false;
    int inactiveTransactionsTimeoutSec = 300;
};

// The IP:port ("default") binding, set after deployment as the seed's
// Set-DefaultCertificate script does.
struct DefaultBinding {
    std::string ipport = "0.0.0.0:443";
    std::optional<std::string> matchHost;  // copy hash and appid from this host's binding
};

struct ClientProfile {
    std::string name;  // browser, lync-mobile, activesync, or a custom name
    bool sendsSni = true;
    std::string minTls = "1.2";  // "1.0", "1.1", "1.2", "1.3"
    std::string maxTls = "1.3";
    std::vector<std::string> names;  // public FQDNs this client connects to
};

struct Platform {
    std::string name = "generic";  // e.g. azure, hyper-v, generic
    int nics = 2;
    std::vector<std::string> roles;  // e.g. frontend, edge, proxy, owas
};

struct Database {
    std::string name;
    double dataGB = 4;
    double logGB = 4;
};

struct DataDisk {
    double sizeGB = 10;
    HostCache hostCache = HostCache::None;
    std::string path = "F:\\CsData";
    // Where SQL Server puts the log and the data files (Install-CsDatabase
    // -DatabasePaths LOG,DATA); each defaults to `path`.
    std::string logPath = path;
    std::string dataPath = path;
    std::vector<Database> databases;  // default rtcxds 4 + 4
    int installerTimeoutSec = 600;    // the seed's installer gave up after 10 minutes
};

// A test account the front-end simulators know and the sign-in checks use.
// The password is read once (literal or file) and never written anywhere:
// not into reports, logs or any process's arguments.
struct TestUser {
    std::string sipUri;    // alice@kloud.example (without "sip:")
    std::string account;   // KLOUD\alice or alice@kloud.example, as typed at sign-in
    std::string password;  // the literal, or the file's first line once loaded
    std::optional<std::filesystem::path> passwordFile;
    // What the sign-in checks type; nullopt: the password. A lab that shows
    // a refused sign-in gives a different one.
    std::optional<std::string> typedPassword;
    // The lync-frontend backend (by name) whose pool the user is homed on;
    // "" = any. Another front end's user resource redirects there.
    std::string homePool;

    std::string userName() const;  // "alice" of KLOUD\alice; the whole UPN otherwise
    std::string domain() const;    // "KLOUD" of KLOUD\alice; "" for a UPN
};

// How the lab's proxy is run (the parts that are not WAP publishing rules).
struct ProxyOptions {
    // Pin a client connection that starts NTLM or Negotiate to one backend
    // connection, as WAP does; false shares the pool (what breaks NTLM).
    bool connectionAffinity = true;
};

struct Expectations {
    std::vector<std::string> fail;  // check id globs expected to fail; others must pass
    std::string note;               // what the lab demonstrates
};

struct Lab {
    std::string name;
    std::string description;
    std::string domain;
    PublicNames names;  // FQDNs, already joined with the domain
    CertificateSpec certificate;
    std::vector<Backend> backends;
    std::vector<Application> applications;
    std::optional<DefaultBinding> defaultBinding;
    std::vector<ClientProfile> clients;
    Platform platform;
    std::optional<DataDisk> dataDisk;
    std::vector<TestUser> users;
    ProxyOptions proxy;
    Expectations expect;
    std::filesystem::path sourceFile;

    const Backend* backendFor(std::string_view host) const;  // by host or a served name
    const TestUser* user(std::string_view sipUri) const;     // case-insensitive
};

// The OWAS farm's InternalURL: the lab's, or the server's own name as
// New-OfficeWebAppsFarm is usually given it (https://HOST/), which the
// simulator also uses.
std::string farmInternalUrl(const Backend&);

// One problem in a lab file: the JSON pointer it concerns and what is wrong
// (the shared reader's, common/json_reader.hpp).
using LabError = JsonError;

// What keeps a lab from being built on loopback (`run`, `up`), found before
// anything starts: no backends; an application without a backend URL,
// published twice, or with ClientCertificate
// pre-authentication (not emulated); a default binding whose host no
// application publishes. A lab without backends describes a real site,
// which `check` takes as it is; `validate` refuses the rest for a lab with
// backends. Empty when none.
std::vector<LabError> labModeProblems(const Lab& lab);

class LabParseError : public std::runtime_error {
  public:
    LabParseError(std::string file, std::vector<LabError> errors);
    const std::vector<LabError>& errors() const { return errors_; }
    const std::string& file() const { return file_; }

  private:
    std::string file_;
    std::vector<LabError> errors_;
};

// Parses a lab. Collects every error it finds and throws LabParseError with
// all of them (JSON syntax errors carry line and column).
Lab parseLab(const nlohmann::json& doc, const std::string& file = "<lab>");
Lab parseLabText(std::string_view text, const std::string& file = "<lab>");
// Reads the lab and each user's passwordFile (relative to the lab file); an
// unreadable or empty password file is an error at /users/N/passwordFile.
Lab loadLab(const std::filesystem::path& file);
// The password in a file: its first line. Throws naming the file.
std::string readPasswordFile(const std::filesystem::path& file);
// Reads the password files of a lab already parsed (loadLab does it).
void readPasswordFiles(Lab& lab);

}  // namespace edgelab::provision
