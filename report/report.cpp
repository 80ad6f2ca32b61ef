#include "report/report.hpp"

#include <algorithm>
#include <ctime>
#include <set>

#include "common/ascii.hpp"
#include "common/matching.hpp"

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
                if (isExpected(r, x)) ++c.expected;
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

bool isExpected(const Report& r, const checks::CheckResult& x) {
    if (x.verdict != Verdict::Fail) return false;
    return std::any_of(r.expectFail.begin(), r.expectFail.end(),
                       [&](const std::string& g) { return globMatches(g, x.id); });
}

std::string outcomeOf(const Report& r) {
    Counts c = countOf(r);
    if (r.expectationsMet) {
        if (!*r.expectationsMet) return "failed";
        return c.failed == 0 ? "passed" : "failed-as-expected";
    }
    if (c.failed == 0) return "passed";
    return c.failed == c.expected ? "failed-as-expected" : "failed";
}

ReportSections sectionsOf(const Report& r) {
    ReportSections s;
    for (bool expected : {false, true})
        for (auto& x : r.results)
            if (x.verdict == Verdict::Fail && isExpected(r, x) == expected)
                s.failures.push_back(&x);
    for (auto& family : checks::familyOrder()) {
        std::vector<const checks::CheckResult*> members;
        for (auto& x : r.results)
            if (x.verdict != Verdict::Fail && checks::familyOf(x.id) == family)
                members.push_back(&x);
        if (!members.empty()) s.families.emplace_back(family, std::move(members));
    }
    return s;
}

std::size_t blockedBy(const Report& r, const std::string& id) {
    return static_cast<std::size_t>(std::count_if(r.results.begin(), r.results.end(), [&](auto& x) {
        return x.verdict == Verdict::Blocked && x.blockedBy == id;
    }));
}

std::string fixesLine(const Report& r) {
    std::vector<const checks::CheckResult*> fixes;
    std::size_t following = 0;
    for (auto& x : r.results)
        // The expectations' own result judges the others; it is no fix.
        if (x.verdict == Verdict::Fail && !isExpected(r, x) && x.id != "expectations") {
            fixes.push_back(&x);
            following += blockedBy(r, x.id);
        }
    if (fixes.empty()) return "the lab's expectations are not met";
    auto follow = [](std::size_t n, const char* what) {
        return std::to_string(n) + (n == 1 ? " check follows from " : " checks follow from ") +
               what;
    };
    if (fixes.size() == 1) {
        std::string line = "1 fix: " + fixes[0]->id;
        if (following) line += " \u2014 " + follow(following, "it");
        return line;
    }
    std::string line = std::to_string(fixes.size()) + " fixes: ";
    for (std::size_t i = 0; i < fixes.size(); ++i) {
        if (i) line += ", ";
        if (i == 6) return line + "and " + std::to_string(fixes.size() - i) + " more";
        line += fixes[i]->id;
        if (auto n = blockedBy(r, fixes[i]->id)) line += " (" + follow(n, "it") + ")";
    }
    return line;
}

namespace {

const provision::Backend* backendFor(const provision::Lab& lab, const std::string& host) {
    for (auto& b : lab.backends) {
        if (iequals(b.host, host)) return &b;
        for (auto& s : b.serves)
            if (iequals(s, host)) return &b;
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
    // Exactly the bindings that exist: the IP:port binding only when the lab
    // sets one (a client without SNI then has no edge: nothing answers it).
    const bool defaultBinding = lab.defaultBinding.has_value();
    const std::string ipport = defaultBinding ? lab.defaultBinding->ipport : "";
    if (defaultBinding) d.nodes.push_back({"binding:" + ipport, ipport + " (default)", "binding"});
    for (auto& a : lab.applications) d.nodes.push_back({"app:" + a.name, a.name, "application"});
    for (auto& b : lab.backends)
        d.nodes.push_back({"backend:" + b.name, b.host + ":" + std::to_string(b.port), "backend"});

    for (auto& c : lab.clients) {
        std::vector<std::string> cn = c.names.empty() ? names : c.names;
        if (c.sendsSni) {
            for (auto& n : cn)
                d.edges.push_back({"client:" + c.name,
                                   "binding:" + asciiLower(n),
                                   {checks::check::tlsSni(asciiLower(n)).str(),
                                    checks::check::tlsChain(asciiLower(n)).str()}});
        } else if (defaultBinding) {
            d.edges.push_back(
                {"client:" + c.name, "binding:" + ipport, {checks::check::tlsNoSni(c.name).str()}});
        }
    }
    for (auto& a : lab.applications) {
        std::string host = asciiLower(a.externalUrl.host);
        auto globs = checksForName(lab, host);
        d.edges.push_back({"binding:" + host, "app:" + a.name, globs});
        if (defaultBinding) d.edges.push_back({"binding:" + ipport, "app:" + a.name, globs});
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
            if (globMatches(g, res.id) && rank(res.verdict) > rank(worst)) worst = res.verdict;
    return worst;
}

}  // namespace edgelab::report
