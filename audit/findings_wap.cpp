// The findings over the published applications and their bindings.
#include <set>

#include "audit/model.hpp"
#include "common/ascii.hpp"
#include "common/remedies.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

using checks::CheckResult;
using checks::Verdict;

namespace {

// The application, in a pipeline that Set-/Remove- take (by ID when printed).
std::string select(const WapApplication& a) {
    return a.id.empty() ? "Get-WebApplicationProxyApplication -Name " + ps(a.name) + " | "
                        : "Get-WebApplicationProxyApplication -ID " + a.id + " | ";
}

CheckResult finish(CheckResult r, const std::vector<std::string>& bad,
                   const std::vector<std::string>& fixes, const std::string& good) {
    if (bad.empty()) {
        r.evidence = good;
        return r;
    }
    r.verdict = Verdict::Fail;
    r.evidence = join(bad, "; ");
    r.remedy = join(fixes, "\n");
    return r;
}

std::size_t countOf(const Model& m, AppRole role) {
    std::size_t n = 0;
    for (const auto& p : m.apps) n += p.role == role;
    return n;
}

}  // namespace

CheckResult captureReadable(const Model& m) {
    auto r = passing("audit.capture", "the captures were read whole", "");
    std::vector<std::string> read;
    if (m.haveNetsh) {
        const auto& problems = m.input.netsh->problems;
        read.push_back(m.input.netshSource + ": " + std::to_string(m.input.netsh->entries.size()) +
                       " bindings" +
                       (m.input.netshEncoding.empty() ? "" : " (" + m.input.netshEncoding + ")"));
        std::vector<std::string> lines;
        for (std::size_t i = 0; i < problems.size() && i < 5; ++i)
            lines.push_back(problems[i].str());
        if (problems.size() > 5) lines.push_back(std::to_string(problems.size() - 5) + " more");
        if (!problems.empty()) {
            r.verdict = Verdict::Warn;
            r.evidence = m.input.netshSource + " could not be read whole: " + join(lines, "; ");
            r.remedy = remedyText(r.id, "netsh");
        }
    }
    if (m.haveWap) {
        read.push_back(m.input.wapSource + ": " + std::to_string(m.apps.size()) +
                       (m.apps.size() == 1 ? " application (" : " applications (") +
                       std::to_string(countOf(m, AppRole::Lync)) + " Lync, " +
                       std::to_string(countOf(m, AppRole::Owas)) + " Office Web Apps)" +
                       (m.input.wapFormat.empty() ? "" : " from " + m.input.wapFormat));
        for (const auto& n : m.input.wapNotes) read.push_back(m.input.wapSource + " " + n);
    }
    for (const auto& c : m.input.certificates) read.push_back(c.source + ": " + c.thumbprint);
    // An application whose URL is not one: not judged, and said so.
    std::vector<std::string> unread;
    for (const auto& p : m.apps) {
        if (!p.external)
            unread.push_back(ps(p.app->name) + " ExternalUrl " + ps(p.app->externalUrl));
        if (!p.backend)
            unread.push_back(ps(p.app->name) + " BackendServerUrl " + ps(p.app->backendServerUrl));
    }
    if (!unread.empty()) {
        r.verdict = Verdict::Warn;
        read.insert(read.begin(), "not judged, not a URL WAP takes: " + join(unread, ", "));
        if (r.remedy.empty()) r.remedy = remedyText(r.id, "url");
    }
    if (r.verdict == Verdict::Pass || !unread.empty())
        r.evidence = join(read, "; ") + (r.evidence.empty() ? "" : "; " + r.evidence);
    return r;
}

CheckResult passThrough(const Model& m) {
    auto r =
        passing("lab.passthrough", "S2: Lync applications use PassThrough pre-authentication", "");
    if (!m.haveWap) return skipped(r, "no applications given (--wap)");
    if (countOf(m, AppRole::Lync) == 0) return skipped(r, "no application publishes Lync");
    std::vector<std::string> bad, fixes, unknown;
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Lync) continue;
        const auto& a = *p.app;
        if (asciiLower(a.externalPreauthentication) == "passthrough") continue;
        if (a.externalPreauthentication.empty()) {
            unknown.push_back(ps(a.name));
            continue;
        }
        bad.push_back(ps(a.name) + " uses " + a.externalPreauthentication);
        // Set-WebApplicationProxyApplication cannot change the method: publish again.
        fixes.push_back(select(a) + "Remove-WebApplicationProxyApplication");
        fixes.push_back("Add-WebApplicationProxyApplication -Name " + ps(a.name) +
                        " -ExternalPreauthentication PassThrough -ExternalUrl " +
                        ps(a.externalUrl) + " -BackendServerUrl " + ps(a.backendServerUrl) +
                        " -ExternalCertificateThumbprint " + ps(a.externalCertificateThumbprint));
    }
    if (bad.empty() && unknown.size() == countOf(m, AppRole::Lync))
        return skipped(r, "the pre-authentication of " + join(unknown, ", ") +
                              " is not a documented name (see audit.capture)");
    return finish(r, bad, fixes,
                  std::to_string(countOf(m, AppRole::Lync) - unknown.size()) +
                      (countOf(m, AppRole::Lync) - unknown.size() == 1
                           ? " Lync application uses PassThrough"
                           : " Lync applications use PassThrough") +
                      (unknown.empty() ? "" : "; not judged: " + join(unknown, ", ")));
}

CheckResult backendPort(const Model& m) {
    auto r = passing("lab.backend-port", "S3: Lync applications reach the front end on 4443", "");
    if (!m.haveWap) return skipped(r, "no applications given (--wap)");
    if (countOf(m, AppRole::Lync) == 0) return skipped(r, "no application publishes Lync");
    std::vector<std::string> bad, fixes;
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Lync || !p.backend || p.backend->port == kLyncExternalWebPort)
            continue;
        auto fixed = *p.backend;
        fixed.port = kLyncExternalWebPort;
        // WAP wants a name, not an address, in its URLs (Microsoft, "Publish
        // Applications using Pass-through Preauthentication"): the external
        // name, resolved to the front end inside, as full-domain publishing does.
        const bool literal = p.backendShape == UrlShape::Ipv6Literal && p.external &&
                             p.externalShape == UrlShape::Name;
        if (literal) fixed.host = p.external->host;
        bad.push_back(ps(p.app->name) + " -> " + p.app->backendServerUrl +
                      (literal ? " (an IPv6 literal on " + std::to_string(p.backend->port) +
                                     ": WAP takes a name, not an IP address, and the front "
                                     "end's external web site listens on 4443)"
                               : ""));
        fixes.push_back(select(*p.app) + "Set-WebApplicationProxyApplication -BackendServerUrl " +
                        ps(fixed.str()) +
                        (literal ? "   # and resolve " + fixed.host + " to " + p.backend->host +
                                       " in the internal DNS"
                                 : ""));
    }
    return finish(r, bad, fixes, "every Lync application's backend is https://HOST:4443/");
}

CheckResult owasUrl(const Model& m) {
    auto r = passing("lab.owas-url",
                     "S5: the Office Web Apps rule has the same external and backend host", "");
    if (!m.haveWap) return skipped(r, "no applications given (--wap)");
    if (countOf(m, AppRole::Owas) == 0)
        return skipped(r, "no application publishes Office Web Apps");
    std::vector<std::string> bad, fixes;
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Owas || !p.external || !p.backend) continue;
        r.ns = p.external->host;
        if (p.external->host == p.backend->host) continue;
        auto fixed = *p.backend;
        fixed.host = p.external->host;
        bad.push_back(ps(p.app->name) + ": " + p.external->host + " -> " + p.backend->host +
                      " (OWAS writes its backend URLs into pages the proxy does not rewrite)");
        fixes.push_back(select(*p.app) + "Set-WebApplicationProxyApplication -BackendServerUrl " +
                        ps(fixed.str()) + "   # and resolve " + p.external->host +
                        " to the OWAS farm in the internal DNS");
    }
    return finish(r, bad, fixes, "external and backend hosts are the same");
}

// A wildcard external URL (https://*.contoso.com/): Web Application Proxy in
// Windows Server 2012 R2 "does not support wildcard domain publishing"
// (Microsoft, "Plan to Publish Applications using Pass-through
// Preauthentication"); where a later WAP takes one, a certificate's
// *.contoso.com covers one label only (RFC 6125 6.4.3), and the lessons are
// judged per name, which a wildcard rule hides.
CheckResult wildcardUrls(const Model& m) {
    auto r = passing("audit.wildcard-url",
                     "no application is published under a wildcard external URL", "");
    if (!m.haveWap) return skipped(r, "no applications given (--wap)");
    std::vector<std::string> found, fixes;
    for (const auto& p : m.apps) {
        if (!p.external || p.externalShape != UrlShape::Wildcard) continue;
        const std::string domain = p.external->host.substr(2);
        found.push_back(ps(p.app->name) + " publishes " + p.app->externalUrl + " (" +
                        to_string(p.role) + "): it serves names one label under " + domain +
                        " only and its certificate must carry *." + domain +
                        "; WAP in Windows Server 2012 R2 does not support wildcard publishing, "
                        "and clients without SNI still get the IP:port binding's certificate");
        if (p.role != AppRole::Other)
            fixes.push_back(
                remedyText(r.id, "", {{"role", to_string(p.role)}, {"domain", domain}}));
    }
    if (found.empty()) {
        r.evidence = "every external URL names one host";
        return r;
    }
    r.verdict = Verdict::Warn;
    r.evidence = join(found, "; ");
    r.remedy = join(fixes, "\n");
    return r;
}

CheckResult applicationBindings(const Model& m) {
    auto r = passing("audit.application-binding",
                     "each application's certificate is bound to its external host", "");
    if (!m.haveWap || !m.haveNetsh) return skipped(r, "needs both --netsh and --wap");
    std::vector<std::string> bad, fixes, good;
    std::vector<std::string> wildcards;
    std::size_t bound = 0;
    for (const auto& p : m.apps) {
        if (!p.external) continue;
        if (p.externalShape == UrlShape::Wildcard) {
            wildcards.push_back(p.external->hostPort());
            continue;
        }
        const auto& a = *p.app;
        const std::string key = p.external->hostPort();
        Bound wanted{proxy::NetshKeyKind::HostnamePort, p.external->host, p.external->port,
                     a.externalCertificateThumbprint, std::string(kWapApplicationId)};
        if (const Bound* b = m.hostname(p.external->host, p.external->port)) {
            if (b->hash == a.externalCertificateThumbprint) {
                ++bound;
                continue;
            }
            bad.push_back(key + " is bound to " + b->hash + ", " + ps(a.name) + " names " +
                          a.externalCertificateThumbprint);
            fixes.push_back(deleteSslcert(SslcertKey::HostnamePort, key));
        } else if (m.centralStoreOn(p.external->port)) {
            good.push_back(key + " from the Central Certificate Store");
            continue;
        } else {
            bad.push_back("no Hostname:port binding for " + key + " (" + ps(a.name) + ")");
        }
        fixes.push_back(addSslcert(SslcertKey::HostnamePort, key, wanted));
    }
    if (bad.empty() && bound == 0 && good.empty())
        return skipped(r, wildcards.empty()
                              ? "no application with an external host name"
                              : "only wildcard external URLs (" + join(wildcards, ", ") +
                                    "; see audit.wildcard-url)");
    return finish(r, bad, fixes,
                  std::to_string(bound) +
                      (bound == 1 ? " application bound to its external host"
                                  : " applications bound to their external hosts") +
                      (good.empty() ? "" : " (" + join(good, ", ") + ")") +
                      (wildcards.empty() ? ""
                                         : "; not judged: wildcard " + join(wildcards, ", ") +
                                               " (see audit.wildcard-url)"));
}

CheckResult certificateNames(const Model& m) {
    auto r = passing("lab.certificate-names",
                     "each certificate covers the names it is bound and published for", "");
    std::vector<std::string> bad, fixes;
    std::set<std::string> checked, unknown;
    auto check = [&](const std::string& thumbprint, const std::string& host,
                     const std::string& what) {
        const AuditCertificate* cert = m.certificate(thumbprint);
        if (!cert) return void(unknown.insert(thumbprint));
        checked.insert(host);
        if (covers(*cert, host)) return;
        bad.push_back(what + ": certificate " + thumbprint + " (" + cert->source + ") lacks " +
                      host);
        fixes.push_back(remedyText(r.id, "audit", {{"host", host}}));
    };
    for (const auto& p : m.apps)
        if (p.external && p.externalShape != UrlShape::Wildcard)
            check(p.app->externalCertificateThumbprint, p.external->host, ps(p.app->name));
    // Without the applications the bindings say which names are served; with
    // them a binding no application uses is audit.leftover-bindings' concern.
    if (!m.haveWap)
        for (const auto& b : m.bindings)
            if (b.kind == proxy::NetshKeyKind::HostnamePort && !checked.count(b.host))
                check(b.hash, b.host, "Hostname:port " + b.key());
    if (checked.empty())
        return skipped(r, "no certificate given for the thumbprints in use (--cert FILE)");
    return finish(
        r, bad, fixes,
        "certificates cover " + join({checked.begin(), checked.end()}, ", ") +
            (unknown.empty() ? ""
                             : "; not given: " + join({unknown.begin(), unknown.end()}, ", ")));
}

CheckResult leftoverBindings(const Model& m) {
    auto r = passing("audit.leftover-bindings",
                     "no WAP binding is left over for a name no application publishes", "");
    if (!m.haveWap || !m.haveNetsh) return skipped(r, "needs both --netsh and --wap");
    std::vector<std::string> left, fixes;
    for (const auto& b : m.bindings) {
        if (b.kind != proxy::NetshKeyKind::HostnamePort || b.appid != kWapApplicationId) continue;
        if (m.published(b.host, b.port)) continue;
        left.push_back(b.key());
        fixes.push_back(deleteSslcert(SslcertKey::HostnamePort, b.key()));
    }
    if (left.empty()) {
        r.evidence = "every WAP Hostname:port binding has its application";
        return r;
    }
    r.verdict = Verdict::Warn;
    r.evidence = "WAP bindings with no application: " + join(left, ", ");
    r.remedy = join(fixes, "\n");
    return r;
}

}  // namespace edgelab::audit
