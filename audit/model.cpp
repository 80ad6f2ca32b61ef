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

const std::vector<const Bound*> kNone;

const std::vector<const Bound*>& at(const std::map<std::uint16_t, std::vector<const Bound*>>& m,
                                    std::uint16_t port) {
    const auto it = m.find(port);
    return it == m.end() ? kNone : it->second;
}

}  // namespace

std::optional<ReadUrl> readUrl(const std::string& text) {
    if (auto url = Url::parse(text)) return ReadUrl{*url, UrlShape::Name};
    const auto sep = text.find("://");
    if (sep == std::string::npos) return std::nullopt;
    const std::size_t start = sep + 3;
    // An IPv6 literal: the URL read with a stand-in name, then the literal put back.
    if (start < text.size() && text[start] == '[') {
        const auto close = text.find(']', start);
        if (close == std::string::npos || !isIpv6Address(text.substr(start + 1, close - start - 1)))
            return std::nullopt;
        auto url = Url::parse(text.substr(0, start) + "ipv6.invalid" + text.substr(close + 1));
        if (!url) return std::nullopt;
        url->host = asciiLower(text.substr(start, close + 1 - start));
        return ReadUrl{*url, UrlShape::Ipv6Literal};
    }
    if (text.compare(start, 2, "*.") == 0) {
        auto url = Url::parse(text.substr(0, start) + "wildcard" + text.substr(start + 1));
        if (!url) return std::nullopt;
        url->host = "*" + url->host.substr(8);
        return ReadUrl{*url, UrlShape::Wildcard};
    }
    return std::nullopt;
}

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
    const auto external = readUrl(app.externalUrl);
    const auto backend = readUrl(app.backendServerUrl);
    const std::string label = external ? firstLabel(external->url.host) : "";
    for (std::string_view w : {"office web apps", "office online", "owas", "wac"})
        if (contains(app.name, w)) return AppRole::Owas;
    for (std::string_view w : {"owas", "wac", "oos", "officeonline"})
        if (label == w) return AppRole::Owas;
    if (backend && backend->url.port == kLyncExternalWebPort) return AppRole::Lync;
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

std::string addSslcert(SslcertKey kind, const std::string& key, const Bound& source,
                       const std::string& note) {
    const SslcertAdd add{kind, key, source.hash, source.appid,
                         kind == SslcertKey::HostnamePort ? "MY" : ""};
    return sslcertAddFix(add) + (note.empty() ? "" : "\n# " + note);
}

std::string deleteSslcert(SslcertKey kind, const std::string& key) {
    return sslcertDeleteFix(kind, key);
}

bool covers(const AuditCertificate& cert, const std::string& host) {
    if (dnsNamesCover(cert.dnsNames, host)) return true;
    // Clients fall back to the CN only when there is no dNSName (RFC 6125 6.4.4).
    return cert.dnsNames.empty() && dnsNameCovers(cert.subjectCn, host);
}

Model::Model(const AuditInput& in) : input(in) {
    haveNetsh = in.netsh.has_value();
    haveWap = in.applications.has_value();
    if (haveNetsh) {
        bindings.reserve(in.netsh->entries.size());
        for (const auto& e : in.netsh->entries)
            if (auto b = boundOf(e)) bindings.push_back(std::move(*b));
    }
    if (haveWap) {
        apps.reserve(in.applications->size());
        for (std::size_t i = 0; i < in.applications->size(); ++i) {
            const auto& a = (*in.applications)[i];
            Published p{&a, i < in.roles.size() ? in.roles[i] : guessRole(a), {}, {}};
            if (auto u = readUrl(a.externalUrl)) p.external = u->url, p.externalShape = u->shape;
            if (auto u = readUrl(a.backendServerUrl)) p.backend = u->url, p.backendShape = u->shape;
            apps.push_back(std::move(p));
        }
    }
    index();
    guessWebServicesName();
    findNoSniNames();
}

void Model::index() {
    for (const auto& c : input.certificates) certificates_.emplace(c.thumbprint, &c);
    std::set<std::uint16_t> wapPorts;
    for (const auto& b : bindings) {
        switch (b.kind) {
            case proxy::NetshKeyKind::HostnamePort:
                hostnames_[b.port].push_back(&b);
                byHostPort_.emplace(b.key(), &b);
                break;
            case proxy::NetshKeyKind::IpPort:
                ipPorts_[b.port].push_back(&b);
                break;
            case proxy::NetshKeyKind::CentralCertificateStore:
                centralStore_[b.port].push_back(&b);
                break;
        }
        if (b.appid == kWapApplicationId) wapPorts.insert(b.port);
    }
    for (const auto& p : apps)
        if (p.external) {
            judged_.insert(p.external->port);
            publishedKeys_.insert(p.external->hostPort());
        }
    if (!haveWap) judged_ = wapPorts.empty() ? std::set<std::uint16_t>{443} : wapPorts;
}

// The Lync rule that is neither a simple URL nor autodiscover; from the
// bindings alone, the Lync web services' usual first labels.
void Model::guessWebServicesName() {
    webServicesName = asciiLower(input.webServicesName);
    if (!webServicesName.empty()) return;
    for (const auto& p : apps) {
        if (p.role != AppRole::Lync || !p.external || p.externalShape != UrlShape::Name) continue;
        const std::string label = firstLabel(p.external->host);
        if (label == "meet" || label == "dialin" || label.rfind("lyncdiscover", 0) == 0) continue;
        webServicesName = p.external->host;
        return;
    }
    if (haveWap) return;
    for (std::string_view wanted : {"lyncws", "webext", "lyncweb"})
        for (const auto& b : bindings)
            if (b.kind == proxy::NetshKeyKind::HostnamePort && firstLabel(b.host) == wanted &&
                judged_.count(b.port)) {
                webServicesName = b.host;
                return;
            }
}

std::vector<std::string> Model::notJudged() const {
    std::map<std::uint16_t, std::pair<std::size_t, bool>> ports;  // count, all AD FS
    for (const auto& b : bindings) {
        if (judged_.count(b.port)) continue;
        auto [it, fresh] = ports.try_emplace(b.port, 0, true);
        ++it->second.first;
        it->second.second = it->second.second && b.appid == kAdfsApplicationId;
    }
    std::vector<std::string> out;
    for (const auto& [port, what] : ports)
        out.push_back("port " + std::to_string(port) + " (" + std::to_string(what.first) +
                      (what.first == 1 ? " binding" : " bindings") +
                      (what.second ? ", AD FS's own" : "") + ")");
    return out;
}

std::vector<std::uint16_t> Model::hostnamePorts() const {
    std::vector<std::uint16_t> out;
    for (std::uint16_t port : judged_)
        if (hostnames_.count(port)) out.push_back(port);
    return out;
}

const std::vector<const Bound*>& Model::hostnamesOn(std::uint16_t port) const {
    return at(hostnames_, port);
}

const std::vector<const Bound*>& Model::ipPortsOn(std::uint16_t port) const {
    return at(ipPorts_, port);
}

const Bound* Model::ipv4On(std::uint16_t port) const {
    const Bound* specific = nullptr;
    for (const Bound* b : ipPortsOn(port)) {
        if (b->host == "0.0.0.0") return b;
        if (!b->ipv6() && !specific) specific = b;
    }
    return specific;
}

const Bound* Model::ipv6On(std::uint16_t port) const {
    for (const Bound* b : ipPortsOn(port))
        if (b->ipv6()) return b;
    return nullptr;
}

const Bound* Model::hostname(const std::string& host, std::uint16_t port) const {
    const auto it = byHostPort_.find(host + ":" + std::to_string(port));
    return it == byHostPort_.end() ? nullptr : it->second;
}

const Bound* Model::centralStoreOn(std::uint16_t port) const {
    const auto& list = at(centralStore_, port);
    return list.empty() ? nullptr : list.front();
}

const Bound* Model::webServicesBinding(std::uint16_t port) const {
    return webServicesName.empty() ? nullptr : hostname(webServicesName, port);
}

const AuditCertificate* Model::certificate(const std::string& thumbprint) const {
    const auto it = certificates_.find(thumbprint);
    return it == certificates_.end() ? nullptr : it->second;
}

bool Model::published(const std::string& host, std::uint16_t port) const {
    return publishedKeys_.count(host + ":" + std::to_string(port)) > 0;
}

void Model::findNoSniNames() {
    std::vector<std::string>& names = noSni_;
    if (!webServicesName.empty()) names.push_back(webServicesName);
    for (const auto& p : apps)
        if (p.role == AppRole::Lync && p.external &&
            firstLabel(p.external->host) == "lyncdiscover" &&
            std::find(names.begin(), names.end(), p.external->host) == names.end())
            names.push_back(p.external->host);
}

}  // namespace edgelab::audit
