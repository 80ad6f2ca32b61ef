// Backends: one root cause per backend. A backend that is down, refuses,
// resets or answers only 5xx makes every check that reads its applications
// fail for the same reason; here it is one failure with the remedy that fits
// (start or repair that server), and those checks are BLOCKED by it
// (root_causes.cpp). In a lab the evidence is the supervisor's record and a
// direct handshake with the backend; on a real site, the proxy's answers:
// 502, 503 or 504 to every request for an application.
#include <set>

#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"

namespace edgelab::checks {

std::string backendKeyFor(const provision::Lab& lab, std::string_view publicHost) {
    for (auto& a : lab.applications) {
        if (!iequals(a.externalUrl.host, publicHost)) continue;
        if (a.hasBackendServerUrl())
            if (auto* b = support::backendFor(lab, a.backendServerUrl.host)) return b->name;
        if (lab.backends.empty()) return asciiLower(publicHost);
    }
    if (auto* b = support::backendFor(lab, publicHost)) return b->name;
    return "";
}

namespace family {

using namespace support;
using provision::Lab;

namespace {

bool gatewayStatus(long status) { return status >= 500 && status <= 599; }

// What a backend that does not answer needs, as its role and the mode say.
std::string remedyFor(const CheckDefinition& d, const Lab& lab, const std::string& key,
                      bool labMode) {
    const provision::Backend* b = nullptr;
    for (auto& x : lab.backends)
        if (x.name == key) b = &x;
    const bool owas = b ? b->role == provision::BackendRole::Owas : iequals(key, lab.names.owas);
    const std::string host = b ? b->host + ":" + std::to_string(b->port) : key;
    const std::string id = d.id.str();
    const std::string restart = remedyText(id, owas ? "restart-owas" : "restart-lync");
    const std::string start =
        labMode ? remedyText(id, "in-lab", {{"restart", restart}})
                : remedyText(id, "on-site", {{"backend", key}, {"restart", restart}});
    return remedyText(id, "",
                      {{"start", start},
                       {"host", host.substr(0, host.rfind(':'))},
                       {"port", b ? std::to_string(b->port) : std::string(owas ? "443" : "4443")}});
}

struct ProxyAnswers {
    std::size_t answered = 0, gateway = 0;
    std::set<long> statuses;
    std::set<std::string> hosts;
};

ProxyAnswers proxyAnswers(const CheckDefinition& d, const Evidence& ev) {
    ProxyAnswers a;
    for (auto& p : d.probes) {
        auto* x = ev.exchange(p);
        if (!x || x->status == 0) continue;
        ++a.answered;
        if (!gatewayStatus(x->status)) continue;
        ++a.gateway;
        a.statuses.insert(x->status);
        if (auto u = parseUrl(x->url)) a.hosts.insert(u->host);
    }
    return a;
}

std::string statusList(const std::set<long>& statuses) {
    std::vector<std::string> s;
    for (long v : statuses) s.push_back(std::to_string(v));
    return join(s, "/");
}

CheckResult evaluateBackendUp(const CheckDefinition& d, const std::string& key, const Evidence& ev,
                              const CheckContext& ctx) {
    const bool labMode = ctx.target.backendAddresses.count(key) > 0;
    const std::string remedy = remedyFor(d, ctx.lab, key, labMode);
    if (auto down = ctx.target.backendsDown.find(key); down != ctx.target.backendsDown.end())
        return result(d, Verdict::Fail, key + " is down: " + down->second, remedy);
    auto* h = ev.handshake(probe::tlsBackend(key));
    // An alert is a server that speaks TLS: its certificate is another check's.
    if (h && h->outcome != HandshakeOutcome::Ok && h->outcome != HandshakeOutcome::Alert)
        return result(d, Verdict::Fail, key + " (" + h->address + "): " + outcomeText(*h), remedy);
    ProxyAnswers a = proxyAnswers(d, ev);
    // A backend that completed a handshake here is up: a 502 from the proxy
    // then comes from what the proxy thinks of it (its certificate, see
    // backend.cert-public-names), not from a server that is down.
    const bool up = h && h->outcome == HandshakeOutcome::Ok;
    if (!up && a.answered > 0 && a.gateway == a.answered) {
        std::vector<std::string> hosts(a.hosts.begin(), a.hosts.end());
        return result(d, Verdict::Fail,
                      "the proxy answered " + statusList(a.statuses) + " to all " +
                          std::to_string(a.answered) + " requests for " + join(hosts, ", ") +
                          ": the backend is down, refuses, resets or fails",
                      remedy);
    }
    std::string seen = h ? key + " (" + h->address + ") answered a TLS handshake" : std::string();
    if (a.answered > 0)
        seen += (seen.empty() ? "" : "; ") + std::to_string(a.answered - a.gateway) + " of " +
                std::to_string(a.answered) + " answers through the proxy not 5xx";
    if (seen.empty()) {
        auto r = result(d, Verdict::Skip, "no answer through the proxy to judge it by");
        r.prerequisites = {check::reachResolve(), check::reachConnect(), check::reachAnswer()};
        return r;
    }
    return result(d, Verdict::Pass, seen);
}

}  // namespace

std::vector<CheckDefinition> backendUpChecks(const Lab& lab, const Target& target,
                                             const std::vector<HttpProbe>& http) {
    std::vector<std::string> keys;
    for (auto& b : lab.backends) keys.push_back(b.name);
    if (lab.backends.empty())
        for (auto& a : lab.applications) {
            auto key = backendKeyFor(lab, a.externalUrl.host);
            if (!key.empty() && std::find(keys.begin(), keys.end(), key) == keys.end())
                keys.push_back(key);
        }
    std::vector<CheckDefinition> out;
    for (auto& key : keys) {
        CheckDefinition d{check::backendUp(key),
                          "Backend " + key + " is up and answers through the proxy",
                          key,
                          {},
                          {}};
        if (target.backendAddresses.count(key)) d.probes.push_back(probe::tlsBackend(key));
        for (auto& p : http)
            if (auto u = parseUrl(p.url); u && backendKeyFor(lab, u->host) == key)
                d.probes.push_back(p.id);
        d.rootCause = true;
        d.evaluate = [d, key](const Evidence& ev, const CheckContext& ctx) {
            return evaluateBackendUp(d, key, ev, ctx);
        };
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace family

std::vector<std::string> backendsDown(const std::vector<CheckResult>& results) {
    std::vector<std::string> out;
    for (auto& r : results)
        if (r.verdict == Verdict::Fail && r.id.rfind("backend.up.", 0) == 0) out.push_back(r.id);
    return out;
}

}  // namespace edgelab::checks
