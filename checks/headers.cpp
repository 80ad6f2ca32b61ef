// Response headers: what the proxy translates (Location, Content-Location,
// Set-Cookie) names only public hosts.
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"

#include <optional>
#include <string_view>

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

namespace {

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

// The Domain attribute of a Set-Cookie value (lower case), read as RFC 6265
// section 5.2 does: the attributes follow the first ';', each NAME[=VALUE],
// the name compared without case; a leading dot is ignored; the last Domain
// wins. "subdomain=abc" or a value holding "domain=" is not a Domain.
std::optional<std::string> cookieDomain(std::string_view setCookie) {
    std::optional<std::string> domain;
    auto semi = setCookie.find(';');
    while (semi != std::string_view::npos) {
        std::string_view rest = setCookie.substr(semi + 1);
        auto next = rest.find(';');
        std::string_view attribute = rest.substr(0, next);
        auto eq = attribute.find('=');
        if (eq != std::string_view::npos && iequals(trimmed(attribute.substr(0, eq)), "domain")) {
            std::string value = trimmed(attribute.substr(eq + 1));
            if (!value.empty() && value.front() == '.') value.erase(0, 1);
            if (!value.empty()) domain = asciiLower(value);
        }
        semi = next == std::string_view::npos ? next : semi + 1 + next;
    }
    return domain;
}

}  // namespace

CheckDefinition headersCheck(const provision::Lab& lab, std::vector<ProbeId> httpProbes) {
    CheckDefinition d{check::headersTranslated(),
                      "No Location, Content-Location or Set-Cookie names a backend host or port",
                      lab.domain,
                      std::move(httpProbes),
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        std::vector<std::string> bad;
        size_t looked = 0, answered = 0;
        for (auto& id : d.probes) {
            auto* x = ev.exchange(id);
            if (!x || x->status == 0) continue;
            ++answered;
            for (const char* h : {"location", "content-location"})
                for (auto& v : x->headers(h)) {
                    ++looked;
                    if (v.find("://") == std::string::npos) continue;  // relative: same host
                    auto u = parseUrl(v);
                    if (!u || !isPublic(ctx.lab, u->host) || u->port == kLyncExternalWebPort)
                        bad.push_back(x->url + " " + h + ": " + v);
                }
            for (auto& v : x->headers("set-cookie")) {
                ++looked;
                std::string lv = asciiLower(v);
                if (lv.find(":" + std::to_string(kLyncExternalWebPort)) != std::string::npos) {
                    bad.push_back(x->url + " set-cookie: " + v);
                    continue;
                }
                auto domain = cookieDomain(lv);
                if (!domain) continue;
                std::string dom = *domain;
                bool ok = false;
                for (auto& n : publicNames(ctx.lab))
                    if (n == dom || (n.size() > dom.size() &&
                                     n.compare(n.size() - dom.size(), dom.size(), dom) == 0 &&
                                     n[n.size() - dom.size() - 1] == '.'))
                        ok = true;
                if (!ok) bad.push_back(x->url + " set-cookie domain " + dom);
            }
        }
        if (answered == 0) return result(d, Verdict::Skip, "no HTTP response to look at");
        if (!bad.empty()) return result(d, Verdict::Fail, join(bad, "; "), remedyText(d.id.str()));
        return result(d, Verdict::Pass,
                      std::to_string(looked) +
                          " Location/Content-Location/Set-Cookie header(s), "
                          "all public");
    };
    return d;
}
}  // namespace edgelab::checks::family
