// Web services: the Lync front end's external web services as an anonymous
// client meets them, the pass-through OAuth challenge, the simple URLs and
// the applications' timeout against the event channel's hold.
#include "checks/discovery.hpp"
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/signin.hpp"
#include "checks/support.hpp"
#include "common/lync_wap.hpp"

#include <algorithm>
#include <sstream>

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

CheckDefinition webServicesCheck(const provision::Lab& lab, const WebServicesPath& w) {
    CheckDefinition d{check::webServices(slug(w.path)),
                      "Web services " + w.path,
                      lab.names.webServices,
                      {probe::webServices(slug(w.path))},
                      {}};
    d.evaluate = [d, w](const Evidence& ev, const CheckContext& ctx) {
        auto* x = ev.exchange(d.probes.front());
        if (!x) return result(d, Verdict::Skip, "not probed");
        std::vector<std::string> exp;
        for (long s : w.expected) exp.push_back(std::to_string(s));
        // A redirect out of the public namespace is not the front end's
        // answer: ADFS pre-authentication sends clients to the federation
        // service, and an untranslated Location sends them to the backend.
        if (x->status >= 300 && x->status < 400) {
            if (auto loc = redirectOutsideNamespace(ctx.lab, *x))
                return result(
                    d, Verdict::Fail,
                    describeExchange(*x) + " (redirects out of the public namespace)",
                    remedyText(d.id.str(), "redirect",
                               {{"webServices", ctx.lab.names.webServices}, {"path", w.path}}));
        }
        if (std::find(w.expected.begin(), w.expected.end(), x->status) != w.expected.end())
            return result(d, Verdict::Pass, describeExchange(*x));
        return result(d, Verdict::Fail,
                      describeExchange(*x) + " (a front end answers " + join(exp, "/") + ")",
                      remedyText(d.id.str(), "",
                                 {{"webServices", ctx.lab.names.webServices}, {"path", w.path}}));
    };
    return d;
}

CheckDefinition authCheck(const provision::Lab& lab) {
    CheckDefinition d{check::authPassThrough(),
                      "The front end's own OAuth challenge reaches the client (pass-through)",
                      lab.names.webServices,
                      {probe::oauthUser()},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        auto* x = ev.exchange(d.probes.front());
        if (!x) return result(d, Verdict::Skip, "not probed");
        const std::string remedy = remedyText(d.id.str());
        if (x->status == 401) {
            // Clients ask for their token where the challenge's href says.
            if (auto oauth = msRtcOAuthOf(x->headers("www-authenticate"))) {
                const std::string c = "WWW-Authenticate: MsRtcOAuth href=\"" + oauth->href + "\"";
                const std::string why = notPublicReason(oauth->href, publicNames(ctx.lab));
                if (!why.empty())
                    return result(d, Verdict::Fail,
                                  "401 with " + c +
                                      ": the token endpoint is not one a client "
                                      "outside can reach (" +
                                      why + ")",
                                  remedyText(d.id.str(), "oauth-href"));
                return result(d, Verdict::Pass, "401 with " + c);
            }
            return result(d, Verdict::Fail,
                          "401 without an MsRtcOAuth challenge: " +
                              join(x->headers("www-authenticate"), " | "),
                          remedy);
        }
        if (x->status >= 300 && x->status < 400)
            return result(d, Verdict::Fail,
                          describeExchange(*x) +
                              " (a redirect to a federation service: "
                              "pre-authentication, not pass-through)",
                          remedy);
        return result(d, Verdict::Fail, describeExchange(*x) + " (expected the front end's 401)",
                      remedy);
    };
    return d;
}

// A simple URL answers with a page or a redirect to an external URL.
CheckDefinition simpleUrlCheck(const provision::Lab& lab, CheckId id, const std::string& name,
                               std::vector<ProbeId> probes) {
    CheckDefinition d{std::move(id),
                      "Simple URL https://" + name + "/ answers, redirects stay external",
                      name,
                      std::move(probes),
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        std::vector<std::string> problems, seen;
        bool any = false;
        for (auto& id : d.probes) {
            auto* x = ev.exchange(id);
            if (!x) continue;
            any = true;
            seen.push_back(describeExchange(*x));
            if (x->status >= 300 && x->status < 400) {
                if (auto loc = redirectOutsideNamespace(ctx.lab, *x))
                    problems.push_back(x->url + " redirects to " + *loc);
            } else if (x->status < 200 || x->status >= 300) {
                problems.push_back(describeExchange(*x));
            }
        }
        if (!any) return result(d, Verdict::Skip, "not probed");
        if (!problems.empty())
            return result(d, Verdict::Fail, join(problems, "; "),
                          remedyText(d.id.str(), "", {{"name", d.ns}}));
        return result(d, Verdict::Pass, join(seen, "; "));
    };
    return d;
}

CheckDefinition longPollCheck(const provision::Lab& lab, const Target& target) {
    // Measured through the publishing where a test user can sign in; the
    // lab's own numbers otherwise.
    const bool measured = target.user && longPollTarget(lab, target) > 0;
    CheckDefinition d{check::longPoll(),
                      "Lync applications let the UCWA event channel wait its full hold",
                      lab.names.webServices,
                      measured ? std::vector<ProbeId>{probe::signInUcwa()} : std::vector<ProbeId>{},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        if (auto r = measuredLongPoll(d, ev, ctx)) return *r;
        double hold = 0;
        for (auto& b : ctx.lab.backends)
            if (b.role == provision::BackendRole::LyncFrontEnd)
                hold = std::max(hold, b.eventChannelHoldSec);
        if (hold == 0) hold = kUcwaEventChannelHold.count();  // the front end's default
        std::vector<std::string> bad, ok;
        for (auto& a : ctx.lab.applications) {
            auto* b = backendFor(ctx.lab, a.backendServerUrl.host);
            bool lync = (b && b->role == provision::BackendRole::LyncFrontEnd) ||
                        (!b && !iequals(a.externalUrl.host, ctx.lab.names.owas));
            if (!lync) continue;
            std::string s = a.name + " " + std::to_string(a.inactiveTransactionsTimeoutSec) + " s";
            (a.inactiveTransactionsTimeoutSec > hold ? ok : bad).push_back(s);
        }
        std::ostringstream holdText;
        holdText << hold;
        if (ok.empty() && bad.empty()) return result(d, Verdict::Skip, "no Lync applications");
        if (!bad.empty())
            return result(
                d, Verdict::Fail,
                "inactive-transaction timeout not above the " + holdText.str() +
                    " s event channel hold: " + join(bad, ", "),
                remedyText(
                    d.id.str(), "",
                    {{"seconds", std::to_string(std::max(300, static_cast<int>(hold) + 60))}}));
        return result(d, Verdict::Pass, "hold " + holdText.str() + " s < " + join(ok, ", "));
    };
    return d;
}

}  // namespace edgelab::checks::family

namespace edgelab::checks {

// Statuses a Lync 2013 front end's external web services give an anonymous
// client (no ticket, no token). Pages answer 200; services challenge with
// 401; the rest answer as IIS does for a GET without the expected body.
const std::vector<WebServicesPath>& webServicesPaths() {
    static const std::vector<WebServicesPath> paths{
        {"/Autodiscover/AutodiscoverService.svc/root", {200}},
        {"/Autodiscover/AutodiscoverService.svc/root/user", {401}},
        {"/Autodiscover/XFrame/XFrame.html", {200}},
        {"/Reach/sip.svc", {200, 401}},
        {"/Scheduler", {200, 301, 302, 401}},
        {"/Mcx/McxService.svc", {200, 401}},
        {"/ucwa/v1/applications", {401}},
        {"/abs/handler", {401}},
        {"/groupexpansion/service.svc", {401}},
        {"/CertProv/CertProvisioningService.svc", {200, 401}},
        {"/WebTicket/WebTicketService.svc", {401}},
        {"/WebTicket/oauthtoken", {400, 401, 404, 405}},
        {"/RequestHandlerExt/ucdevice.upx", {200, 401, 404}},
        {"/RgsClients/AgentService.svc", {200, 401, 404}},
        {"/CollabContent", {200, 401, 403, 404}},
        {"/DataCollabWeb/", {200, 401, 403, 404}},
        {"/lwa/WebPages/LwaClient.aspx", {200}},
        {"/Meet", {200, 301, 302, 404}},
        {"/Dialin", {200, 301, 302, 404}},
    };
    return paths;
}

std::string slug(std::string_view path) {
    std::string s;
    for (char c : path) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            s += asciiLowerChar(c);
        else if (!s.empty() && s.back() != '-')
            s += '-';
    }
    while (!s.empty() && s.back() == '-') s.pop_back();
    return s;
}
}  // namespace edgelab::checks
