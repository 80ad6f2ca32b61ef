// The audit's inputs joined into one view (internal to audit/): bindings with
// parsed keys, applications with parsed URLs and roles, certificates by
// thumbprint. The findings read only this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "provision/lab.hpp"

namespace edgelab::audit {

struct Bound {
    proxy::NetshKeyKind kind = proxy::NetshKeyKind::IpPort;
    std::string host;  // lower case; "" for a Central Certificate Store entry
    std::uint16_t port = 0;
    std::string hash;   // 40 upper-case hex digits when readable, else as printed
    std::string appid;  // lower case
    std::size_t line = 0;
    std::string key() const { return host + ":" + std::to_string(port); }
};

struct Published {
    const WapApplication* app = nullptr;
    AppRole role = AppRole::Other;
    std::optional<edgelab::Url> external;
    std::optional<edgelab::Url> backend;
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

    std::vector<std::uint16_t> hostnamePorts() const;
    std::vector<const Bound*> hostnamesOn(std::uint16_t port) const;
    std::vector<const Bound*> ipPortBindings() const;
    const Bound* ipPortOn(std::uint16_t port) const;  // a specific address or 0.0.0.0
    const Bound* hostname(const std::string& host, std::uint16_t port) const;
    const Bound* centralStoreOn(std::uint16_t port) const;
    const Bound* webServicesBinding(std::uint16_t port) const;
    const AuditCertificate* certificate(const std::string& thumbprint) const;
    // The names clients without SNI connect to (the lab's lync-mobile and
    // activesync profiles): web services and lyncdiscover.
    std::vector<std::string> noSniNames() const;
};

bool covers(const AuditCertificate&, const std::string& host);

// Shared by the findings.
checks::CheckResult passing(std::string id, std::string title, std::string ns);
checks::CheckResult skipped(checks::CheckResult r, std::string why);
// The netsh command that binds `key` as `source` is bound (the seed's
// Set-DefaultCertificate copies certhash and appid this way).
std::string addSslcert(const std::string& keyword, const std::string& key, const Bound& source);

// The findings over applications (audit/findings_wap.cpp).
checks::CheckResult captureReadable(const Model&);
checks::CheckResult passThrough(const Model&);
checks::CheckResult backendPort(const Model&);
checks::CheckResult owasUrl(const Model&);
checks::CheckResult applicationBindings(const Model&);
checks::CheckResult certificateNames(const Model&);
checks::CheckResult leftoverBindings(const Model&);

}  // namespace edgelab::audit
