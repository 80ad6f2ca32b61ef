#include "checks/signin.hpp"

#include "checks/discovery.hpp"
#include "checks/support.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

namespace edgelab::checks {

namespace {

using nlohmann::json;
using provision::Lab;
using support::result;

// A link a client is handed must lead back through the publishing: a public
// name on 443, never a backend's name or port 4443.
std::vector<std::string> nonPublicLinks(const Lab& lab, const std::vector<std::string>& hrefs) {
    std::vector<std::string> bad;
    for (const auto& href : hrefs) {
        if (href.find("://") == std::string::npos) continue;  // relative: same public name
        auto u = support::parseUrl(href);
        if (!u || !support::isPublic(lab, u->host) || u->port != 443) bad.push_back(href);
    }
    return bad;
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

std::string statusText(const SignInStep& s) {
    const auto& x = s.exchange;
    if (x.status == 0) return s.name + ": no answer (" + x.error + ")";
    std::string text = s.name + " " + std::to_string(x.status);
    if (auto loc = x.header("location")) text += " Location: " + *loc;
    if (x.status == 401) {
        std::string offered;
        for (const auto& c : x.headers("www-authenticate"))
            offered += (offered.empty() ? "" : ", ") + c.substr(0, c.find(' '));
        text += " (WWW-Authenticate: " + (offered.empty() ? "none" : offered) + ")";
    }
    return text;
}

// The remedy for a sign-in's failure, by its kind: the step that did not
// answer ("lyncdiscover", "user", ...) or what was wrong (common/remedies.cpp).
std::string remedyOf(const CheckDefinition& d, std::string_view kind, RemedyParams params = {}) {
    return remedyText(d.id.str(), kind, params);
}

// A step that did not answer as it must: what was seen and what to do.
CheckResult stepFailure(const CheckDefinition& d, const SignInStep& s, const std::string& done,
                        const std::string& remedy) {
    std::string evidence = (done.empty() ? "" : done + "; ") + statusText(s);
    const auto& x = s.exchange;
    if (x.status >= 300 && x.status < 400)
        return result(d, Verdict::Fail,
                      evidence +
                          " (a redirect to a federation service: pre-authentication, "
                          "not pass-through; the front end never saw the sign-in)",
                      remedyOf(d, "federation-redirect"));
    if (x.status == 502 || x.status == 504 || x.status == 0)
        return result(d, Verdict::Fail, evidence, remedyOf(d, "no-answer"));
    return result(d, Verdict::Fail, evidence, remedy);
}

CheckResult skipOrMissing(const CheckDefinition& d, const SignInFlow* flow) {
    if (!flow) return result(d, Verdict::Skip, "not probed");
    return result(d, Verdict::Skip, flow->skipped);
}

constexpr const char* kClientExternalAccess = "SipClientExternalAccess";

// What each step of a sign-in needs when it is the one that did not answer.
std::string remedyFor(const CheckDefinition& d, const std::string& step, const Lab& lab) {
    if (step == "lyncdiscover")
        return remedyOf(d, "lyncdiscover", {{"lyncdiscover", lab.names.lyncdiscover}});
    if (step == "rst" || step == "negotiate" || step == "authenticate") return remedyOf(d, "ntlm");
    if (step == "oauthtoken" || step == "user") return remedyOf(d, step);
    return remedyOf(d, "");
}

// A URL a client could not follow: a token endpoint (MsRtcOAuth href) off the
// published names, or another link.
std::string offNamespaceRemedy(const CheckDefinition& d, const DiscoveredUrl& off) {
    return remedyOf(d, off.kind == "oauth-href" ? "oauth-href" : "discovery");
}

// "lyncdiscover 200, user 401, oauthtoken 200": the steps a sign-in went
// through before its last.
std::string stepsBefore(const SignInFlow& flow, std::size_t end) {
    std::string out;
    for (std::size_t i = 0; i < end && i < flow.steps.size(); ++i)
        out += (out.empty() ? "" : ", ") + flow.steps[i].name + " " +
               std::to_string(flow.steps[i].exchange.status);
    return out;
}

// The first URL of a sign-in that is not on a published name on 443.
const DiscoveredUrl* offNamespace(const SignInFlow& flow, const Lab& lab) {
    for (const auto& d : flow.discovered)
        if (!notPublicReason(d.url, publicNames(lab)).empty()) return &d;
    return nullptr;
}

// A sign-in that stopped where it should not have: before a URL it could not
// follow (signin.discovery judges that one), on what the last answer lacked,
// or on the last step's status.
CheckResult stoppedSignIn(const CheckDefinition& d, const SignInFlow& flow, const Lab& lab) {
    if (const DiscoveredUrl* off = offNamespace(flow, lab)) {
        auto r = result(d, Verdict::Fail,
                        stepsBefore(flow, flow.steps.size()) + "; stopped before " + off->kind +
                            " " + off->url + " (" + off->source +
                            "): " + notPublicReason(off->url, publicNames(lab)),
                        offNamespaceRemedy(d, *off));
        r.prerequisites = {check::signInDiscovery()};
        return r;
    }
    if (flow.steps.empty())
        return result(d, Verdict::Fail, flow.stopped.empty() ? "no request made" : flow.stopped,
                      remedyOf(d, ""));
    const SignInStep& last = flow.steps.back();
    if (!flow.stopped.empty())
        return result(d, Verdict::Fail, stepsBefore(flow, flow.steps.size()) + "; " + flow.stopped,
                      remedyFor(d, last.name, lab));
    return stepFailure(d, last, stepsBefore(flow, flow.steps.size() - 1),
                       remedyFor(d, last.name, lab));
}

// The redirects a sign-in followed, for the evidence.
std::string redirectsOf(const SignInFlow& flow) {
    std::vector<std::string> hops;
    for (const auto& u : flow.discovered)
        if (u.kind == "redirect") hops.push_back(u.url);
    return hops.empty() ? "" : " via redirect to " + join(hops, ", ");
}

// The client's path as a whole: every URL the sign-ins were handed, from
// lyncdiscover on, is on a published name on 443, and the redirects end.
CheckResult evaluateDiscovery(const CheckDefinition& d, const Evidence& ev,
                              const CheckContext& ctx) {
    std::size_t urls = 0, redirects = 0;
    const SignInFlow* any = nullptr;
    for (const auto& id : d.probes) {
        const SignInFlow* flow = ev.flow(id);
        if (!flow || !flow->skipped.empty()) continue;
        any = flow;
        if (const DiscoveredUrl* off = offNamespace(*flow, ctx.lab)) {
            auto r = result(d, Verdict::Fail,
                            off->kind + " " + off->url + " (from " + off->source +
                                ") is not one a client outside can follow: " +
                                notPublicReason(off->url, publicNames(ctx.lab)),
                            offNamespaceRemedy(d, *off));
            // The challenge's href is what auth.passthrough reads too.
            if (off->kind == "oauth-href") r.prerequisites = {check::authPassThrough()};
            return r;
        }
        if (flow->stopped.find("redirect") != std::string::npos)
            return result(d, Verdict::Fail, flow->stopped, remedyOf(d, "discovery"));
        urls += flow->discovered.size();
        for (const auto& u : flow->discovered) redirects += u.kind == "redirect";
    }
    if (!any) return skipOrMissing(d, ev.flow(d.probes.front()));
    return result(d, Verdict::Pass,
                  std::to_string(urls) + " URL(s) followed from lyncdiscover and the meet URL (" +
                      std::to_string(redirects) + " redirect(s)), all on published names on 443");
}

CheckResult evaluateWebTicket(const CheckDefinition& d, const Evidence& ev,
                              const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInWebTicket());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* user = flow->steps.empty() ? nullptr : &flow->steps.back();
    if (!user || user->name != "user" || user->exchange.status != 200 ||
        !flow->found.count("ticketLength") || !flow->stopped.empty() ||
        offNamespace(*flow, ctx.lab))
        return stoppedSignIn(d, *flow, ctx.lab);
    std::string done =
        "WinNegotiate " + flow->found.at("endpoint") + "; RST with NTLM 200 (web " + "ticket of " +
        flow->found.at("ticketLength") + " characters, expires " + flow->found.at("ticketExpires") +
        (flow->found.count("proofKey") ? ", proof key" : "") + ")" + redirectsOf(*flow);
    // A desktop client outside registers where SipClientExternalAccess says
    // ([MS-OCDISCWS] 2.2.4.1); the other three elements are not its own.
    std::vector<std::string> access;
    std::optional<SipAccess> external;
    for (const auto& a : sipAccessOf(user->exchange.body)) {
        access.push_back(a.element + " " + a.fqdn + ":" + a.port);
        if (a.element == kClientExternalAccess) external = a;
    }
    const std::string edgeRemedy = remedyOf(d, "edge");
    if (!external)
        return result(d, Verdict::Fail,
                      done + "; user 200 without " + kClientExternalAccess +
                          (access.empty() ? "" : " (only " + join(access, ", ") + ")"),
                      edgeRemedy);
    if (external->fqdn.empty() || ctx.lab.backendFor(asciiLower(external->fqdn)))
        return result(d, Verdict::Fail,
                      done + "; user 200 hands external clients an internal name: " +
                          kClientExternalAccess + " " + external->fqdn,
                      edgeRemedy);
    return result(d, Verdict::Pass,
                  done + "; user 200 with " + kClientExternalAccess + " " + external->fqdn + ":" +
                      external->port);
}

std::vector<std::string> hrefsIn(const json& doc) {
    std::vector<std::string> out;
    if (!doc.is_object() || !doc.contains("_links") || !doc["_links"].is_object()) return out;
    for (const auto& [name, link] : doc["_links"].items())
        if (link.is_object() && link.contains("href") && link["href"].is_string())
            out.push_back(link["href"].get<std::string>());
    return out;
}

CheckResult evaluateUcwa(const CheckDefinition& d, const Evidence& ev, const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInUcwa());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* events = flow->lastStep("events");
    if (!events || events->exchange.status != 200 || !flow->stopped.empty() ||
        offNamespace(*flow, ctx.lab))
        return stoppedSignIn(d, *flow, ctx.lab);
    std::vector<std::string> links;
    for (const auto& s : flow->steps)
        if (s.name == "user" || s.name == "applications" || s.name == "events")
            for (auto& h : hrefsIn(json::parse(s.exchange.body, nullptr, false)))
                links.push_back(h);
    const std::string done = stepsBefore(*flow, flow->steps.size()) + redirectsOf(*flow);
    auto bad = nonPublicLinks(ctx.lab, links);
    if (!bad.empty())
        return result(d, Verdict::Fail,
                      done + "; links outside the public namespace: " + join(bad, ", "),
                      remedyOf(d, "links"));
    return result(d, Verdict::Pass,
                  done + "; " + std::to_string(links.size()) + " link(s), all on public names");
}

CheckResult evaluateAffinity(const CheckDefinition& d, const Evidence& ev,
                             const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInNtlmAffinity());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* negotiate = flow->step("negotiate");
    if (!negotiate) return stoppedSignIn(d, *flow, ctx.lab);
    if (negotiate->exchange.status != 401 || !flow->found.count("challenge"))
        return stepFailure(d, *negotiate, "", remedyOf(d, "challenge"));
    const std::string busy = flow->found.count("busy") ? flow->found.at("busy") : "0";
    std::string done =
        "negotiate 401 with a challenge; " + busy + " other connection(s) started NTLM meanwhile";
    const SignInStep* authenticate = flow->step("authenticate");
    if (!authenticate || authenticate->exchange.status != 200)
        return stepFailure(d, authenticate ? *authenticate : SignInStep{"authenticate", {}, 0},
                           done, remedyOf(d, "ntlm"));
    // The client's connection had closed, yet the backend accepted the answer
    // to a challenge it sent on another: the proxy shared that connection's
    // NTLM state with a new client connection.
    if (flow->found.count("sameConnection") && flow->found.at("sameConnection") != "yes")
        return result(d, Verdict::Fail,
                      done +
                          "; authenticate 200 on a new client connection (the challenge was "
                          "sent on another one)",
                      remedyOf(d, "shared-auth"));
    return result(d, Verdict::Pass, done + "; authenticate 200 on the same connection");
}

CheckResult evaluateAnonymousAfterSignIn(const CheckDefinition& d, const Evidence& ev,
                                         const CheckContext&) {
    const SignInFlow* flow = ev.flow(probe::signInNtlmAffinity());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* authenticate = flow->step("authenticate");
    if (!authenticate || authenticate->exchange.status != 200)
        return result(d, Verdict::Skip,
                      "no client signed in with NTLM to compare with (see " +
                          check::signInNtlmAffinity().str() + ")");
    int refused = 0;
    for (const auto& s : flow->steps) {
        if (s.name != "anonymous") continue;
        if (s.exchange.status == 401) {
            ++refused;
            continue;
        }
        const std::string done =
            std::to_string(refused) + " anonymous request(s) on fresh connections got 401, then";
        if (s.exchange.status >= 200 && s.exchange.status < 300)
            return result(d, Verdict::Fail,
                          done + " one was answered " + std::to_string(s.exchange.status) +
                              " without credentials: it reached the backend connection the "
                              "signed-in client authenticated",
                          remedyOf(d, "shared-auth"));
        return stepFailure(d, s, done, remedyOf(d, ""));
    }
    if (refused == 0) return result(d, Verdict::Skip, "no anonymous request was made");
    return result(d, Verdict::Pass,
                  std::to_string(refused) +
                      " anonymous request(s), each on a fresh connection after the test user "
                      "signed in, got the anonymous 401");
}

// The OAuth error of a token endpoint's answer ("invalid_grant"), or "".
std::string oauthError(const HttpExchange& x) {
    auto doc = json::parse(x.body, nullptr, false);
    return doc.is_object() && doc["error"].is_string() ? doc["error"].get<std::string>() : "";
}

CheckResult evaluateAnonMeeting(const CheckDefinition& d, const Evidence& ev,
                                const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInAnonMeeting());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* token = flow->step("oauthtoken");
    const SignInStep* unknown = flow->step("unknown-grant");
    if (!offNamespace(*flow, ctx.lab) && flow->stopped.starts_with("the join page"))
        return result(
            d, Verdict::Skip,
            stepsBefore(*flow, flow->steps.size()) + "; " + flow->stopped + ": no meeting to join");
    if (!token || !unknown || offNamespace(*flow, ctx.lab)) return stoppedSignIn(d, *flow, ctx.lab);
    const std::string conference =
        flow->found.count("conference") ? flow->found.at("conference") : "";
    const std::string error = oauthError(token->exchange);
    if (error == "unsupported_grant_type")
        return result(d, Verdict::Skip,
                      "the token endpoint refuses urn:microsoft.rtc:anonmeeting as "
                      "unsupported_grant_type: this front end offers no anonymous meeting join");
    if (token->exchange.status != 200 && token->exchange.status == unknown->exchange.status &&
        error == oauthError(unknown->exchange))
        return result(d, Verdict::Skip,
                      "the token endpoint answers urn:microsoft.rtc:anonmeeting exactly as an "
                      "unknown grant type (" +
                          std::to_string(token->exchange.status) + " " + error +
                          "): this front end offers no anonymous meeting join");
    auto doc = json::parse(token->exchange.body, nullptr, false);
    if (token->exchange.status != 200 || !doc.is_object() || !doc["access_token"].is_string())
        return stepFailure(d, *token, "conference " + conference, remedyOf(d, "anonymous"));
    std::string lifetime;
    if (doc.contains("expires_in") && doc["expires_in"].is_number_integer())
        lifetime = ", expires_in " + std::to_string(doc["expires_in"].get<long>()) + " s";
    return result(
        d, Verdict::Pass,
        "guest token (anonmeeting) for " + conference + lifetime + " from " + token->exchange.url);
}

// libxml2 over a document; nullptr when it is not XML.
using XmlDoc = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;
XmlDoc parseXml(const std::string& text) {
    return XmlDoc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "doc.xml", nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
                  &xmlFreeDoc);
}

// Every element of a tree, depth first, by local name.
template <typename F>
void eachElement(xmlNodePtr node, const F& f) {
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE) continue;
        f(node);
        eachElement(node->children, f);
    }
}

std::string attribute(xmlNodePtr node, const char* name) {
    xmlChar* v = xmlGetProp(node, BAD_CAST name);
    std::string out = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
    return out;
}

std::string text(xmlNodePtr node) {
    xmlChar* v = xmlNodeGetContent(node);
    std::string out = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
    return out;
}

bool named(xmlNodePtr node, const char* name) { return xmlStrcmp(node->name, BAD_CAST name) == 0; }

}  // namespace

std::optional<std::string> webTicketEndpoint(const std::string& wsdl) {
    auto doc = parseXml(wsdl);
    if (!doc) return std::nullopt;
    std::optional<std::string> found;
    eachElement(xmlDocGetRootElement(doc.get()), [&](xmlNodePtr n) {
        if (!named(n, "port") || attribute(n, "name") != "WebTicketServiceWinNegotiate") return;
        for (xmlNodePtr a = n->children; a; a = a->next)
            if (a->type == XML_ELEMENT_NODE && named(a, "address"))
                found = attribute(a, "location");
    });
    return found;
}

std::optional<IssuedTicket> issuedTicket(const std::string& rstr) {
    auto doc = parseXml(rstr);
    if (!doc) return std::nullopt;
    IssuedTicket t;
    eachElement(xmlDocGetRootElement(doc.get()), [&](xmlNodePtr n) {
        if (named(n, "RequestedSecurityToken")) t.ticket = text(n);
        if (named(n, "Expires")) t.expires = text(n);
        if (named(n, "RequestedProofToken")) t.proofKey = true;
    });
    t.ticket.erase(0, t.ticket.find_first_not_of(" \r\n\t"));
    t.ticket.erase(t.ticket.find_last_not_of(" \r\n\t") + 1);
    if (t.ticket.empty()) return std::nullopt;
    return t;
}

std::vector<SipAccess> sipAccessOf(const std::string& body) {
    std::vector<SipAccess> out;
    static const char* const kElements[] = {"SipServerInternalAccess", "SipClientInternalAccess",
                                            "SipServerExternalAccess", "SipClientExternalAccess"};
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_object()) {
        for (const char* e : kElements)
            if (doc.contains(e) && doc[e].is_object())
                out.push_back({e, doc[e].value("fqdn", ""), doc[e].value("port", "")});
        return out;
    }
    auto xml = parseXml(body);
    if (!xml) return out;
    eachElement(xmlDocGetRootElement(xml.get()), [&](xmlNodePtr n) {
        for (const char* e : kElements)
            if (named(n, e)) out.push_back({e, attribute(n, "fqdn"), attribute(n, "port")});
    });
    return out;
}

double longPollTarget(const Lab& lab, const Target& target) {
    if (target.longPollSeconds) return *target.longPollSeconds;
    if (target.backendAddresses.empty()) return 0;  // a real deployment: only when asked
    double hold = 0;
    for (const auto& b : lab.backends)
        if (b.role == provision::BackendRole::LyncFrontEnd)
            hold = std::max(hold, b.eventChannelHoldSec);
    return hold;
}

std::optional<CheckResult> measuredLongPoll(const CheckDefinition& d, const Evidence& ev,
                                            const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInUcwa());
    if (!flow || !flow->skipped.empty() || !flow->found.count("longPollTarget"))
        return std::nullopt;
    const SignInStep* poll = flow->step("long-poll");
    if (!poll) return std::nullopt;  // the sign-in stopped before the event channel
    const std::string wanted = flow->found.at("longPollTarget");
    const std::string asked =
        "one P-GET asking timeout=" +
        (flow->found.count("longPollTimeout") ? flow->found.at("longPollTimeout") : wanted) +
        " (hold " + wanted + " s)";
    if (poll->exchange.status == 200)
        return result(d, Verdict::Pass,
                      asked + " waited " + seconds(poll->seconds) +
                          " through the publishing and was answered 200");
    return result(
        d, Verdict::Fail, asked + " cut after " + seconds(poll->seconds) + ": " + statusText(*poll),
        remedyOf(d, "measured", {{"hold", std::to_string(kUcwaEventChannelHold.count())}}));
}

std::optional<SignInCredentials> signInUserOf(const Lab& lab, std::string_view sipUri) {
    const provision::TestUser* u =
        sipUri.empty() ? (lab.users.empty() ? nullptr : &lab.users.front()) : lab.user(sipUri);
    if (!u) return std::nullopt;
    return SignInCredentials{u->sipUri, u->account, u->typedPassword.value_or(u->password)};
}

std::vector<SignInProbe> signInProbes(const Lab& lab, const Target& target) {
    auto probe = [&](ProbeId id, SignInProbe::Flow flow, double longPoll) {
        return SignInProbe{std::move(id),    flow,    lab.names.lyncdiscover, lab.names.meet,
                           publicNames(lab), longPoll};
    };
    return {probe(probe::signInWebTicket(), SignInProbe::Flow::WebTicket, 0),
            probe(probe::signInUcwa(), SignInProbe::Flow::Ucwa, longPollTarget(lab, target)),
            probe(probe::signInNtlmAffinity(), SignInProbe::Flow::NtlmAffinity, 0),
            probe(probe::signInAnonMeeting(), SignInProbe::Flow::AnonMeeting, 0)};
}

std::vector<CheckDefinition> signInChecks(const Lab& lab, const Target&) {
    using Evaluate = CheckResult (*)(const CheckDefinition&, const Evidence&, const CheckContext&);
    const std::string ws = lab.names.webServices;
    auto define = [&](CheckId id, const char* title, std::vector<ProbeId> flows,
                      Evaluate evaluate) {
        CheckDefinition d{std::move(id), title, ws, std::move(flows), {}};
        d.evaluate = [d, evaluate](const Evidence& ev, const CheckContext& ctx) {
            return evaluate(d, ev, ctx);
        };
        return d;
    };
    return {define(check::signInDiscovery(),
                   "Every URL a signing-in client is handed (redirects, token endpoint, web "
                   "ticket service, UCWA) is on a published name on 443",
                   {probe::signInWebTicket(), probe::signInUcwa(), probe::signInAnonMeeting()},
                   evaluateDiscovery),
            define(check::signInWebTicket(),
                   "A test user gets a web ticket with NTLM and reads the user resource with it "
                   "(Lync 2013 desktop)",
                   {probe::signInWebTicket()}, evaluateWebTicket),
            define(check::signInUcwa(),
                   "A test user signs in to UCWA with OAuth as Lync mobile 2013 does",
                   {probe::signInUcwa()}, evaluateUcwa),
            define(check::signInNtlmAffinity(),
                   "The NTLM handshake completes while other clients' handshakes are under way",
                   {probe::signInNtlmAffinity()}, evaluateAffinity),
            define(check::signInAnonymousAfterSignIn(),
                   "An anonymous request on a fresh connection still gets 401 after another "
                   "client signed in",
                   {probe::signInNtlmAffinity()}, evaluateAnonymousAfterSignIn),
            define(check::signInAnonMeeting(),
                   "An anonymous guest gets a meeting token (urn:microsoft.rtc:anonmeeting)",
                   {probe::signInAnonMeeting()}, evaluateAnonMeeting)};
}

}  // namespace edgelab::checks
