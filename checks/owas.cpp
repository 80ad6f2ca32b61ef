// Office Web Apps Server: the pages it writes name public hosts only, and a
// double-encoded WopiSrc reaches it unchanged.
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"
#include "common/endpoint.hpp"

#include <regex>
#include <set>

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

namespace {

// Hosts in XML namespaces and schema references are names, not links.
bool isNamespaceHost(std::string_view h) {
    static const std::set<std::string, std::less<>> known{
        "www.w3.org", "schemas.microsoft.com", "schemas.xmlsoap.org", "schemas.openxmlformats.org"};
    return known.count(h) > 0;
}

// OWAS writes its farm's InternalURL itself into the presenter pages; the
// seed found that this is not what breaks clients (they never follow it), so
// that exact URL is allowed. Every other URL on an internal host is a leak.
bool isFarmInternalUrl(const provision::Lab& lab, std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    for (auto& b : lab.backends) {
        if (b.role != provision::BackendRole::Owas) continue;
        std::string farm = provision::farmInternalUrl(b);
        while (!farm.empty() && farm.back() == '/') farm.pop_back();
        if (iequals(farm, url)) return true;
    }
    return false;
}

}  // namespace

CheckDefinition owasNamesCheck(const provision::Lab& lab) {
    CheckDefinition d{check::owasNoInternalNames(),
                      "OWAS discovery and presenter pages name only public hosts",
                      lab.names.owas,
                      {probe::owasDiscovery(), probe::owasPresenter(), probe::owasParticipant()},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        std::set<std::string> leaked;
        std::vector<std::string> where, problems;
        bool any = false;
        for (auto& id : d.probes) {
            auto* x = ev.exchange(id);
            if (!x) continue;
            any = true;
            // An error page is not OWAS's page: the check needs the real ones.
            if (x->status != 200) problems.push_back(describeExchange(*x));
            auto scan = [&](std::string_view text, const std::string& place) {
                for (auto& m : urlsIn(text)) {
                    if (isPublic(ctx.lab, m.host) || isNamespaceHost(m.host)) continue;
                    if (isFarmInternalUrl(ctx.lab, m.url)) continue;
                    if (leaked.insert(m.host).second) where.push_back(m.host + " in " + place);
                }
            };
            for (auto& [name, value] : x->responseHeaders) {
                // Lync's front end names itself here; that is expected (docs/design.md, Facts).
                if (name == "x-ms-server-fqdn") continue;
                scan(value, x->url + " header " + name);
            }
            scan(x->body, x->url + " body");
        }
        if (!any) return result(d, Verdict::Skip, "not probed");
        if (!leaked.empty())
            return result(d, Verdict::Fail, "internal host named to clients: " + join(where, "; "),
                          remedyText(d.id.str(), "", {{"owas", ctx.lab.names.owas}}));
        if (!problems.empty())
            return result(d, Verdict::Fail, "pages not served: " + join(problems, "; "),
                          remedyText(d.id.str(), "not-served", {{"owas", ctx.lab.names.owas}}));
        return result(d, Verdict::Pass, "discovery and presenter pages name public hosts only");
    };
    return d;
}

CheckDefinition owasWopiSrcCheck(const provision::Lab& lab) {
    CheckDefinition d{check::owasWopiSrc(),
                      "A double-encoded WopiSrc reaches OWAS unchanged",
                      lab.names.owas,
                      {probe::owasWopiSrc()},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        auto* x = ev.exchange(d.probes.front());
        if (!x) return result(d, Verdict::Skip, "not probed");
        if (x->status == 200) return result(d, Verdict::Pass, describeExchange(*x));
        std::string why =
            x->status == 400
                ? " (OWAS rejected the WopiSrc: the proxy decoded or normalised the URL)"
                : "";
        return result(d, Verdict::Fail, describeExchange(*x) + why, remedyText(d.id.str()));
    };
    return d;
}

}  // namespace edgelab::checks::family

namespace edgelab::checks {

std::vector<UrlMention> urlsIn(std::string_view text) {
    static const std::regex re(
        R"((?:https?):(?:\\?/){2}([A-Za-z0-9][A-Za-z0-9.\-]*)(?::([0-9]{1,5}))?[^\s"'<>]*)",
        std::regex::icase);
    std::vector<UrlMention> out;
    std::string s(text);
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
         ++it) {
        UrlMention m;
        m.url = (*it)[0].str();
        m.host = asciiLower((*it)[1].str());
        while (!m.host.empty() && m.host.back() == '.') m.host.pop_back();
        // A port out of range ("99999") reads as none: the mention is still
        // a host named to clients.
        m.port = (*it)[2].matched ? parsePort((*it)[2].str()).optional().value_or(0) : 0;
        out.push_back(std::move(m));
    }
    return out;
}
}  // namespace edgelab::checks
