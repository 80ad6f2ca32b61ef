// Response headers: what the proxy translates (Location, Content-Location,
// Set-Cookie) names only public hosts.
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

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
                    if (!u || !isPublic(ctx.lab, u->host) || u->port == 4443)
                        bad.push_back(x->url + " " + h + ": " + v);
                }
            for (auto& v : x->headers("set-cookie")) {
                ++looked;
                std::string lv = lower(v);
                if (lv.find(":4443") != std::string::npos) {
                    bad.push_back(x->url + " set-cookie: " + v);
                    continue;
                }
                auto pos = lv.find("domain=");
                if (pos == std::string::npos) continue;
                std::string dom = lv.substr(pos + 7);
                dom = dom.substr(0, dom.find(';'));
                while (!dom.empty() && (dom.front() == '.' || dom.front() == ' ')) dom.erase(0, 1);
                while (!dom.empty() && dom.back() == ' ') dom.pop_back();
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
        if (!bad.empty())
            return result(d, Verdict::Fail, join(bad, "; "),
                          "turn response header translation on (no "
                          "-DisableTranslateUrlInResponseHeaders) so the proxy maps backend "
                          "hosts and port 4443 to the public URL");
        return result(d, Verdict::Pass,
                      std::to_string(looked) +
                          " Location/Content-Location/Set-Cookie header(s), "
                          "all public");
    };
    return d;
}
}  // namespace edgelab::checks::family
