#include "scenarios/report/report.hpp"

#include <algorithm>
#include <ctime>
#include <set>

namespace edgelab::report {

using checks::Verdict;

Counts countOf(const Report& r) {
    Counts c;
    for (auto& x : r.results) {
        ++c.total;
        switch (x.verdict) {
            case Verdict::Pass:
                ++c.passed;
                break;
            case Verdict::Fail:
                ++c.failed;
                break;
            case Verdict::Skip:
                ++c.skipped;
                break;
            case Verdict::Warn:
                ++c.warned;
                break;
            case Verdict::Blocked:
                ++c.blocked;
                break;
        }
    }
    return c;
}

std::string isoTime(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

std::string lowerOf(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

const provision::Backend* backendFor(const provision::Lab& lab, const std::string& host) {
    for (auto& b : lab.backends) {
        if (lowerOf(b.host) == lowerOf(host)) return &b;
        for (auto& s : b.serves)
            if (lowerOf(s) == lowerOf(host)) return &b;
    }
    return nullptr;
}

// Checks that exercise an application published on a public name.
std::vector<std::string> checksForName(const provision::Lab& lab, const std::string& name) {
    const auto& n = lab.names;
    if (name == n.webServices)
        return {"webservices.*", checks::check::authPassThrough().str(),
                checks::check::headersTranslated().str()};
    if (name == n.lyncdiscover) return {checks::check::lyncdiscover().str()};
    if (name == n.meet)
        return {checks::check::meet().str(), checks::check::headersTranslated().str()};
    if (name == n.dialin) return {checks::check::dialin().str()};
    if (name == n.owas)
        return {checks::check::owasNoInternalNames().str(), checks::check::owasWopiSrc().str()};
    return {};
}

}  // namespace

LabDrawing drawingOf(const provision::Lab& lab) {
    LabDrawing d;
    std::vector<std::string> names = checks::publicNames(lab);
    for (auto& c : lab.clients)
        d.nodes.push_back({"client:" + c.name, c.name + (c.sendsSni ? "" : " (no SNI)"), "client"});
    for (auto& n : names) d.nodes.push_back({"binding:" + n, n + ":443", "binding"});
    bool noSniClients =
        std::any_of(lab.clients.begin(), lab.clients.end(), [](auto& c) { return !c.sendsSni; });
    std::string ipport = lab.defaultBinding ? lab.defaultBinding->ipport : "0.0.0.0:443";
    if (noSniClients) d.nodes.push_back({"binding:" + ipport, ipport + " (default)", "binding"});
    for (auto& a : lab.applications) d.nodes.push_back({"app:" + a.name, a.name, "application"});
    for (auto& b : lab.backends)
        d.nodes.push_back({"backend:" + b.name, b.host + ":" + std::to_string(b.port), "backend"});

    for (auto& c : lab.clients) {
        std::vector<std::string> cn = c.names.empty() ? names : c.names;
        if (c.sendsSni) {
            for (auto& n : cn)
                d.edges.push_back({"client:" + c.name,
                                   "binding:" + lowerOf(n),
                                   {checks::check::tlsSni(lowerOf(n)).str(),
                                    checks::check::tlsChain(lowerOf(n)).str()}});
        } else {
            d.edges.push_back(
                {"client:" + c.name, "binding:" + ipport, {checks::check::tlsNoSni(c.name).str()}});
        }
    }
    for (auto& a : lab.applications) {
        std::string host = lowerOf(a.externalUrl.host);
        auto globs = checksForName(lab, host);
        d.edges.push_back({"binding:" + host, "app:" + a.name, globs});
        if (noSniClients) d.edges.push_back({"binding:" + ipport, "app:" + a.name, globs});
        if (auto* b = backendFor(lab, a.backendServerUrl.host)) {
            std::vector<std::string> be{checks::check::backendCertificates().str()};
            if (b->role == provision::BackendRole::Owas)
                be.push_back(checks::check::owasUrlRule().str());
            else
                be.push_back(checks::check::longPoll().str());
            d.edges.push_back({"app:" + a.name, "backend:" + b->name, be});
        }
    }
    return d;
}

Verdict edgeVerdict(const Report& r, const DrawingEdge& e) {
    auto rank = [](Verdict v) {
        switch (v) {
            case Verdict::Fail:
                return 3;
            case Verdict::Warn:
                return 2;
            case Verdict::Pass:
                return 1;
            case Verdict::Skip:
                return 0;
            case Verdict::Blocked:
                return 3;  // the hop does not work, whatever the root cause
        }
        return 0;
    };
    Verdict worst = Verdict::Skip;
    for (auto& res : r.results)
        for (auto& g : e.checks)
            if (checks::globMatch(g, res.id) && rank(res.verdict) > rank(worst))
                worst = res.verdict;
    return worst;
}

}  // namespace edgelab::report
