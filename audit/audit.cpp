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

// S6: a port with Hostname:port bindings needs an IP:port binding, or
// clients without SNI are reset.
CheckResult defaultBinding(const Model& m) {
    auto r = passing("lab.default-binding",
                     "S6: an IP:port (default) binding serves clients without SNI", "0.0.0.0:443");
    if (!m.haveNetsh) return skipped(r, "no netsh capture given (--netsh)");
    std::vector<std::string> missing, fixes, present;
    for (std::uint16_t port : m.hostnamePorts()) {
        if (const Bound* ip = m.ipPortOn(port)) {
            present.push_back("IP:port " + ip->host + ":" + std::to_string(port));
            continue;
        }
        missing.push_back("no IP:port binding on port " + std::to_string(port) + " (" +
                          std::to_string(m.hostnamesOn(port).size()) +
                          " Hostname:port bindings): clients without SNI are reset");
        const Bound* source = m.webServicesBinding(port);
        if (!source) source = m.hostnamesOn(port).front();
        fixes.push_back(addSslcert("ipport", "0.0.0.0:" + std::to_string(port), *source) +
                        "   (hash and appid of the Hostname:port binding " + source->host + ":" +
                        std::to_string(port) + ", as Set-DefaultCertificate copies them)");
    }
    if (missing.empty() && present.empty())
        return skipped(r, "no Hostname:port binding in the netsh capture");
    if (missing.empty()) {
        r.evidence = join(present, "; ") + " serves clients without SNI";
        return r;
    }
    r.verdict = Verdict::Fail;
    r.evidence = join(missing, "; ");
    r.remedy = join(fixes, "\n");
    return r;
}

// A default binding whose certificate is not the web services one, or does
// not carry the names clients without SNI ask for.
CheckResult defaultCertificate(const Model& m) {
    auto r = passing("audit.default-certificate",
                     "the IP:port binding's certificate covers the names clients without SNI use",
                     join(m.noSniNames(), ", "));
    if (!m.haveNetsh) return skipped(r, "no netsh capture given (--netsh)");
    std::vector<std::string> bad, differs, good;
    for (const Bound* ip : m.ipPortBindings()) {
        const Bound* ws = m.webServicesBinding(ip->port);
        const std::string key = ip->key();
        const AuditCertificate* cert = m.certificate(ip->hash);
        std::vector<std::string> uncovered;
        if (cert)
            for (const auto& name : m.noSniNames())
                if (!covers(*cert, name)) uncovered.push_back(name);
        const bool sameAsWs = !ws || ws->hash == ip->hash;
        if (!uncovered.empty())
            bad.push_back("IP:port " + key + " has certificate " + ip->hash + " (" + cert->source +
                          ") without " + join(uncovered, ", "));
        else if (!sameAsWs)
            differs.push_back("IP:port " + key + " has certificate " + ip->hash +
                              ", the web services binding " + ws->hash +
                              (cert ? " (it covers " + join(m.noSniNames(), ", ") + ")"
                                    : " (give it with --cert to check its names)"));
        else
            good.push_back("IP:port " + key + " has the web services certificate");
        if (ws && (!uncovered.empty() || !sameAsWs))
            r.remedy += (r.remedy.empty() ? "" : "\n") +
                        ("netsh http delete sslcert ipport=" + key + "\n") +
                        addSslcert("ipport", key, *ws);
    }
    if (bad.empty() && differs.empty() && good.empty())
        return skipped(r, "no IP:port binding (see lab.default-binding)");
    r.verdict = !bad.empty() ? Verdict::Fail : !differs.empty() ? Verdict::Warn : Verdict::Pass;
    std::vector<std::string> all = bad;
    all.insert(all.end(), differs.begin(), differs.end());
    all.insert(all.end(), good.begin(), good.end());
    r.evidence = join(all, "; ");
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
    out.push_back(applicationBindings(m));
    out.push_back(certificateNames(m));
    out.push_back(leftoverBindings(m));
    return out;
}

}  // namespace edgelab::audit
