// The audit's inputs joined into one view (internal to audit/): bindings with
// parsed keys, indexed by port and by host:port so that every finding is
// linear in the applications and bindings; applications with parsed URLs and
// roles; certificates by thumbprint. The findings read only this.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit.hpp"
#include "common/netsh_command.hpp"
#include "provision/lab.hpp"

namespace edgelab::audit {

struct Bound {
    proxy::NetshKeyKind kind = proxy::NetshKeyKind::IpPort;
    std::string host;  // lower case; "[::]" for IPv6; "" for a Central Certificate Store entry
    std::uint16_t port = 0;
    std::string hash;   // 40 upper-case hex digits when readable, else as printed
    std::string appid;  // lower case
    std::size_t line = 0;
    std::string key() const { return host + ":" + std::to_string(port); }
    bool ipv6() const { return !host.empty() && host.front() == '['; }
};

// What an application's URL is, beyond a host name: WAP 2012 R2 takes host
// names; an IPv6 literal or a wildcard is read so that it is judged, not
// dropped.
enum class UrlShape { Name, Ipv6Literal, Wildcard };

struct ReadUrl {
    edgelab::Url url;  // host "[fd00::5]" or "*.contoso.com" for the other shapes
    UrlShape shape = UrlShape::Name;
};
std::optional<ReadUrl> readUrl(const std::string& text);

struct Published {
    const WapApplication* app = nullptr;
    AppRole role = AppRole::Other;
    std::optional<edgelab::Url> external;
    std::optional<edgelab::Url> backend;
    UrlShape externalShape = UrlShape::Name;
    UrlShape backendShape = UrlShape::Name;
};

class Model {
  public:
    explicit Model(const AuditInput& input);

    const AuditInput& input;
    bool haveNetsh = false;
    bool haveWap = false;
    std::vector<Bound> bindings;
    std::vector<Published> apps;
    std::string webServicesName;

    // The ports judged: the applications' external ports when given, else
    // the ports of WAP's own bindings (its application id), else 443.
    const std::set<std::uint16_t>& judgedPorts() const { return judged_; }
    // "port 49443 (2 bindings, AD FS)" for each port with bindings that is not judged.
    std::vector<std::string> notJudged() const;

    std::vector<std::uint16_t> hostnamePorts() const;  // judged ports with Hostname:port bindings
    const std::vector<const Bound*>& hostnamesOn(std::uint16_t port) const;
    const std::vector<const Bound*>& ipPortsOn(std::uint16_t port) const;
    const Bound* ipv4On(std::uint16_t port) const;  // 0.0.0.0 first, else a specific address
    const Bound* ipv6On(std::uint16_t port) const;
    const Bound* hostname(const std::string& host, std::uint16_t port) const;
    const Bound* centralStoreOn(std::uint16_t port) const;
    const Bound* webServicesBinding(std::uint16_t port) const;
    const AuditCertificate* certificate(const std::string& thumbprint) const;
    bool published(const std::string& host, std::uint16_t port) const;
    // The names clients without SNI connect to (the lab's lync-mobile and
    // activesync profiles): web services and lyncdiscover.
    const std::vector<std::string>& noSniNames() const { return noSni_; }

  private:
    void index();
    void guessWebServicesName();
    void findNoSniNames();

    std::set<std::uint16_t> judged_;
    std::map<std::uint16_t, std::vector<const Bound*>> hostnames_, ipPorts_, centralStore_;
    std::unordered_map<std::string, const Bound*> byHostPort_;
    std::unordered_map<std::string, const AuditCertificate*> certificates_;
    std::set<std::string> publishedKeys_;
    std::vector<std::string> noSni_;
};

bool covers(const AuditCertificate&, const std::string& host);

// Shared by the findings.
checks::CheckResult passing(std::string id, std::string title, std::string ns);
checks::CheckResult skipped(checks::CheckResult r, std::string why);
// The netsh command that binds `key` as `source` is bound (the seed's
// Set-DefaultCertificate copies certhash and appid this way): the PowerShell
// line, then the cmd.exe one as a comment, then `note` as a comment.
std::string addSslcert(SslcertKey kind, const std::string& key, const Bound& source,
                       const std::string& note = "");
std::string deleteSslcert(SslcertKey kind, const std::string& key);
// A PowerShell single-quoted string.
inline std::string ps(const std::string& s) { return edgelab::psQuote(s); }

// The findings over applications (audit/findings_wap.cpp).
checks::CheckResult captureReadable(const Model&);
checks::CheckResult passThrough(const Model&);
checks::CheckResult backendPort(const Model&);
checks::CheckResult owasUrl(const Model&);
checks::CheckResult wildcardUrls(const Model&);
checks::CheckResult applicationBindings(const Model&);
checks::CheckResult certificateNames(const Model&);
checks::CheckResult leftoverBindings(const Model&);

}  // namespace edgelab::audit
