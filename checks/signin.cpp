#include "checks/signin.hpp"

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

// The seed's lesson S2, word for word the remedy of auth.passthrough.
constexpr const char* kPassThroughRemedy =
    "publish the Lync applications with -ExternalPreAuthentication PassThrough (Lync "
    "authenticates its clients itself)";

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
                      kPassThroughRemedy);
    if (x.status == 502 || x.status == 504 || x.status == 0)
        return result(d, Verdict::Fail, evidence,
                      "the front end did not answer through the publishing: check the "
                      "backend URL (https://<pool>:4443/), the backend's certificate and "
                      "-InactiveTransactionsTimeoutSec");
    return result(d, Verdict::Fail, evidence, remedy);
}

CheckResult skipOrMissing(const CheckDefinition& d, const SignInFlow* flow) {
    if (!flow) return result(d, Verdict::Skip, "not probed");
    return result(d, Verdict::Skip, flow->skipped);
}

const char* const kNtlmRemedy =
    "check the test user's account and password; behind a reverse proxy each client "
    "connection must keep one backend connection for the whole NTLM handshake (WAP does; a "
    "pool shared between clients, such as nginx's upstream keepalive, breaks NTLM: in the "
    "lab, proxy.connectionAffinity true)";

CheckResult evaluateWebTicket(const CheckDefinition& d, const Evidence& ev,
                              const CheckContext& ctx) {
    const SignInFlow* flow = ev.flow(probe::signInWebTicket());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* mex = flow->step("mex");
    const std::string ws = ctx.lab.names.webServices;
    if (!mex || mex->exchange.status != 200 || !flow->found.count("endpoint"))
        return stepFailure(d, mex ? *mex : SignInStep{"mex", {}, 0}, "",
                           "publish https://" + ws +
                               "/ pass-through so that /WebTicket/WebTicketService.svc/mex "
                               "answers the service's metadata anonymously");
    const std::string endpoint = flow->found.at("endpoint");
    if (!nonPublicLinks(ctx.lab, {endpoint}).empty())
        return result(
            d, Verdict::Fail,
            "mex 200 names the WinNegotiate endpoint " + endpoint + ", not a public name on 443",
            "set the pool's external web services FQDN to " + ws +
                " (Set-CsWebServer / Topology Builder)");
    std::string done = "mex 200 (WinNegotiate " + endpoint + ")";
    const SignInStep* rst = flow->step("rst");
    if (!rst || rst->exchange.status != 200 || !flow->found.count("ticketLength"))
        return stepFailure(d, rst ? *rst : SignInStep{"rst", {}, 0}, done, kNtlmRemedy);
    done += "; RST with NTLM 200 (web ticket of " + flow->found.at("ticketLength") +
            " characters, expires " + flow->found.at("ticketExpires") +
            (flow->found.count("proofKey") ? ", proof key" : "") + ")";
    const SignInStep* user = flow->step("user");
    if (!user || user->exchange.status != 200)
        return stepFailure(d, user ? *user : SignInStep{"user", {}, 0}, done,
                           "the user resource must accept the web ticket (X-MS-WebTicket): "
                           "publish /Autodiscover pass-through to the front end");
    std::vector<std::string> access, bad;
    for (const auto& a : sipAccessOf(user->exchange.body)) {
        access.push_back(a.element + " " + a.fqdn + ":" + a.port);
        const bool external = a.element.find("External") != std::string::npos;
        if (external && ctx.lab.backendFor(asciiLower(a.fqdn)))
            bad.push_back(a.element + " " + a.fqdn);
    }
    if (access.empty())
        return result(d, Verdict::Fail, done + "; user 200 without SIP access points",
                      "the user resource must list SipServerExternalAccess and "
                      "SipClientExternalAccess (the Access Edge's external FQDN)");
    if (!bad.empty())
        return result(d, Verdict::Fail,
                      done + "; user 200 hands external clients internal names: " + join(bad, ", "),
                      "set the Access Edge's external FQDN in the topology so that external "
                      "clients are sent to a public name");
    return result(d, Verdict::Pass, done + "; user 200 with " + join(access, ", "));
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
    const std::string ws = ctx.lab.names.webServices;
    struct Expected {
        const char* step;
        long status;
        const char* remedy;
    };
    static const Expected kSteps[] = {
        {"oauthtoken", 200,
         "check the test user's password (--password-file, or users[] in the lab); the front "
         "end answered invalid_grant"},
        {"user", 200,
         "the OAuth user resource must accept the token: publish /Autodiscover "
         "pass-through to the front end"},
        {"applications", 201,
         "POST applications must reach UCWA on the front end: publish "
         "/ucwa pass-through"},
        {"events", 200,
         "the event channel must reach UCWA on the front end: publish /ucwa "
         "pass-through"},
    };
    std::string done;
    std::vector<std::string> links;
    for (const auto& e : kSteps) {
        const SignInStep* s = flow->step(e.step);
        if (!s || s->exchange.status != e.status)
            return stepFailure(d, s ? *s : SignInStep{e.step, {}, 0}, done, e.remedy);
        done += (done.empty() ? "" : ", ") + std::string(e.step) + " " + std::to_string(e.status);
        auto doc = json::parse(s->exchange.body, nullptr, false);
        for (auto& h : hrefsIn(doc)) links.push_back(h);
    }
    auto bad = nonPublicLinks(ctx.lab, links);
    if (!bad.empty()) {
        return result(d, Verdict::Fail,
                      done + "; links outside the public namespace: " + join(bad, ", "),
                      "set the external web services FQDN of the pool to " + ws +
                          " and publish it on 443 (never the pool's name or 4443)");
    }
    return result(d, Verdict::Pass,
                  done + "; " + std::to_string(links.size()) + " link(s), all on public names");
}

CheckResult evaluateAffinity(const CheckDefinition& d, const Evidence& ev, const CheckContext&) {
    const SignInFlow* flow = ev.flow(probe::signInNtlmAffinity());
    if (!flow || !flow->skipped.empty()) return skipOrMissing(d, flow);
    const SignInStep* negotiate = flow->step("negotiate");
    if (!negotiate || negotiate->exchange.status != 401 || !flow->found.count("challenge"))
        return stepFailure(d, negotiate ? *negotiate : SignInStep{"negotiate", {}, 0}, "",
                           "the Web Ticket Service must answer an NTLM NEGOTIATE_MESSAGE with "
                           "its CHALLENGE_MESSAGE (401 WWW-Authenticate: NTLM <token>)");
    const std::string busy = flow->found.count("busy") ? flow->found.at("busy") : "0";
    std::string done =
        "negotiate 401 with a challenge; " + busy + " other connection(s) started NTLM meanwhile";
    const SignInStep* authenticate = flow->step("authenticate");
    if (!authenticate || authenticate->exchange.status != 200)
        return stepFailure(d, authenticate ? *authenticate : SignInStep{"authenticate", {}, 0},
                           done, kNtlmRemedy);
    if (flow->found.count("sameConnection") && flow->found.at("sameConnection") != "yes")
        return result(d, Verdict::Skip, done + "; the client could not keep its connection");
    return result(d, Verdict::Pass, done + "; authenticate 200 on the same connection");
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
    if (poll->exchange.status == 200)
        return result(d, Verdict::Pass,
                      "event channel waited " + seconds(poll->seconds) + " (hold " + wanted +
                          " s) through the publishing and was answered 200");
    return result(d, Verdict::Fail,
                  "event channel cut after " + seconds(poll->seconds) + " of a " + wanted +
                      " s hold: " + statusText(*poll),
                  "Set-WebApplicationProxyApplication -InactiveTransactionsTimeoutSec above the "
                  "front end's event channel hold (" +
                      std::to_string(kUcwaEventChannelHold.count()) +
                      " s by default; WAP's default 300) on each Lync application");
}

std::optional<SignInCredentials> signInUserOf(const Lab& lab, std::string_view sipUri) {
    const provision::TestUser* u =
        sipUri.empty() ? (lab.users.empty() ? nullptr : &lab.users.front()) : lab.user(sipUri);
    if (!u) return std::nullopt;
    return SignInCredentials{u->sipUri, u->account, u->typedPassword.value_or(u->password)};
}

std::vector<SignInProbe> signInProbes(const Lab& lab, const Target& target) {
    const std::string ws = lab.names.webServices;
    return {{probe::signInWebTicket(), SignInProbe::Flow::WebTicket, ws, 0},
            {probe::signInUcwa(), SignInProbe::Flow::Ucwa, ws, longPollTarget(lab, target)},
            {probe::signInNtlmAffinity(), SignInProbe::Flow::NtlmAffinity, ws, 0}};
}

std::vector<CheckDefinition> signInChecks(const Lab& lab, const Target&) {
    using Evaluate = CheckResult (*)(const CheckDefinition&, const Evidence&, const CheckContext&);
    const std::string ws = lab.names.webServices;
    auto define = [&](CheckId id, const char* title, ProbeId flow, Evaluate evaluate) {
        CheckDefinition d{std::move(id), title, ws, {std::move(flow)}, {}};
        d.evaluate = [d, evaluate](const Evidence& ev, const CheckContext& ctx) {
            return evaluate(d, ev, ctx);
        };
        return d;
    };
    return {define(check::signInWebTicket(),
                   "A test user gets a web ticket with NTLM and reads the user resource with it "
                   "(Lync 2013 desktop)",
                   probe::signInWebTicket(), evaluateWebTicket),
            define(check::signInUcwa(),
                   "A test user signs in to UCWA with OAuth as Lync mobile 2013 does",
                   probe::signInUcwa(), evaluateUcwa),
            define(check::signInNtlmAffinity(),
                   "The NTLM handshake completes while other clients' handshakes are under way",
                   probe::signInNtlmAffinity(), evaluateAffinity)};
}

}  // namespace edgelab::checks
