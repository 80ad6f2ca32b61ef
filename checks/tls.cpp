// TLS: the handshakes a client makes, with and without SNI, the chain the
// proxy sends, and the backends' certificates in lab mode.
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"
#include "common/netsh_command.hpp"
#include "common/utc_time.hpp"

#include <algorithm>

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

namespace {

// The certificate the proxy serves under SNI for the web services name: the
// one a default binding should copy, as the seed's Set-DefaultCertificate does.
std::string defaultBindingRemedy(const CheckDefinition& d, const provision::Lab& lab,
                                 const Evidence& ev) {
    std::string hash = "<thumbprint of the certificate bound to " + lab.names.webServices + ":443>";
    if (auto* h = ev.handshake(probe::tlsSni(lab.names.webServices));
        h && h->outcome == HandshakeOutcome::Ok && !h->chain.empty())
        hash = asciiLower(h->chain.front().thumbprint);
    // The lab command names the lab file, as `bindings` needs it (or
    // --store) to find the proxy's store.
    const std::string labFile =
        lab.sourceFile.empty() ? std::string("LAB.json") : lab.sourceFile.string();
    return remedyText(d.id.str(), "",
                      {{"webServices", lab.names.webServices},
                       {"command", sslcertAddFix(defaultBindingAdd(hash))},
                       {"labFile", labFile}});
}

// The chain as sent links each certificate to the next and ends at a root
// (self-signed) or at a certificate whose issuer is not among what was
// sent: when such a chain does not verify, the issuer at its top is not a
// trusted root. A lone leaf that does not verify lacks its intermediate.
bool endsAtUntrustedRoot(const std::vector<CertificateInfo>& chain) {
    if (chain.empty()) return false;
    for (std::size_t i = 0; i + 1 < chain.size(); ++i)
        if (chain[i].issuer != chain[i + 1].subject) return false;
    const auto& top = chain.back();
    return chain.size() >= 2 || top.subject == top.issuer;
}

// The remedy for a handshake that failed below TLS; the reach.* checks
// report the same cause once for the target.
std::string connectionRemedy(const CheckDefinition& d, const TlsHandshake& h) {
    switch (h.outcome) {
        case HandshakeOutcome::Unresolved:
            return remedyText(d.id.str(), "unresolved");
        case HandshakeOutcome::Refused:
            return remedyText(d.id.str(), "refused", {{"address", h.address}});
        case HandshakeOutcome::Timeout:
            return remedyText(d.id.str(), "timeout", {{"address", h.address}});
        default:
            return {};
    }
}

}  // namespace

CheckDefinition trustCheck(const provision::Lab& lab) {
    CheckDefinition d{
        check::tlsTrust(), "The chains sent end at a trusted root", lab.domain, {}, {}};
    for (auto& n : publicNames(lab)) d.probes.push_back(probe::tlsSni(n));
    d.rootCause = true;
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        std::vector<std::string> untrusted, names;
        std::vector<CheckId> prerequisites;
        const TlsHandshake* example = nullptr;
        std::size_t completed = 0;
        for (auto& p : d.probes) {
            auto* h = ev.handshake(p);
            if (!h) continue;
            if (h->outcome != HandshakeOutcome::Ok) {
                if (prerequisites.empty()) prerequisites = prerequisitesOf(*h);
                continue;
            }
            ++completed;
            if (h->chainVerifiedFromSentOnly || !endsAtUntrustedRoot(h->chain)) continue;
            names.push_back(h->sni.value_or("?"));
            if (!example) example = h;
        }
        if (completed == 0) {
            auto r = result(d, Verdict::Skip, "no completed handshake");
            r.prerequisites = prerequisites;
            return r;
        }
        const std::string roots = ctx.target.caFile ? "--cacert " + ctx.target.caFile->string()
                                                    : std::string("the system's trusted roots");
        if (!example)
            return result(d, Verdict::Pass,
                          "no chain ends at a root missing from " + roots +
                              " (incomplete chains: see tls.chain.*)");
        return result(d, Verdict::Fail,
                      "the chain sent for " + join(names, ", ") + " (" +
                          std::to_string(example->chain.size()) + " certificates, leaf " +
                          example->chain.front().subject + ") ends at " +
                          example->chain.back().issuer + ", which is not in " + roots + ": " +
                          example->verifyError,
                      remedyText(d.id.str()));
    };
    return d;
}

CheckDefinition sniCheck(const std::string& name) {
    CheckDefinition d{
        check::tlsSni(name), "TLS handshake with SNI " + name, name, {probe::tlsSni(name)}, {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        const std::string& name = d.ns;
        auto* h = ev.handshake(d.probes.front());
        const std::string remedy = remedyText(
            d.id.str(), "",
            {{"name", name}, {"command", sslcertAddFix(hostnameBindingAdd(name, "<thumbprint>"))}});
        if (!h) return result(d, Verdict::Skip, "no handshake gathered");
        if (h->outcome != HandshakeOutcome::Ok) {
            auto below = connectionRemedy(d, *h);
            return result(d, Verdict::Fail, h->address + " SNI " + name + ": " + outcomeText(*h),
                          below.empty() ? remedy : below);
        }
        if (h->chain.empty())
            return result(d, Verdict::Fail, "handshake completed without a certificate", remedy);
        auto& leaf = h->chain.front();
        std::string seen = h->protocol + " " + h->cipher + ", " + leafSummary(*h) + ", notAfter " +
                           utcDate(leaf.notAfter);
        if (!certificateCovers(leaf, name))
            return result(d, Verdict::Fail, "certificate does not cover " + name + ": " + seen,
                          remedy);
        if (leaf.notAfter <= ctx.now || leaf.notBefore > ctx.now)
            return result(d, Verdict::Fail, "certificate not in date: " + seen,
                          remedyText(d.id.str(), "expired"));
        if (leaf.notAfter - ctx.now < std::chrono::hours(24 * 30))
            return result(
                d, Verdict::Warn,
                "certificate expires in " + wholeDays(leaf.notAfter - ctx.now) + " days: " + seen,
                remedyText(d.id.str(), "expiring", {{"date", utcDate(leaf.notAfter)}}));
        return result(d, Verdict::Pass, seen);
    };
    return d;
}

CheckDefinition chainCheck(const std::string& name) {
    CheckDefinition d{check::tlsChain(name),
                      "Chain sent for " + name + " verifies without fetching intermediates",
                      name,
                      {probe::tlsSni(name)},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        auto* h = ev.handshake(d.probes.front());
        if (!h || h->outcome != HandshakeOutcome::Ok)
            return result(
                d, Verdict::Skip,
                "no completed handshake with SNI " + d.ns + " (see tls.sni." + d.ns + ")");
        std::string sent = std::to_string(h->chain.size()) + " certificate(s) sent";
        if (h->chainVerifiedFromSentOnly)
            return result(d, Verdict::Pass, sent + ", verified to the trusted root");
        if (endsAtUntrustedRoot(h->chain)) {
            // Nothing is missing from what was sent: the root is not trusted
            // here, which tls.trust reports once for every name.
            auto r = result(d, Verdict::Fail,
                            sent + ", complete up to " + h->chain.back().issuer +
                                ", which is not a trusted root: " + h->verifyError,
                            remedyText(d.id.str(), "untrusted-root"));
            r.prerequisites = {check::tlsTrust()};
            return r;
        }
        return result(d, Verdict::Fail,
                      sent + ", does not verify from what was sent: " + h->verifyError,
                      remedyText(d.id.str()));
    };
    return d;
}

CheckDefinition noSniCheck(const provision::Lab& lab, const provision::ClientProfile& c) {
    std::string ns = c.names.empty() ? lab.names.webServices : c.names.front();
    CheckDefinition d{
        check::tlsNoSni(c.name),
        "TLS handshake without SNI as " + c.name + " (TLS " + c.minTls + "-" + c.maxTls + ")",
        ns,
        {probe::tlsNoSni(c.name)},
        {}};
    std::vector<std::string> names = c.names.empty() ? std::vector{lab.names.webServices} : c.names;
    d.evaluate = [d, names](const Evidence& ev, const CheckContext& ctx) {
        auto* h = ev.handshake(d.probes.front());
        if (!h) return result(d, Verdict::Skip, "no handshake gathered");
        std::string remedy = defaultBindingRemedy(d, ctx.lab, ev);
        if (h->outcome == HandshakeOutcome::Reset) {
            auto r =
                result(d, Verdict::Fail,
                       h->address + " without SNI: connection reset on the ClientHello (" +
                           h->detail + "), no certificate presented: no default (IP:port) binding",
                       remedy);
            // When no profile is served, that is one cause (no binding at all).
            r.prerequisites = {check::defaultBinding()};
            return r;
        }
        if (h->outcome != HandshakeOutcome::Ok)
            return result(d, Verdict::Fail, h->address + " without SNI: " + outcomeText(*h),
                          remedy);
        if (h->chain.empty())
            return result(d, Verdict::Fail, "handshake completed without a certificate", remedy);
        std::vector<std::string> missing;
        for (auto& n : names)
            if (!certificateCovers(h->chain.front(), n)) missing.push_back(n);
        std::string seen = h->protocol + ", default certificate " + leafSummary(*h);
        if (!missing.empty())
            return result(d, Verdict::Fail, seen + " does not cover " + join(missing, ", "),
                          remedy);
        return result(d, Verdict::Pass, seen);
    };
    return d;
}

CheckDefinition defaultBindingCheck(const provision::Lab& lab) {
    CheckDefinition d{check::defaultBinding(),
                      "A certificate is served to clients without SNI (a default IP:port binding)",
                      lab.names.webServices,
                      {},
                      {}};
    for (auto& c : lab.clients)
        if (!c.sendsSni) d.probes.push_back(probe::tlsNoSni(c.name));
    d.rootCause = true;
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        std::size_t reset = 0, served = 0, seen = 0;
        for (auto& p : d.probes) {
            auto* h = ev.handshake(p);
            if (!h) continue;
            ++seen;
            reset += h->outcome == HandshakeOutcome::Reset;
            served += h->outcome == HandshakeOutcome::Ok && !h->chain.empty();
        }
        if (reset > 0 && served == 0)
            return result(d, Verdict::Fail,
                          "every handshake without SNI (" + std::to_string(seen) +
                              " client profiles) was reset on the ClientHello: no default "
                              "(IP:port) binding",
                          defaultBindingRemedy(d, ctx.lab, ev));
        if (served > 0)
            return result(d, Verdict::Pass,
                          std::to_string(served) + " of " + std::to_string(seen) +
                              " client profiles without SNI were served a certificate");
        auto r = result(d, Verdict::Skip, "no handshake without SNI was served or reset");
        r.prerequisites = {check::reachResolve(), check::reachConnect(), check::reachAnswer()};
        return r;
    };
    return d;
}

CheckDefinition backendCertCheck(const provision::Lab& lab, const Target& target) {
    CheckDefinition d{check::backendCertificates(),
                      "Backend certificates hold the public names they are published under",
                      lab.domain,
                      {},
                      {}};
    for (auto& b : lab.backends)
        if (target.backendAddresses.count(b.name)) d.probes.push_back(probe::tlsBackend(b.name));
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        if (d.probes.empty())
            return result(d, Verdict::Skip, "backend addresses not known (not lab mode)");
        std::vector<std::string> problems, seen, unjudged;
        std::vector<CheckId> down;
        for (auto& b : ctx.lab.backends) {
            auto* h = ev.handshake(probe::tlsBackend(b.name));
            if (!h) continue;
            if (h->outcome != HandshakeOutcome::Ok || h->chain.empty()) {
                // A backend that does not answer is backend.up's failure,
                // not its certificate's.
                unjudged.push_back(b.name + " (" + h->address + "): " + outcomeText(*h));
                down.push_back(check::backendUp(b.name));
                continue;
            }
            std::vector<std::string> missing;
            for (auto& s : b.serves)
                if (!certificateCovers(h->chain.front(), s)) missing.push_back(s);
            if (!missing.empty())
                problems.push_back(b.name + " certificate " + leafSummary(*h) + " lacks " +
                                   join(missing, ", "));
            else
                seen.push_back(b.name + " covers " +
                               (b.serves.empty() ? b.host : join(b.serves, ",")));
        }
        if (!problems.empty())
            return result(d, Verdict::Fail, join(problems, "; "), remedyText(d.id.str()));
        if (!unjudged.empty()) {
            auto r = result(d, Verdict::Skip, "not judged: " + join(unjudged, "; "));
            r.prerequisites = down;
            return r;
        }
        return result(d, Verdict::Pass, join(seen, "; "));
    };
    return d;
}

}  // namespace edgelab::checks::family

namespace edgelab::checks {

bool certificateCovers(const CertificateInfo& c, std::string_view name) {
    // The subjectAltName only, as the proxy routes (a 421 for a name its
    // certificate lacks).
    return dnsNamesCover(c.dnsNames, name);
}
}  // namespace edgelab::checks
