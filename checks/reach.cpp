// Reach: the root causes below every other check. A name that does not
// resolve, an address that refuses the connection and a server that accepts
// but never answers are each one failure here, with the remedy; the checks
// that could not be judged because of them are BLOCKED (root_causes.cpp).
#include <map>
#include <set>

#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

namespace {

// The handshakes with SNI, one per public name: the target as clients meet it.
std::vector<const TlsHandshake*> sniHandshakes(const CheckDefinition& d, const Evidence& ev) {
    std::vector<const TlsHandshake*> out;
    for (auto& p : d.probes)
        if (auto* h = ev.handshake(p)) out.push_back(h);
    return out;
}

// "ADDR:PORT (name, name)" for each address, in first-seen order.
std::string byAddress(const std::vector<const TlsHandshake*>& hs) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::string>> names;
    for (auto* h : hs) {
        if (!names.count(h->address)) order.push_back(h->address);
        names[h->address].push_back(h->sni.value_or("?"));
    }
    std::vector<std::string> parts;
    for (auto& a : order) parts.push_back(a + " (" + join(names[a], ", ") + ")");
    return join(parts, "; ");
}

CheckDefinition reachCheck(const Lab& lab, CheckId id, std::string title) {
    CheckDefinition d{std::move(id), std::move(title), lab.domain, {}, {}};
    for (auto& n : publicNames(lab)) d.probes.push_back(probe::tlsSni(n));
    d.rootCause = true;
    return d;
}

}  // namespace

CheckDefinition resolveCheck(const Lab& lab) {
    auto d = reachCheck(lab, check::reachResolve(), "Every public name resolves to an address");
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        auto hs = sniHandshakes(d, ev);
        if (hs.empty()) return result(d, Verdict::Skip, "no handshake gathered");
        std::vector<std::string> failed;
        for (auto* h : hs)
            if (h->outcome == HandshakeOutcome::Unresolved)
                failed.push_back(h->sni.value_or("?") + " (" + h->detail + ")");
        const bool pinned = !ctx.target.connectTo.empty();
        if (failed.empty())
            return result(d, Verdict::Pass,
                          std::to_string(hs.size()) + " public names resolve" +
                              (pinned ? " (through --connect-to)" : " (system resolver)"));
        return result(d, Verdict::Fail,
                      std::to_string(failed.size()) + " of " + std::to_string(hs.size()) +
                          " public names do not resolve: " + join(failed, "; "),
                      remedyText(d.id.str(), pinned ? "connect-to" : ""));
    };
    return d;
}

CheckDefinition connectCheck(const Lab& lab) {
    auto d = reachCheck(lab, check::reachConnect(), "The proxy accepts TCP connections on 443");
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        std::vector<const TlsHandshake*> tried, refused;
        for (auto* h : sniHandshakes(d, ev)) {
            if (h->outcome == HandshakeOutcome::Unresolved) continue;
            tried.push_back(h);
            if (!h->connected) refused.push_back(h);
        }
        if (tried.empty()) {
            auto r = result(d, Verdict::Skip, "no public name resolved");
            r.prerequisites = {check::reachResolve()};
            return r;
        }
        if (refused.empty())
            return result(d, Verdict::Pass, "connections accepted by " + byAddress(tried));
        std::string why = refused.front()->detail;
        return result(d, Verdict::Fail, "no TCP connection to " + byAddress(refused) + ": " + why,
                      remedyText(d.id.str()));
    };
    return d;
}

CheckDefinition answerCheck(const Lab& lab) {
    auto d = reachCheck(lab, check::reachAnswer(), "The proxy answers a TLS ClientHello in time");
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        std::vector<const TlsHandshake*> connected, silent;
        for (auto* h : sniHandshakes(d, ev)) {
            if (!h->connected) continue;
            connected.push_back(h);
            if (h->outcome == HandshakeOutcome::Timeout) silent.push_back(h);
        }
        if (connected.empty()) {
            auto r = result(d, Verdict::Skip, "no TCP connection was made");
            r.prerequisites = {check::reachConnect(), check::reachResolve()};
            return r;
        }
        if (silent.empty())
            return result(d, Verdict::Pass, "TLS answered by " + byAddress(connected));
        return result(d, Verdict::Fail,
                      byAddress(silent) +
                          " accepted the connection but did not answer: " + silent.front()->detail,
                      remedyText(d.id.str()));
    };
    return d;
}

}  // namespace edgelab::checks::family
