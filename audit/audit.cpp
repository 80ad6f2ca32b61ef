#include "audit/audit.hpp"

#include <algorithm>
#include <set>

#include "audit/model.hpp"
#include "common/ascii.hpp"
#include "provision/rules.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

using checks::CheckResult;
using checks::Verdict;

namespace {

std::string portsText(const std::set<std::uint16_t>& ports) {
    std::vector<std::string> out;
    for (auto p : ports) out.push_back(std::to_string(p));
    return out.empty() ? "none" : join(out, ", ");
}

// What the evidence adds about ports that were not judged.
std::string notJudgedText(const Model& m) {
    const auto others = m.notJudged();
    return others.empty()
               ? ""
               : "; not judged (no application is published on it): " + join(others, ", ");
}

// The binding a default binding copies: the web services name's, else the
// IPv6 default's (the certificate already chosen for clients without SNI),
// else the first Hostname:port binding on the port; and what it is.
std::pair<const Bound*, std::string> defaultSource(const Model& m, std::uint16_t port) {
    if (const Bound* ws = m.webServicesBinding(port))
        return {ws, "hash and appid of the web services binding " + ws->key() +
                        ", as Set-DefaultCertificate copies them"};
    if (const Bound* v6 = m.ipv6On(port))
        return {v6, "hash and appid of the IPv6 default binding " + v6->key() +
                        " (no Hostname:port binding for the web services name)"};
    const Bound* first = m.hostnamesOn(port).front();
    return {first, "hash and appid of " + first->key() +
                       ": no Hostname:port binding for the web services name" +
                       (m.webServicesName.empty() ? "" : " " + m.webServicesName) +
                       " was found; check it is the certificate for the Lync web services"};
}

// S6: a port with Hostname:port bindings needs an IPv4 IP:port binding (and
// one for IPv6 clients is a separate key: HTTP_SERVICE_CONFIG_SSL_KEY), or
// IPv4 clients without SNI are reset.
CheckResult defaultBinding(const Model& m) {
    auto r = passing("lab.default-binding",
                     "S6: an IP:port (default) binding serves clients without SNI", "0.0.0.0:443");
    if (!m.haveNetsh) return skipped(r, "no netsh capture given (--netsh)");
    std::vector<std::string> missing, fixes, present;
    for (std::uint16_t port : m.hostnamePorts()) {
        const std::string p = std::to_string(port);
        const Bound* v6 = m.ipv6On(port);
        if (const Bound* v4 = m.ipv4On(port)) {
            present.push_back("IP:port " + v4->key() + " serves IPv4 clients without SNI" +
                              (v4->host == "0.0.0.0" ? "" : " that connect to " + v4->host) +
                              (v6 ? ", " + v6->key() + " IPv6 ones" : ""));
            continue;
        }
        missing.push_back("no IPv4 IP:port binding on port " + p + " (" +
                          std::to_string(m.hostnamesOn(port).size()) + " Hostname:port bindings" +
                          (v6 ? "; " + v6->key() + " serves IPv6 clients only" : "") +
                          "): IPv4 clients without SNI are reset");
        const auto [source, why] = defaultSource(m, port);
        fixes.push_back(addSslcert(SslcertKey::IpPort, "0.0.0.0:" + p, *source, why));
    }
    if (missing.empty() && present.empty())
        return skipped(r, "no Hostname:port binding on the published port(s) " +
                              portsText(m.judgedPorts()) + notJudgedText(m));
    if (missing.empty()) {
        r.evidence = join(present, "; ") + notJudgedText(m);
        return r;
    }
    r.verdict = Verdict::Fail;
    r.evidence = join(missing, "; ") + notJudgedText(m);
    r.remedy = join(fixes, "\n");
    return r;
}

struct DefaultCertificateFindings {
    std::vector<std::string> bad, differs, good, unknown;
    std::string remedy;
};

void judgeDefault(const Model& m, const Bound& ip, DefaultCertificateFindings& f) {
    const Bound* ws = m.webServicesBinding(ip.port);
    const AuditCertificate* cert = m.certificate(ip.hash);
    const std::string head = "IP:port " + ip.key() + " has certificate " + ip.hash;
    std::vector<std::string> uncovered;
    if (cert)
        for (const auto& name : m.noSniNames())
            if (!covers(*cert, name)) uncovered.push_back(name);
    if (!uncovered.empty())
        f.bad.push_back(head + " (" + cert->source + ") without " + join(uncovered, ", "));
    else if (ws && ws->hash != ip.hash)
        f.differs.push_back(head + ", the web services binding " + ws->key() + " " + ws->hash +
                            (cert ? " (it covers " + join(m.noSniNames(), ", ") + ")"
                                  : " (give it with --cert to check its names)"));
    else if (ws)
        f.good.push_back(head + ", the same as the web services binding " + ws->key());
    else if (cert)
        f.good.push_back(head + " (" + cert->source + "), which covers " +
                         (m.noSniNames().empty() ? std::string("no name known to check")
                                                 : join(m.noSniNames(), ", ")));
    else
        f.unknown.push_back(head + "; nothing to compare it with: no Hostname:port binding for " +
                            (m.webServicesName.empty()
                                 ? std::string("the web services name")
                                 : m.webServicesName + ":" + std::to_string(ip.port)) +
                            " and no --cert with " + ip.hash);
    if (ws && (!uncovered.empty() || ws->hash != ip.hash))
        f.remedy += (f.remedy.empty() ? "" : "\n") + deleteSslcert(SslcertKey::IpPort, ip.key()) +
                    "\n" + addSslcert(SslcertKey::IpPort, ip.key(), *ws);
}

// A default binding whose certificate is not the web services one, or does
// not carry the names clients without SNI ask for. Without either to compare
// with, SKIP saying so: nothing was found to call it right.
CheckResult defaultCertificate(const Model& m) {
    auto r = passing("audit.default-certificate",
                     "the IP:port binding's certificate covers the names clients without SNI use",
                     join(m.noSniNames(), ", "));
    if (!m.haveNetsh) return skipped(r, "no netsh capture given (--netsh)");
    DefaultCertificateFindings f;
    for (std::uint16_t port : m.judgedPorts())
        for (const Bound* ip : m.ipPortsOn(port)) judgeDefault(m, *ip, f);
    if (f.bad.empty() && f.differs.empty() && f.good.empty() && f.unknown.empty())
        return skipped(r, "no IP:port binding on the published port(s) " +
                              portsText(m.judgedPorts()) + " (see lab.default-binding)" +
                              notJudgedText(m));
    if (f.bad.empty() && f.differs.empty() && f.good.empty())
        return skipped(r, join(f.unknown, "; ") + notJudgedText(m));
    r.verdict = !f.bad.empty() ? Verdict::Fail : !f.differs.empty() ? Verdict::Warn : Verdict::Pass;
    std::vector<std::string> all = f.bad;
    for (auto* list : {&f.differs, &f.good, &f.unknown})
        all.insert(all.end(), list->begin(), list->end());
    r.evidence = join(all, "; ") + notJudgedText(m);
    r.remedy = f.remedy;
    return r;
}

}  // namespace

std::vector<CheckResult> evaluateAudit(const AuditInput& input) {
    const Model m(input);
    std::vector<CheckResult> out;
    out.push_back(captureReadable(m));
    out.push_back(defaultBinding(m));
    out.push_back(defaultCertificate(m));
    out.push_back(passThrough(m));
    out.push_back(backendPort(m));
    out.push_back(owasUrl(m));
    out.push_back(wildcardUrls(m));
    out.push_back(applicationBindings(m));
    out.push_back(certificateNames(m));
    out.push_back(leftoverBindings(m));
    return out;
}

}  // namespace edgelab::audit

namespace edgelab::audit {

void readNetshCapture(AuditInput& in, std::string_view bytes, const std::string& source) {
    const auto text = proxy::normaliseCapture(bytes);
    in.netshSource = source;
    in.netsh = proxy::parseNetshText(text.utf8);
    std::string how = text.describe();
    if (!in.netsh->languages.empty()) how += "; labels in " + join(in.netsh->languages, ", ");
    if (in.netsh->readByShape) how += "; some fields read by their values' shape";
    in.netshEncoding = how;
    if (!in.netsh->entries.empty()) return;
    // Nothing read: an empty capture passes nothing, and a file of other
    // text is not a capture.
    throw CaptureError("--netsh " + source + ": nothing to audit: no binding read (" + how + ")" +
                       (in.netsh->problems.empty()
                            ? "; capture with `netsh http show sslcert > sslcert.txt` on "
                              "the proxy"
                            : "; " + in.netsh->problems.front().str()));
}

void readWapCapture(AuditInput& in, std::string_view bytes, const std::string& source) {
    const auto text = proxy::normaliseCapture(bytes);
    in.wapSource = source;
    if (text.lines == 0) {
        // ConvertTo-Json prints nothing at all for a proxy with no application.
        in.applications.emplace();
        in.wapFormat = "an empty capture, as ConvertTo-Json prints none (" + text.describe() + ")";
        return;
    }
    auto capture = parseWapCapture(text.utf8, source);
    in.applications = std::move(capture.applications);
    in.wapFormat = capture.format + ", " + text.encoding;
    in.wapNotes = std::move(capture.notes);
}

}  // namespace edgelab::audit
