// The findings over the published applications and their bindings.
#include <set>

#include "audit/model.hpp"
#include "common/ascii.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

using checks::CheckResult;
using checks::Verdict;

namespace {

// A PowerShell single-quoted string.
std::string ps(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

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
            r.remedy =
                "Capture again with `netsh http show sslcert > sslcert.txt` on the proxy; "
                "the findings below use only the bindings that were read.";
        }
    }
    if (m.haveWap)
        read.push_back(m.input.wapSource + ": " + std::to_string(m.apps.size()) +
                       (m.apps.size() == 1 ? " application (" : " applications (") +
                       std::to_string(countOf(m, AppRole::Lync)) + " Lync, " +
                       std::to_string(countOf(m, AppRole::Owas)) + " Office Web Apps)");
    for (const auto& c : m.input.certificates) read.push_back(c.source + ": " + c.thumbprint);
    if (r.verdict == Verdict::Pass) r.evidence = join(read, "; ");
    return r;
}

CheckResult passThrough(const Model& m) {
    auto r =
        passing("lab.passthrough", "S2: Lync applications use PassThrough pre-authentication", "");
    if (!m.haveWap) return skipped(r, "no applications given (--wap)");
    if (countOf(m, AppRole::Lync) == 0) return skipped(r, "no application publishes Lync");
    std::vector<std::string> bad, fixes;
    for (const auto& p : m.apps) {
        if (p.role != AppRole::Lync) continue;
        const auto& a = *p.app;
        if (asciiLower(a.externalPreauthentication) == "passthrough") continue;
        bad.push_back(ps(a.name) + " uses " + a.externalPreauthentication);
        // Set-WebApplicationProxyApplication cannot change the method: publish again.
        fixes.push_back(select(a) + "Remove-WebApplicationProxyApplication");
        fixes.push_back("Add-WebApplicationProxyApplication -Name " + ps(a.name) +
                        " -ExternalPreauthentication PassThrough -ExternalUrl " +
                        ps(a.externalUrl) + " -BackendServerUrl " + ps(a.backendServerUrl) +
                        " -ExternalCertificateThumbprint " + ps(a.externalCertificateThumbprint));
    }
    return finish(r, bad, fixes,
                  std::to_string(countOf(m, AppRole::Lync)) + " Lync applications use PassThrough");
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
        bad.push_back(ps(p.app->name) + " -> " + p.app->backendServerUrl);
        fixes.push_back(select(*p.app) + "Set-WebApplicationProxyApplication -BackendServerUrl " +
                        ps(fixed.str()));
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

CheckResult applicationBindings(const Model& m) {
    auto r = passing("audit.application-binding",
                     "each application's certificate is bound to its external host", "");
    if (!m.haveWap || !m.haveNetsh) return skipped(r, "needs both --netsh and --wap");
    std::vector<std::string> bad, fixes, good;
    for (const auto& p : m.apps) {
        if (!p.external) continue;
        const auto& a = *p.app;
        const std::string key = p.external->host + ":" + std::to_string(p.external->port);
        Bound wanted{proxy::NetshKeyKind::HostnamePort, p.external->host, p.external->port,
                     a.externalCertificateThumbprint, std::string(kWapApplicationId)};
        if (const Bound* b = m.hostname(p.external->host, p.external->port)) {
            if (b->hash == a.externalCertificateThumbprint) continue;
            bad.push_back(key + " is bound to " + b->hash + ", " + ps(a.name) + " names " +
                          a.externalCertificateThumbprint);
            fixes.push_back("netsh http delete sslcert hostnameport=" + key);
        } else if (m.centralStoreOn(p.external->port)) {
            good.push_back(key + " from the Central Certificate Store");
            continue;
        } else {
            bad.push_back("no Hostname:port binding for " + key + " (" + ps(a.name) + ")");
        }
        fixes.push_back(addSslcert("hostnameport", key, wanted));
    }
    return finish(r, bad, fixes,
                  std::to_string(m.apps.size()) + " applications bound" +
                      (good.empty() ? "" : " (" + join(good, ", ") + ")"));
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
        fixes.push_back("issue a certificate whose subject alternative names include " + host +
                        ", import it and bind it (Set-WebApplicationProxyApplication "
                        "-ExternalCertificateThumbprint, netsh http add sslcert)");
    };
    for (const auto& p : m.apps)
        if (p.external)
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
        bool published = false;
        for (const auto& p : m.apps)
            published |= p.external && p.external->host == b.host && p.external->port == b.port;
        if (published) continue;
        left.push_back(b.key());
        fixes.push_back("netsh http delete sslcert hostnameport=" + b.key());
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
