// Root causes: which check's failure explains a probe that got no answer,
// and the pass that reports the checks such a failure leaves unjudged as
// BLOCKED by it (one cause, one failure, one remedy).
#include <algorithm>
#include <map>

#include "checks/catalogue.hpp"
#include "checks/support.hpp"

namespace edgelab::checks {

std::vector<CheckId> prerequisitesOf(const HttpExchange& x) {
    auto host = [&] {
        auto u = support::parseUrl(x.url);
        return u ? u->host : std::string();
    };
    switch (x.transport) {
        case TransportError::Unresolved:
            return {check::reachResolve()};
        case TransportError::Refused:
            return {check::reachConnect()};
        case TransportError::ConnectTimeout:
            // Also a request queued behind connections to a server that
            // never answers: it times out before it has a connection.
            return {check::reachConnect(), check::reachAnswer()};
        case TransportError::Timeout:
            return {check::reachAnswer()};
        case TransportError::TlsHandshake:
            return {check::tlsSni(host())};
        case TransportError::CertificateRejected:
            // libcurl verifies trust, the chain and the name in one step; the
            // handshake checks tell which of them failed.
            return {check::tlsTrust(), check::tlsChain(host()), check::tlsSni(host())};
        case TransportError::None:
        case TransportError::Other:
            break;
    }
    return {};
}

std::vector<CheckId> prerequisitesOf(const TlsHandshake& h) {
    if (h.profile == "backend") return {};  // the backends are not the target
    switch (h.outcome) {
        case HandshakeOutcome::Unresolved:
            return {check::reachResolve()};
        case HandshakeOutcome::Refused:
            return {check::reachConnect()};
        case HandshakeOutcome::Timeout:
            return {h.connected ? check::reachAnswer() : check::reachConnect()};
        case HandshakeOutcome::OtherError:
            if (!h.connected) return {check::reachConnect()};
            break;
        case HandshakeOutcome::Ok:
        case HandshakeOutcome::Reset:
        case HandshakeOutcome::Alert:
            break;
    }
    // A handshake with SNI that failed is its own check's failure; what else
    // reads it is blocked by that check.
    if (h.outcome != HandshakeOutcome::Ok && h.sni && h.profile == "sni")
        return {check::tlsSni(*h.sni)};
    return {};
}

namespace {

// A 5xx from the proxy may be its backend's doing: the backend.up check of
// the backend behind the host says whether it is.
std::vector<CheckId> backendPrerequisite(const provision::Lab& lab, const HttpExchange& x) {
    if (x.status < 500 || x.status > 599) return {};
    auto u = support::parseUrl(x.url);
    if (!u) return {};
    std::string key = backendKeyFor(lab, u->host);
    if (key.empty()) return {};
    return {check::backendUp(key)};
}

std::vector<CheckId> prerequisitesFromProbes(const CheckDefinition& d, const Evidence& ev,
                                             const provision::Lab& lab) {
    std::vector<CheckId> out;
    auto add = [&](const std::vector<CheckId>& ids) {
        for (auto& id : ids)
            if (id != d.id && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    };
    for (auto& p : d.probes) {
        if (auto* x = ev.exchange(p)) {
            add(prerequisitesOf(*x));
            add(backendPrerequisite(lab, *x));
        }
        if (auto* h = ev.handshake(p)) add(prerequisitesOf(*h));
        // A sign-in stops at its first unanswered step: that step says why.
        if (auto* f = ev.flow(p); f && !f->steps.empty()) {
            add(prerequisitesOf(f->steps.back().exchange));
            add(backendPrerequisite(lab, f->steps.back().exchange));
        }
    }
    return out;
}

// The root of a result's chain of failed prerequisites, or "" when none of
// its prerequisites failed.
class Blocker {
  public:
    explicit Blocker(std::vector<CheckResult>& results) : results_(results) {
        for (std::size_t i = 0; i < results.size(); ++i) index_[results[i].id] = i;
    }

    std::string rootOf(std::size_t i) {
        if (auto it = memo_.find(i); it != memo_.end()) return it->second;
        memo_[i] = "";  // a cycle ends here
        const CheckResult& r = results_[i];
        std::string root;
        if (r.verdict == Verdict::Fail || r.verdict == Verdict::Skip)
            for (auto& p : r.prerequisites) {
                auto it = index_.find(p.str());
                if (it == index_.end()) continue;  // not selected in this run
                const CheckResult& pre = results_[it->second];
                if (pre.verdict != Verdict::Fail && pre.verdict != Verdict::Skip) continue;
                std::string above = rootOf(it->second);
                if (!above.empty()) {
                    root = above;
                    break;
                }
                if (pre.verdict == Verdict::Fail) {
                    root = pre.id;
                    break;
                }
            }
        memo_[i] = root;
        return root;
    }

  private:
    std::vector<CheckResult>& results_;
    std::map<std::string, std::size_t> index_;
    std::map<std::size_t, std::string> memo_;
};

}  // namespace

std::vector<CheckResult> evaluateAll(const std::vector<CheckDefinition>& checks, const Evidence& ev,
                                     const CheckContext& ctx) {
    std::vector<CheckResult> out;
    for (auto& c : checks) {
        CheckResult r;
        try {
            r = c.evaluate(ev, ctx);
        } catch (const std::exception& e) {
            // A bug in one check (a remedy text missing from the table, say)
            // must not take the others' results with it: it cannot judge.
            r = support::result(
                c, Verdict::Skip,
                std::string("edgelab could not judge this check (a bug in edgelab: ") + e.what() +
                    ")",
                "");
        }
        double ms = 0;
        for (auto& p : c.probes) {
            if (auto* x = ev.exchange(p)) ms = std::max(ms, x->timings.totalMs);
            if (auto* h = ev.handshake(p)) ms = std::max(ms, h->durationMs);
            if (auto* f = ev.flow(p)) {
                double total = 0;
                for (auto& step : f->steps) total += step.seconds * 1000.0;
                ms = std::max(ms, total);
            }
        }
        r.seconds = ms / 1000.0;
        if (!c.rootCause && r.prerequisites.empty())
            r.prerequisites = prerequisitesFromProbes(c, ev, ctx.lab);
        out.push_back(std::move(r));
    }
    // Roots are found on the verdicts as evaluated, then applied together.
    Blocker blocker(out);
    std::vector<std::string> roots;
    for (std::size_t i = 0; i < out.size(); ++i) roots.push_back(blocker.rootOf(i));
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (roots[i].empty()) continue;
        out[i].verdict = Verdict::Blocked;
        out[i].blockedBy = roots[i];
        out[i].remedy.clear();
    }
    return out;
}

bool unreachable(const std::vector<CheckResult>& results) {
    return std::any_of(results.begin(), results.end(), [](const CheckResult& r) {
        return r.verdict == Verdict::Fail &&
               (r.id == check::reachResolve().str() || r.id == check::reachConnect().str() ||
                r.id == check::reachAnswer().str());
    });
}

}  // namespace edgelab::checks
