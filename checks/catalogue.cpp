#include "checks/catalogue.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

namespace edgelab::checks {

namespace {

using provision::Lab;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool startsWithI(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

struct UrlParts {
    std::string scheme, host, path;
    int port = 0;
};

// libcurl's URL parser, so that odd URLs are read as a client reads them.
std::optional<UrlParts> parseUrl(const std::string& text) {
    CURLU* u = curl_url();
    std::optional<UrlParts> out;
    if (curl_url_set(u, CURLUPART_URL, text.c_str(), 0) == CURLUE_OK) {
        UrlParts p;
        char* v = nullptr;
        if (curl_url_get(u, CURLUPART_SCHEME, &v, 0) == CURLUE_OK)
            p.scheme = lower(v), curl_free(v);
        if (curl_url_get(u, CURLUPART_HOST, &v, 0) == CURLUE_OK) p.host = lower(v), curl_free(v);
        if (curl_url_get(u, CURLUPART_PORT, &v, CURLU_DEFAULT_PORT) == CURLUE_OK)
            p.port = std::atoi(v), curl_free(v);
        if (curl_url_get(u, CURLUPART_PATH, &v, 0) == CURLUE_OK) p.path = v, curl_free(v);
        out = p;
    }
    curl_url_cleanup(u);
    return out;
}

std::string wholeDays(std::chrono::system_clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::hours>(d).count() / 24);
}

std::string dateOf(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

CheckResult result(const CheckDefinition& d, Verdict v, std::string evidence,
                   std::string remedy = {}) {
    CheckResult r;
    r.id = d.id;
    r.title = d.title;
    r.ns = d.ns;
    r.verdict = v;
    r.evidence = std::move(evidence);
    if (v == Verdict::Fail || v == Verdict::Warn) r.remedy = std::move(remedy);
    return r;
}

bool isPublic(const Lab& lab, std::string_view host) {
    for (auto& n : publicNames(lab))
        if (iequals(n, host)) return true;
    return false;
}

// The Location of a redirect that leaves the public namespace (another host,
// or a backend port such as 4443), if it does. A relative Location stays on
// the public name the client used.
std::optional<std::string> redirectOutsideNamespace(const Lab& lab, const HttpExchange& x) {
    auto loc = x.header("location").value_or("");
    if (loc.empty() || loc.find("://") == std::string::npos) return std::nullopt;
    auto u = parseUrl(loc);
    if (u && isPublic(lab, u->host) && u->port == 443) return std::nullopt;
    return loc;
}

std::string leafSummary(const TlsHandshake& h) {
    if (h.chain.empty()) return "no certificate";
    auto& c = h.chain.front();
    std::string s = "CN=" + c.subjectCn;
    if (!c.dnsNames.empty()) s += " SAN=" + join(c.dnsNames, ",");
    s += " thumbprint " + c.thumbprint;
    return s;
}

std::string outcomeText(const TlsHandshake& h) {
    std::string s = to_string(h.outcome);
    if (!h.detail.empty()) s += " (" + h.detail + ")";
    return s;
}

// The certificate the proxy serves under SNI for the web services name: the
// one a default binding should copy, as the seed's Set-DefaultCertificate does.
std::string defaultBindingRemedy(const Lab& lab, const Evidence& ev) {
    std::string hash = "<thumbprint of the certificate bound to " + lab.names.webServices + ":443>";
    if (auto* h = ev.handshake("tls.sni." + lab.names.webServices);
        h && h->outcome == HandshakeOutcome::Ok && !h->chain.empty())
        hash = lower(h->chain.front().thumbprint);
    return "add a default (IP:port) binding with the certificate served for " +
           lab.names.webServices + ": netsh http add sslcert ipport=0.0.0.0:443 certhash=" + hash +
           " appid=" + kWapAppId + "  (lab: edgelab bindings set-default --match-host " +
           lab.names.webServices + ")";
}

std::string describeExchange(const HttpExchange& x) {
    if (x.status == 0) return x.url + ": no response (" + x.error + ")";
    std::string s = x.url + " -> " + std::to_string(x.status);
    if (auto loc = x.header("location")) s += " Location: " + *loc;
    return s;
}

const provision::Backend* backendFor(const Lab& lab, std::string_view host) {
    for (auto& b : lab.backends) {
        if (iequals(b.host, host)) return &b;
        for (auto& s : b.serves)
            if (iequals(s, host)) return &b;
    }
    return nullptr;
}

// ---- probe ids, shared by the plan and the checks ----

std::string sipUser(const Lab& lab) { return "edgelab@" + lab.domain; }

std::vector<HttpProbe> httpProbes(const Lab& lab) {
    const auto& n = lab.names;
    std::vector<HttpProbe> p;
    p.push_back(
        {"http.lyncdiscover.json", "https://" + n.lyncdiscover + "/?sipuri=" + sipUser(lab), {}});
    p.push_back({"http.lyncdiscover.xml",
                 "https://" + n.lyncdiscover + "/?sipuri=" + sipUser(lab),
                 {{"Accept", "application/vnd.microsoft.rtc.autodiscover+xml;v=1"}}});
    for (auto& w : webServicesPaths())
        p.push_back({"http.ws." + slug(w.path), "https://" + n.webServices + w.path, {}});
    p.push_back(
        {"http.auth.oauth-user",
         "https://" + n.webServices + "/Autodiscover/AutodiscoverService.svc/root/oauth/user",
         {}});
    p.push_back({"http.meet.join", "https://" + n.meet + "/edgelab/EDGELAB1", {}});
    p.push_back({"http.meet.user", "https://" + n.meet + "/edgelab", {}});
    p.push_back({"http.dialin", "https://" + n.dialin + "/", {}});
    p.push_back({"http.owas.discovery", "https://" + n.owas + "/hosting/discovery", {}});
    // WopiSrc as Lync sends it: the WOPI URL percent-encoded twice (FACTS, OWAS).
    const std::string wopiSrc =
        "https%253A%252F%252F" + n.webServices + "%252Fwopi%252Ffiles%252Fedgelab";
    p.push_back({"http.owas.presenter",
                 "https://" + n.owas + "/m/Presenter.aspx?a=0&WopiSrc=" + wopiSrc,
                 {}});
    p.push_back({"http.owas.participant",
                 "https://" + n.owas + "/m/ParticipantFrame.aspx?a=0&WopiSrc=" + wopiSrc,
                 {}});
    p.push_back({"http.owas.wopisrc",
                 "https://" + n.owas + "/m/Presenter.aspx?WopiSrc=" + wopiSrc + "&edgelab=wopisrc",
                 {}});
    return p;
}

std::vector<std::string> idsOf(const std::vector<HttpProbe>& probes) {
    std::vector<std::string> ids;
    for (auto& p : probes) ids.push_back(p.id);
    return ids;
}

// ---- TLS ----

CheckDefinition sniCheck(const std::string& name) {
    CheckDefinition d{
        "tls.sni." + name, "TLS handshake with SNI " + name, name, {"tls.sni." + name}, {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        const std::string& name = d.ns;
        auto* h = ev.handshake(d.probes.front());
        const std::string remedy =
            "bind a certificate whose subjectAltName includes " + name + " to " + name +
            ":443 (netsh http add sslcert hostnameport=" + name +
            ":443 certhash=<thumbprint> appid=" + kWapAppId + " certstorename=MY)";
        if (!h) return result(d, Verdict::Skip, "no handshake gathered");
        if (h->outcome != HandshakeOutcome::Ok)
            return result(d, Verdict::Fail, h->address + " SNI " + name + ": " + outcomeText(*h),
                          remedy);
        if (h->chain.empty())
            return result(d, Verdict::Fail, "handshake completed without a certificate", remedy);
        auto& leaf = h->chain.front();
        std::string seen = h->protocol + " " + h->cipher + ", " + leafSummary(*h) + ", notAfter " +
                           dateOf(leaf.notAfter);
        if (!certificateCovers(leaf, name))
            return result(d, Verdict::Fail, "certificate does not cover " + name + ": " + seen,
                          remedy);
        if (leaf.notAfter <= ctx.now || leaf.notBefore > ctx.now)
            return result(d, Verdict::Fail, "certificate not in date: " + seen,
                          "renew the certificate and update the binding's certhash");
        if (leaf.notAfter - ctx.now < std::chrono::hours(24 * 30))
            return result(
                d, Verdict::Warn,
                "certificate expires in " + wholeDays(leaf.notAfter - ctx.now) + " days: " + seen,
                "renew the certificate before " + dateOf(leaf.notAfter));
        return result(d, Verdict::Pass, seen);
    };
    return d;
}

CheckDefinition chainCheck(const std::string& name) {
    CheckDefinition d{"tls.chain." + name,
                      "Chain sent for " + name + " verifies without fetching intermediates",
                      name,
                      {"tls.sni." + name},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        auto* h = ev.handshake(d.probes.front());
        if (!h || h->outcome != HandshakeOutcome::Ok)
            return result(
                d, Verdict::Skip,
                "no completed handshake with SNI " + d.ns + " (see tls.sni." + d.ns + ")");
        std::string sent = std::to_string(h->chain.size()) + " certificate(s) sent";
        if (h->chainVerifiedFromSentOnly)
            return result(d, Verdict::Pass, sent + ", verified to the trusted root");
        return result(
            d, Verdict::Fail, sent + ", does not verify from what was sent: " + h->verifyError,
            "send the issuing CA with the certificate (install the intermediate in the "
            "proxy's Intermediate Certification Authorities store; lab: "
            "certificate.sendChain=true); mobile clients do not fetch it from the AIA URL");
    };
    return d;
}

CheckDefinition noSniCheck(const Lab& lab, const provision::ClientProfile& c) {
    std::string ns = c.names.empty() ? lab.names.webServices : c.names.front();
    CheckDefinition d{
        "tls.no-sni." + c.name,
        "TLS handshake without SNI as " + c.name + " (TLS " + c.minTls + "-" + c.maxTls + ")",
        ns,
        {"tls.no-sni." + c.name},
        {}};
    std::vector<std::string> names = c.names.empty() ? std::vector{lab.names.webServices} : c.names;
    d.evaluate = [d, names](const Evidence& ev, const CheckContext& ctx) {
        auto* h = ev.handshake(d.probes.front());
        if (!h) return result(d, Verdict::Skip, "no handshake gathered");
        std::string remedy = defaultBindingRemedy(ctx.lab, ev);
        if (h->outcome == HandshakeOutcome::Reset)
            return result(d, Verdict::Fail,
                          h->address + " without SNI: connection reset on the ClientHello (" +
                              h->detail +
                              "), no certificate presented: no default (IP:port) binding",
                          remedy);
        if (h->outcome != HandshakeOutcome::Ok)
            return result(d, Verdict::Fail, h->address + " without SNI: " + outcomeText(*h),
                          remedy);
        if (h->chain.empty())
            return result(d, Verdict::Fail, "handshake completed without a certificate", remedy);
        std::vector<std::string> missing;
        for (auto& n : names)
            if (!certificateCovers(h->chain.front(), n)) missing.push_back(n);
        std::string seen = h->protocol + ", default certificate " + leafSummary(*h);
        if (!missing.empty())
            return result(d, Verdict::Fail, seen + " does not cover " + join(missing, ", "),
                          remedy);
        return result(d, Verdict::Pass, seen);
    };
    return d;
}

CheckDefinition backendCertCheck(const Lab& lab, const Target& target) {
    CheckDefinition d{"backend.cert-public-names",
                      "Backend certificates hold the public names they are published under",
                      lab.domain,
                      {},
                      {}};
    for (auto& b : lab.backends)
        if (target.backendAddresses.count(b.name)) d.probes.push_back("tls.backend." + b.name);
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        if (d.probes.empty())
            return result(d, Verdict::Skip, "backend addresses not known (not lab mode)");
        std::vector<std::string> problems, seen;
        for (auto& b : ctx.lab.backends) {
            auto* h = ev.handshake("tls.backend." + b.name);
            if (!h) continue;
            if (h->outcome != HandshakeOutcome::Ok || h->chain.empty()) {
                problems.push_back(b.name + " (" + h->address + "): " + outcomeText(*h));
                continue;
            }
            std::vector<std::string> missing;
            for (auto& s : b.serves)
                if (!certificateCovers(h->chain.front(), s)) missing.push_back(s);
            if (!missing.empty())
                problems.push_back(b.name + " certificate " + leafSummary(*h) + " lacks " +
                                   join(missing, ", "));
            else
                seen.push_back(b.name + " covers " +
                               (b.serves.empty() ? b.host : join(b.serves, ",")));
        }
        if (!problems.empty())
            return result(d, Verdict::Fail, join(problems, "; "),
                          "issue the backend a certificate whose subjectAltName lists the public "
                          "names it is published under (full-domain publishing keeps the host "
                          "name); lab: backends[].publicNamesInCertificate=true");
        return result(d, Verdict::Pass, join(seen, "; "));
    };
    return d;
}

// ---- HTTP ----

std::vector<std::string> badLinks(const std::vector<std::string>& hrefs, const std::string& ws) {
    std::vector<std::string> bad;
    for (auto& href : hrefs) {
        auto u = parseUrl(href);
        if (!u || u->scheme != "https" || !iequals(u->host, ws) || u->port != 443)
            bad.push_back(href);
    }
    return bad;
}

std::string checkDiscoverJson(const HttpExchange& x, const std::string& ws) {
    if (x.status != 200) return "JSON: " + describeExchange(x);
    auto ct = lower(x.header("content-type").value_or(""));
    if (!startsWithI(ct, "application/json") &&
        !startsWithI(ct, "application/vnd.microsoft.rtc.autodiscover+json"))
        return "JSON: Content-Type " + (ct.empty() ? std::string("missing") : ct);
    auto doc = nlohmann::json::parse(x.body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("_links") || !doc["_links"].is_object())
        return "JSON: body has no _links object";
    std::vector<std::string> hrefs;
    for (auto& [k, v] : doc["_links"].items())
        if (v.is_object() && v.contains("href") && v["href"].is_string())
            hrefs.push_back(v["href"].get<std::string>());
    if (hrefs.empty()) return "JSON: no links";
    if (auto bad = badLinks(hrefs, ws); !bad.empty())
        return "JSON: links not on https://" + ws + "/: " + join(bad, " ");
    return {};
}

std::string checkDiscoverXml(const HttpExchange& x, const std::string& ws) {
    if (x.status != 200) return "XML: " + describeExchange(x);
    auto ct = lower(x.header("content-type").value_or(""));
    if (!startsWithI(ct, "application/vnd.microsoft.rtc.autodiscover+xml"))
        return "XML: Content-Type " + (ct.empty() ? std::string("missing") : ct) +
               " (clients accept only application/vnd.microsoft.rtc.autodiscover+xml)";
    xmlDocPtr doc =
        xmlReadMemory(x.body.data(), static_cast<int>(x.body.size()), "root.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) return "XML: body is not well-formed XML";
    std::vector<std::string> hrefs;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    auto named = [](xmlNodePtr n, const char* name) {
        return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
    };
    bool shape = root && named(root, "AutodiscoverResponse");
    if (shape)
        for (xmlNodePtr r = root->children; r; r = r->next)
            if (named(r, "Root"))
                for (xmlNodePtr l = r->children; l; l = l->next)
                    if (named(l, "Link")) {
                        xmlChar* h = xmlGetProp(l, BAD_CAST "href");
                        if (h) hrefs.push_back(reinterpret_cast<char*>(h)), xmlFree(h);
                    }
    xmlFreeDoc(doc);
    if (!shape) return "XML: root element is not AutodiscoverResponse";
    if (hrefs.empty()) return "XML: no AutodiscoverResponse/Root/Link";
    if (auto bad = badLinks(hrefs, ws); !bad.empty())
        return "XML: links not on https://" + ws + "/: " + join(bad, " ");
    return {};
}

CheckDefinition lyncdiscoverCheck(const Lab& lab) {
    CheckDefinition d{"lyncdiscover",
                      "Lyncdiscover root answers in JSON and XML with external links",
                      lab.names.lyncdiscover,
                      {"http.lyncdiscover.json", "http.lyncdiscover.xml"},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        auto* j = ev.exchange(d.probes[0]);
        auto* x = ev.exchange(d.probes[1]);
        if (!j || !x) return result(d, Verdict::Skip, "lyncdiscover not probed");
        const auto& ws = ctx.lab.names.webServices;
        std::vector<std::string> problems;
        if (auto p = checkDiscoverJson(*j, ws); !p.empty()) problems.push_back(p);
        if (auto p = checkDiscoverXml(*x, ws); !p.empty()) problems.push_back(p);
        if (!problems.empty())
            return result(d, Verdict::Fail, join(problems, "; "),
                          "publish https://" + ctx.lab.names.lyncdiscover +
                              "/ pass-through to the front end's external web services "
                              "(4443), and set the front end's external web services FQDN to " +
                              ws);
        return result(d, Verdict::Pass, "JSON and XML roots link to https://" + ws + "/ only");
    };
    return d;
}

CheckDefinition webServicesCheck(const Lab& lab, const WebServicesPath& w) {
    CheckDefinition d{"webservices." + slug(w.path),
                      "Web services " + w.path,
                      lab.names.webServices,
                      {"http.ws." + slug(w.path)},
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
                return result(d, Verdict::Fail,
                              describeExchange(*x) + " (redirects out of the public namespace)",
                              "publish https://" + ctx.lab.names.webServices +
                                  "/ with -ExternalPreAuthentication PassThrough and response "
                                  "header translation on, so that " + w.path +
                                  " answers as the front end does");
        }
        if (std::find(w.expected.begin(), w.expected.end(), x->status) != w.expected.end())
            return result(d, Verdict::Pass, describeExchange(*x));
        return result(d, Verdict::Fail,
                      describeExchange(*x) + " (a front end answers " + join(exp, "/") + ")",
                      "publish https://" + ctx.lab.names.webServices +
                          "/ pass-through to the front end on https://<fe>:4443/ so that " +
                          w.path + " reaches the external web services site");
    };
    return d;
}

CheckDefinition authCheck(const Lab& lab) {
    CheckDefinition d{"auth.passthrough",
                      "The front end's own OAuth challenge reaches the client (pass-through)",
                      lab.names.webServices,
                      {"http.auth.oauth-user"},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        auto* x = ev.exchange(d.probes.front());
        if (!x) return result(d, Verdict::Skip, "not probed");
        std::string remedy =
            "publish the Lync applications with -ExternalPreAuthentication PassThrough (Lync "
            "authenticates its clients itself)";
        if (x->status == 401) {
            for (auto& c : x->headers("www-authenticate"))
                if (startsWithI(c, "MsRtcOAuth"))
                    return result(d, Verdict::Pass, "401 with WWW-Authenticate: " + c);
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
CheckDefinition simpleUrlCheck(const Lab& lab, const std::string& id, const std::string& name,
                               std::vector<std::string> probes) {
    CheckDefinition d{id,
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
                          "publish https://" + d.ns +
                              "/ pass-through to the front end's external web services (4443) "
                              "with response header translation on, so redirects name public "
                              "hosts");
        return result(d, Verdict::Pass, join(seen, "; "));
    };
    return d;
}

// Hosts in XML namespaces and schema references are names, not links.
bool isNamespaceHost(std::string_view h) {
    static const std::set<std::string, std::less<>> known{
        "www.w3.org", "schemas.microsoft.com", "schemas.xmlsoap.org", "schemas.openxmlformats.org"};
    return known.count(h) > 0;
}

CheckDefinition owasUrlRuleCheck(const Lab& lab) {
    CheckDefinition d{"owas.url-rule",
                      "OWAS is published with the same external and backend host",
                      lab.names.owas,
                      {},
                      {}};
    d.evaluate = [d](const Evidence&, const CheckContext& ctx) {
        std::vector<std::string> bad, ok;
        for (auto& a : ctx.lab.applications) {
            if (!iequals(a.externalUrl.host, ctx.lab.names.owas)) continue;
            if (iequals(a.externalUrl.host, a.backendServerUrl.host))
                ok.push_back(a.name + ": " + a.externalUrl.host + " -> " + a.backendServerUrl.host);
            else
                bad.push_back(a.name + ": external " + a.externalUrl.host + " but backend " +
                              a.backendServerUrl.host);
        }
        if (!bad.empty())
            return result(d, Verdict::Fail, join(bad, "; "),
                          "Set-WebApplicationProxyApplication -BackendServerUrl https://" +
                              ctx.lab.names.owas +
                              "/ (OWAS writes the host it was asked for into bodies, which the "
                              "proxy does not rewrite); resolve that name to the OWAS farm "
                              "internally");
        if (ok.empty()) return result(d, Verdict::Skip, "no application publishes " + d.ns);
        return result(d, Verdict::Pass, join(ok, "; "));
    };
    return d;
}

// OWAS writes its farm's InternalURL itself into the presenter pages; the
// seed found that this is not what breaks clients (they never follow it), so
// that exact URL is allowed. Every other URL on an internal host is a leak.
bool isFarmInternalUrl(const Lab& lab, std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    for (auto& b : lab.backends) {
        if (!b.internalUrl) continue;
        std::string farm = *b.internalUrl;
        while (!farm.empty() && farm.back() == '/') farm.pop_back();
        if (iequals(farm, url)) return true;
    }
    return false;
}

CheckDefinition owasNamesCheck(const Lab& lab) {
    CheckDefinition d{"owas.no-internal-names",
                      "OWAS discovery and presenter pages name only public hosts",
                      lab.names.owas,
                      {"http.owas.discovery", "http.owas.presenter", "http.owas.participant"},
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
                // Lync's front end names itself here; that is expected (FACTS).
                if (name == "x-ms-server-fqdn") continue;
                scan(value, x->url + " header " + name);
            }
            scan(x->body, x->url + " body");
        }
        if (!any) return result(d, Verdict::Skip, "not probed");
        if (!leaked.empty())
            return result(d, Verdict::Fail, "internal host named to clients: " + join(where, "; "),
                          "publish OWAS with BackendServerUrl on the public name (https://" +
                              ctx.lab.names.owas +
                              "/), so OWAS writes that name into its pages; the proxy does not "
                              "rewrite bodies");
        if (!problems.empty())
            return result(d, Verdict::Fail, "pages not served: " + join(problems, "; "),
                          "publish https://" + ctx.lab.names.owas +
                              "/ pass-through to the OWAS farm so that /hosting/discovery and "
                              "/m/Presenter.aspx answer 200");
        return result(d, Verdict::Pass, "discovery and presenter pages name public hosts only");
    };
    return d;
}

CheckDefinition owasWopiSrcCheck(const Lab& lab) {
    CheckDefinition d{"owas.wopisrc",
                      "A double-encoded WopiSrc reaches OWAS unchanged",
                      lab.names.owas,
                      {"http.owas.wopisrc"},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext&) {
        auto* x = ev.exchange(d.probes.front());
        if (!x) return result(d, Verdict::Skip, "not probed");
        if (x->status == 200) return result(d, Verdict::Pass, describeExchange(*x));
        std::string why =
            x->status == 400
                ? " (OWAS rejected the WopiSrc: the proxy decoded or normalised the URL)"
                : "";
        return result(d, Verdict::Fail, describeExchange(*x) + why,
                      "forward request URLs unchanged (no URL normalisation or decoding on the "
                      "OWAS rule; TMG: turn off Verify Normalization)");
    };
    return d;
}

CheckDefinition longPollCheck(const Lab& lab) {
    CheckDefinition d{"webservices.long-poll",
                      "Lync applications let the UCWA event channel wait its full hold",
                      lab.names.webServices,
                      {},
                      {}};
    d.evaluate = [d](const Evidence&, const CheckContext& ctx) {
        int hold = 0;
        for (auto& b : ctx.lab.backends)
            if (b.role == provision::BackendRole::LyncFrontEnd)
                hold = std::max(hold, b.eventChannelHoldSec);
        if (hold == 0) hold = 180;  // the front end's default hold (FACTS)
        std::vector<std::string> bad, ok;
        for (auto& a : ctx.lab.applications) {
            auto* b = backendFor(ctx.lab, a.backendServerUrl.host);
            bool lync = (b && b->role == provision::BackendRole::LyncFrontEnd) ||
                        (!b && !iequals(a.externalUrl.host, ctx.lab.names.owas));
            if (!lync) continue;
            std::string s = a.name + " " + std::to_string(a.inactiveTransactionsTimeoutSec) + " s";
            (a.inactiveTransactionsTimeoutSec > hold ? ok : bad).push_back(s);
        }
        if (ok.empty() && bad.empty()) return result(d, Verdict::Skip, "no Lync applications");
        if (!bad.empty())
            return result(d, Verdict::Fail,
                          "inactive-transaction timeout not above the " + std::to_string(hold) +
                              " s event channel hold: " + join(bad, ", "),
                          "Set-WebApplicationProxyApplication -InactiveTransactionsTimeoutSec " +
                              std::to_string(std::max(300, hold + 60)) +
                              " on each Lync application (WAP's default is 300)");
        return result(d, Verdict::Pass, "hold " + std::to_string(hold) + " s < " + join(ok, ", "));
    };
    return d;
}

CheckDefinition headersCheck(const Lab& lab) {
    CheckDefinition d{"headers.translated",
                      "No Location, Content-Location or Set-Cookie names a backend host or port",
                      lab.domain,
                      idsOf(httpProbes(lab)),
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

}  // namespace

std::string to_string(Verdict v) {
    switch (v) {
        case Verdict::Pass:
            return "PASS";
        case Verdict::Fail:
            return "FAIL";
        case Verdict::Skip:
            return "SKIP";
        case Verdict::Warn:
            return "WARN";
    }
    return "?";
}

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
        case HandshakeOutcome::OtherError:
            return "error";
    }
    return "?";
}

std::vector<std::string> publicNames(const provision::Lab& lab) {
    std::vector<std::string> all;
    for (auto* n : {&lab.names.webServices, &lab.names.meet, &lab.names.dialin,
                    &lab.names.lyncdiscover, &lab.names.owas})
        if (!n->empty()) all.push_back(lower(*n));
    return all;
}

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
            s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else if (!s.empty() && s.back() != '-')
            s += '-';
    }
    while (!s.empty() && s.back() == '-') s.pop_back();
    return s;
}

bool certificateCovers(const CertificateInfo& c, std::string_view nameIn) {
    std::string name = lower(std::string(nameIn));
    auto matches = [&](std::string pattern) {
        pattern = lower(pattern);
        if (pattern == name) return true;
        // One wildcard label, leftmost only (RFC 6125 6.4.3).
        if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
            auto dot = name.find('.');
            return dot != std::string::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
        }
        return false;
    };
    if (!c.dnsNames.empty()) return std::any_of(c.dnsNames.begin(), c.dnsNames.end(), matches);
    return matches(c.subjectCn);
}

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
        m.host = lower((*it)[1].str());
        while (!m.host.empty() && m.host.back() == '.') m.host.pop_back();
        m.port = (*it)[2].matched ? std::stoi((*it)[2].str()) : 0;
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<CheckDefinition> catalogue(const provision::Lab& lab, const Target& target) {
    std::vector<CheckDefinition> all;
    for (auto& n : publicNames(lab)) all.push_back(sniCheck(n));
    for (auto& n : publicNames(lab)) all.push_back(chainCheck(n));
    for (auto& c : lab.clients)
        if (!c.sendsSni) all.push_back(noSniCheck(lab, c));
    all.push_back(lyncdiscoverCheck(lab));
    for (auto& w : webServicesPaths()) all.push_back(webServicesCheck(lab, w));
    all.push_back(authCheck(lab));
    all.push_back(
        simpleUrlCheck(lab, "meet", lab.names.meet, {"http.meet.join", "http.meet.user"}));
    all.push_back(simpleUrlCheck(lab, "dialin", lab.names.dialin, {"http.dialin"}));
    all.push_back(owasUrlRuleCheck(lab));
    all.push_back(owasNamesCheck(lab));
    all.push_back(owasWopiSrcCheck(lab));
    all.push_back(longPollCheck(lab));
    all.push_back(headersCheck(lab));
    all.push_back(backendCertCheck(lab, target));
    return all;
}

bool globMatch(std::string_view p, std::string_view t) {
    size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
    while (ti < t.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
            ++pi, ++ti;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++, mark = ti;
        } else if (star != std::string_view::npos) {
            pi = star + 1, ti = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

std::vector<CheckDefinition> selectChecks(std::vector<CheckDefinition> all,
                                          const std::vector<std::string>& only,
                                          const std::vector<std::string>& skip) {
    std::vector<CheckDefinition> out;
    for (auto& d : all) {
        auto match = [&](const std::string& g) { return globMatch(g, d.id); };
        if (!only.empty() && std::none_of(only.begin(), only.end(), match)) continue;
        if (std::any_of(skip.begin(), skip.end(), match)) continue;
        out.push_back(std::move(d));
    }
    return out;
}

ProbePlan planProbes(const provision::Lab& lab, const Target& target,
                     const std::vector<CheckDefinition>& checks) {
    std::set<std::string> wanted;
    for (auto& c : checks) wanted.insert(c.probes.begin(), c.probes.end());
    // The no-SNI remedy quotes the certificate served for the web services name.
    bool noSni = std::any_of(checks.begin(), checks.end(),
                             [](auto& c) { return c.id.rfind("tls.no-sni.", 0) == 0; });
    if (noSni) wanted.insert("tls.sni." + lab.names.webServices);

    ProbePlan plan;
    for (auto& p : httpProbes(lab))
        if (wanted.count(p.id)) plan.http.push_back(p);
    for (auto& n : publicNames(lab)) {
        HandshakeProbe h;
        h.id = "tls.sni." + n;
        h.host = n;
        h.sni = n;
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    for (auto& c : lab.clients) {
        if (c.sendsSni) continue;
        HandshakeProbe h;
        h.id = "tls.no-sni." + c.name;
        h.host = c.names.empty() ? lab.names.webServices : c.names.front();
        h.profile = c.name;
        h.minTls = c.minTls;
        h.maxTls = c.maxTls;
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    for (auto& b : lab.backends) {
        auto it = target.backendAddresses.find(b.name);
        if (it == target.backendAddresses.end()) continue;
        HandshakeProbe h;
        h.id = "tls.backend." + b.name;
        h.host = b.host;
        h.port = b.port;
        h.address = it->second;
        h.sni = b.serves.empty() ? b.host : b.serves.front();
        h.profile = "backend";
        if (wanted.count(h.id)) plan.tls.push_back(h);
    }
    return plan;
}

std::vector<CheckResult> evaluateAll(const std::vector<CheckDefinition>& checks, const Evidence& ev,
                                     const CheckContext& ctx) {
    std::vector<CheckResult> out;
    for (auto& c : checks) {
        CheckResult r = c.evaluate(ev, ctx);
        double ms = 0;
        for (auto& p : c.probes) {
            if (auto* x = ev.exchange(p)) ms = std::max(ms, x->timings.totalMs);
            if (auto* h = ev.handshake(p)) ms = std::max(ms, h->durationMs);
        }
        r.seconds = ms / 1000.0;
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace edgelab::checks
