#include "audit/model.hpp"

#include <algorithm>
#include <set>

#include "common/ascii.hpp"
#include "common/endpoint.hpp"
#include "common/lync_wap.hpp"
#include "common/matching.hpp"
#include "provision/rules.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

namespace {

std::string firstLabel(const std::string& host) { return host.substr(0, host.find('.')); }

bool contains(const std::string& text, std::string_view word) {
    return asciiLower(text).find(word) != std::string::npos;
}

std::optional<Bound> boundOf(const proxy::NetshEntry& e) {
    Bound b;
    b.kind = e.kind;
    b.line = e.line;
    std::string_view portText = e.key;
    if (e.kind != proxy::NetshKeyKind::CentralCertificateStore) {
        // HTTP.sys keeps a hostname binding's name as it was given, so it is
        // not read as a DNS name: everything before the last colon.
        const auto colon = e.key.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        b.host = asciiLower(e.key.substr(0, colon));
        portText = std::string_view(e.key).substr(colon + 1);
    }
    const auto port = parsePort(portText);
    if (!port) return std::nullopt;
    b.port = *port;
    const std::string* hash = e.field("Certificate Hash");
    b.hash = hash ? proxy::normaliseThumbprint(*hash).value_or(*hash) : "";
    const std::string* appid = e.field("Application ID");
    b.appid = appid ? asciiLower(*appid) : "";
    return b;
}

}  // namespace

std::string to_string(AppRole role) {
    switch (role) {
        case AppRole::Lync:
            return "Lync";
        case AppRole::Owas:
            return "Office Web Apps";
        case AppRole::Other:
            return "other";
    }
    return "other";
}

AppRole guessRole(const WapApplication& app) {
    const auto external = Url::parse(app.externalUrl);
    const auto backend = Url::parse(app.backendServerUrl);
    const std::string label = external ? firstLabel(external->host) : "";
    for (std::string_view w : {"office web apps", "office online", "owas", "wac"})
        if (contains(app.name, w)) return AppRole::Owas;
    for (std::string_view w : {"owas", "wac", "oos", "officeonline"})
        if (label == w) return AppRole::Owas;
    if (backend && backend->port == kLyncExternalWebPort) return AppRole::Lync;
    for (std::string_view w : {"lync", "skype", "sfb"})
        if (contains(app.name, w)) return AppRole::Lync;
    for (std::string_view w : {"lyncws", "webext", "lyncweb", "meet", "dialin", "lyncdiscover"})
        if (label == w) return AppRole::Lync;
    return AppRole::Other;
}

checks::CheckResult passing(std::string id, std::string title, std::string ns) {
    checks::CheckResult r;
    r.id = std::move(id);
    r.title = std::move(title);
    r.ns = std::move(ns);
    r.verdict = checks::Verdict::Pass;
    return r;
}

checks::CheckResult skipped(checks::CheckResult r, std::string why) {
    r.verdict = checks::Verdict::Skip;
    r.evidence = std::move(why);
    return r;
}

std::string addSslcert(const std::string& keyword, const std::string& key, const Bound& source) {
    std::string command = "netsh http add sslcert " + keyword + "=" + key +
                          " certhash=" + asciiLower(source.hash) + " appid=" + source.appid;
    if (keyword == "hostnameport") command += " certstorename=MY";
    return command;
}

bool covers(const AuditCertificate& cert, const std::string& host) {
    if (dnsNamesCover(cert.dnsNames, host)) return true;
    // Clients fall back to the CN only when there is no dNSName (RFC 6125 6.4.4).
    return cert.dnsNames.empty() && dnsNameCovers(cert.subjectCn, host);
}

Model::Model(const AuditInput& in) : input(in) {
    haveNetsh = in.netsh.has_value();
    haveWap = in.applications.has_value();
    if (haveNetsh)
        for (const auto& e : in.netsh->entries)
            if (auto b = boundOf(e)) bindings.push_back(*b);
    if (haveWap) {
        for (std::size_t i = 0; i < in.applications->size(); ++i) {
            const auto& a = (*in.applications)[i];
            apps.push_back({&a, i < in.roles.size() ? in.roles[i] : guessRole(a),
                            Url::parse(a.externalUrl), Url::parse(a.backendServerUrl)});
        }
    }
    webServicesName = asciiLower(in.webServicesName);
    if (!webServicesName.empty()) return;
    // The Lync rule that is neither a simple URL nor autodiscover.
    for (const auto& p : apps) {
        if (p.role != AppRole::Lync || !p.external) continue;
        const std::string label = firstLabel(p.external->host);
        if (label == "meet" || label == "dialin" || label.rfind("lyncdiscover", 0) == 0) continue;
        webServicesName = p.external->host;
        return;
    }
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::HostnamePort && firstLabel(b.host) == "lyncws")
            webServicesName = b.host;
}

// The ports WAP publishes on: the applications' when given, else those of
// WAP's own bindings (AD FS binds 49443 for itself; that is not audited).
std::vector<std::uint16_t> Model::hostnamePorts() const {
    std::set<std::uint16_t> published, wap, all;
    for (const auto& p : apps)
        if (p.external) published.insert(p.external->port);
    for (const auto& b : bindings) {
        if (b.kind != proxy::NetshKeyKind::HostnamePort) continue;
        all.insert(b.port);
        if (b.appid == kWapApplicationId) wap.insert(b.port);
    }
    std::set<std::uint16_t> ports = haveWap ? published : !wap.empty() ? wap : all;
    std::erase_if(ports, [&](std::uint16_t p) { return !all.count(p); });
    return {ports.begin(), ports.end()};
}

std::vector<const Bound*> Model::hostnamesOn(std::uint16_t port) const {
    std::vector<const Bound*> out;
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::HostnamePort && b.port == port) out.push_back(&b);
    return out;
}

std::vector<const Bound*> Model::ipPortBindings() const {
    std::vector<const Bound*> out;
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::IpPort) out.push_back(&b);
    return out;
}

const Bound* Model::ipPortOn(std::uint16_t port) const {
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::IpPort && b.port == port) return &b;
    return nullptr;
}

const Bound* Model::hostname(const std::string& host, std::uint16_t port) const {
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::HostnamePort && b.port == port && b.host == host)
            return &b;
    return nullptr;
}

const Bound* Model::centralStoreOn(std::uint16_t port) const {
    for (const auto& b : bindings)
        if (b.kind == proxy::NetshKeyKind::CentralCertificateStore && b.port == port) return &b;
    return nullptr;
}

const Bound* Model::webServicesBinding(std::uint16_t port) const {
    return webServicesName.empty() ? nullptr : hostname(webServicesName, port);
}

const AuditCertificate* Model::certificate(const std::string& thumbprint) const {
    for (const auto& c : input.certificates)
        if (c.thumbprint == thumbprint) return &c;
    return nullptr;
}

std::vector<std::string> Model::noSniNames() const {
    std::vector<std::string> names;
    if (!webServicesName.empty()) names.push_back(webServicesName);
    for (const auto& p : apps)
        if (p.role == AppRole::Lync && p.external &&
            firstLabel(p.external->host) == "lyncdiscover" &&
            std::find(names.begin(), names.end(), p.external->host) == names.end())
            names.push_back(p.external->host);
    return names;
}

}  // namespace edgelab::audit
