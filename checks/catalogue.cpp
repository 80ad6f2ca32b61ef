// The registry and the planner: every check of every family in report
// order, the selection by --only/--skip, and the probes the selected checks
// read.
#include "checks/catalogue.hpp"

#include "checks/signin.hpp"

#include <algorithm>
#include <set>

#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"
#include "common/matching.hpp"

namespace edgelab::checks {

namespace {

std::string sipUser(const provision::Lab& lab) { return "edgelab@" + lab.domain; }

std::vector<HttpProbe> httpProbes(const provision::Lab& lab) {
    const auto& n = lab.names;
    std::vector<HttpProbe> p;
    p.push_back(
        {probe::lyncdiscoverJson(), "https://" + n.lyncdiscover + "/?sipuri=" + sipUser(lab), {}});
    p.push_back({probe::lyncdiscoverXml(),
                 "https://" + n.lyncdiscover + "/?sipuri=" + sipUser(lab),
                 {{"Accept", "application/vnd.microsoft.rtc.autodiscover+xml;v=1"}}});
    for (auto& w : webServicesPaths())
        p.push_back({probe::webServices(slug(w.path)), "https://" + n.webServices + w.path, {}});
    p.push_back(
        {probe::oauthUser(),
         "https://" + n.webServices + "/Autodiscover/AutodiscoverService.svc/root/oauth/user",
         {}});
    p.push_back({probe::meetJoin(), "https://" + n.meet + "/edgelab/EDGELAB1", {}});
    p.push_back({probe::meetUser(), "https://" + n.meet + "/edgelab", {}});
    p.push_back({probe::dialin(), "https://" + n.dialin + "/", {}});
    p.push_back({probe::owasDiscovery(), "https://" + n.owas + "/hosting/discovery", {}});
    // WopiSrc as Lync sends it: the WOPI URL percent-encoded twice (docs/design.md, Office Web
    // Apps).
    const std::string wopiSrc =
        "https%253A%252F%252F" + n.webServices + "%252Fwopi%252Ffiles%252Fedgelab";
    p.push_back({probe::owasPresenter(),
                 "https://" + n.owas + "/m/Presenter.aspx?a=0&WopiSrc=" + wopiSrc,
                 {}});
    p.push_back({probe::owasParticipant(),
                 "https://" + n.owas + "/m/ParticipantFrame.aspx?a=0&WopiSrc=" + wopiSrc,
                 {}});
    p.push_back({probe::owasWopiSrc(),
                 "https://" + n.owas + "/m/Presenter.aspx?WopiSrc=" + wopiSrc + "&edgelab=wopisrc",
                 {}});
    return p;
}

std::vector<ProbeId> idsOf(const std::vector<HttpProbe>& probes) {
    std::vector<ProbeId> ids;
    for (auto& p : probes) ids.push_back(p.id);
    return ids;
}
}  // namespace

std::string to_string(HandshakeOutcome o) {
    switch (o) {
        case HandshakeOutcome::Ok:
            return "ok";
        case HandshakeOutcome::Reset:
            return "reset";
        case HandshakeOutcome::Alert:
            return "alert";
        case HandshakeOutcome::Timeout:
            return "timeout";
        case HandshakeOutcome::Refused:
            return "refused";
        case HandshakeOutcome::Unresolved:
            return "unresolved";
        case HandshakeOutcome::OtherError:
            return "error";
    }
    return "?";
}

std::vector<std::string> publicNames(const provision::Lab& lab) {
    std::vector<std::string> all;
    for (auto* n : {&lab.names.webServices, &lab.names.meet, &lab.names.dialin,
                    &lab.names.lyncdiscover, &lab.names.owas})
        if (!n->empty()) all.push_back(asciiLower(*n));
    // Names published beside the five, such as a second pool's web services.
    for (const auto& a : lab.applications) {
        const std::string host = asciiLower(a.externalUrl.host);
        if (!host.empty() && std::find(all.begin(), all.end(), host) == all.end())
            all.push_back(host);
    }
    return all;
}

std::vector<CheckDefinition> catalogue(const provision::Lab& lab, const Target& target) {
    std::vector<CheckDefinition> all;
    all.push_back(family::resolveCheck(lab));
    all.push_back(family::connectCheck(lab));
    all.push_back(family::answerCheck(lab));
    all.push_back(family::trustCheck(lab));
    for (auto& n : publicNames(lab)) all.push_back(family::sniCheck(n));
    for (auto& n : publicNames(lab)) all.push_back(family::chainCheck(n));
    if (std::any_of(lab.clients.begin(), lab.clients.end(), [](auto& c) { return !c.sendsSni; }))
        all.push_back(family::defaultBindingCheck(lab));
    for (auto& c : lab.clients)
        if (!c.sendsSni) all.push_back(family::noSniCheck(lab, c));
    for (auto& c : family::backendUpChecks(lab, target, httpProbes(lab)))
        all.push_back(std::move(c));
    all.push_back(family::lyncdiscoverCheck(lab));
    for (auto& w : webServicesPaths()) all.push_back(family::webServicesCheck(lab, w));
    all.push_back(family::authCheck(lab));
    all.push_back(family::simpleUrlCheck(lab, check::meet(), lab.names.meet,
                                         {probe::meetJoin(), probe::meetUser()}));
    all.push_back(
        family::simpleUrlCheck(lab, check::dialin(), lab.names.dialin, {probe::dialin()}));
    all.push_back(family::owasNamesCheck(lab));
    all.push_back(family::owasWopiSrcCheck(lab));
    all.push_back(family::longPollCheck(lab, target));
    for (auto& c : signInChecks(lab, target)) all.push_back(std::move(c));
    all.push_back(family::headersCheck(lab, idsOf(httpProbes(lab))));
    all.push_back(family::backendCertCheck(lab, target));
    return all;
}

std::string familyOf(std::string_view id) {
    auto starts = [&](std::string_view p) { return id.substr(0, p.size()) == p; };
    if (starts("reach.") || starts("backend.up.")) return "Reach";
    if (starts("tls.") || starts("backend.")) return "TLS";
    if (id == "lyncdiscover") return "Lyncdiscover";
    if (starts("webservices.") || starts("auth.") || id == "meet" || id == "dialin")
        return "Web services";
    if (starts("signin.") || starts("sign-in.")) return "Sign-in";
    if (starts("owas.")) return "OWAS";
    if (starts("headers.")) return "Headers";
    if (starts("lab.") || starts("disk.") || id == "expectations") return "Lab rules";
    return "Other";
}

const std::vector<std::string>& familyOrder() {
    static const std::vector<std::string> order{"Reach",        "TLS",       "Lyncdiscover",
                                                "Web services", "Sign-in",   "OWAS",
                                                "Headers",      "Lab rules", "Other"};
    return order;
}

std::vector<CheckDefinition> selectChecks(std::vector<CheckDefinition> all,
                                          const std::vector<std::string>& only,
                                          const std::vector<std::string>& skip) {
    std::vector<CheckDefinition> out;
    for (auto& d : all) {
        auto match = [&](const std::string& g) { return globMatches(g, d.id.str()); };
        if (!only.empty() && std::none_of(only.begin(), only.end(), match)) continue;
        if (std::any_of(skip.begin(), skip.end(), match)) continue;
        out.push_back(std::move(d));
    }
    return out;
}

ProbePlan planProbes(const provision::Lab& lab, const Target& target,
                     const std::vector<CheckDefinition>& checks) {
    std::set<ProbeId> wanted;
    for (auto& c : checks) wanted.insert(c.probes.begin(), c.probes.end());
    // The no-SNI remedy quotes the certificate served for the web services name.
    bool noSni = std::any_of(checks.begin(), checks.end(),
                             [](auto& c) { return c.id.str().rfind("tls.no-sni.", 0) == 0; });
    if (noSni) wanted.insert(probe::tlsSni(lab.names.webServices));

    ProbePlan plan;
    for (auto& p : httpProbes(lab))
        if (wanted.count(p.id)) plan.http.push_back(p);
    for (auto& n : publicNames(lab)) {
        HandshakeProbe h;
        h.id = probe::tlsSni(n);
        h.host = n;
        h.sni = n;
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    for (auto& c : lab.clients) {
        if (c.sendsSni) continue;
        HandshakeProbe h;
        h.id = probe::tlsNoSni(c.name);
        h.host = c.names.empty() ? lab.names.webServices : c.names.front();
        h.profile = c.name;
        h.minTls = c.minTls;
        h.maxTls = c.maxTls;
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    for (auto& p : signInProbes(lab, target))
        if (wanted.count(p.id)) plan.signin.push_back(p);
    for (auto& b : lab.backends) {
        auto it = target.backendAddresses.find(b.name);
        if (it == target.backendAddresses.end()) continue;
        HandshakeProbe h;
        h.id = probe::tlsBackend(b.name);
        h.host = b.host;
        h.port = b.port;
        h.address = it->second;
        h.sni = b.serves.empty() ? b.host : b.serves.front();
        h.profile = "backend";
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    return plan;
}

}  // namespace edgelab::checks