#include "backends/lync_frontend.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/request_target.hpp"
#include "backends/response.hpp"
#include "backends/signin.hpp"
#include "backends/ucwa.hpp"
#include "backends/wstrust.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::backends {

namespace {

using nlohmann::json;

constexpr std::string_view kAutodiscoverJson =
    "application/vnd.microsoft.rtc.autodiscover+json;v=1";
constexpr std::string_view kRootPath = "/Autodiscover/AutodiscoverService.svc/root";

enum class Site { Lyncdiscover, WebServices, Meet, Dialin, Unknown };

Site siteFor(const SiteConfig& site, const std::string& host) {
    if (host == site.lyncdiscover) return Site::Lyncdiscover;
    if (host == site.webServices || host == site.serverFqdn) return Site::WebServices;
    if (host == site.meet) return Site::Meet;
    if (host == site.dialin) return Site::Dialin;
    return Site::Unknown;
}

bool wantsXml(const Request& req) {
    return icontains(sv(req[http::field::accept]),
                     "application/vnd.microsoft.rtc.autodiscover+xml");
}

std::string https(std::string_view host, std::string_view path) {
    return "https://" + std::string(host) + std::string(path);
}

// The SIP domain the client asked about (?sipuri=user@domain), else the lab's.
std::string originalDomain(const SiteConfig& site, std::string_view query) {
    auto sipuri = rawQueryParam(query, "sipuri");
    if (!sipuri) return site.domain;
    std::string uri = percentDecode(*sipuri);
    auto at = uri.rfind('@');
    if (at == std::string::npos || at + 1 == uri.size()) return site.domain;
    std::string domain = asciiLower(uri.substr(at + 1));
    bool plain = std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    return plain ? domain : site.domain;
}

const char* const kXmlPreamble =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<AutodiscoverResponse xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" AccessLocation=\"External\">\r\n";

std::string xmlLink(std::string_view token, std::string_view href) {
    return "    <Link token=\"" + escapeMarkup(token) + "\" href=\"" + escapeMarkup(href) +
           "\"/>\r\n";
}

// MS-OCDISCWS root resource; every link names the external web services FQDN,
// never the address the request reached.
Response autodiscoverRoot(const SiteConfig& site, const Request& req, std::string_view query) {
    std::string root = https(site.webServices, kRootPath);
    if (wantsXml(req)) {
        std::string body = kXmlPreamble;
        body += "  <Root>\r\n";
        body += xmlLink("Domain", root + "/domain");
        body += xmlLink("User", root + "/user");
        body += xmlLink("OAuth", root + "/oauth/user");
        body += "  </Root>\r\n</AutodiscoverResponse>\r\n";
        return makeResponse(req, http::status::ok, kAutodiscoverXml, std::move(body));
    }
    std::string od = "?originalDomain=" + originalDomain(site, query);
    json doc = {
        {"_links",
         {{"self", {{"href", root + od}}},
          {"user", {{"href", root + "/oauth/user" + od}}},
          {"xframe", {{"href", https(site.webServices, "/Autodiscover/XFrame/XFrame.html")}}}}}};
    return makeResponse(req, http::status::ok, kAutodiscoverJson, doc.dump());
}

// The user resource a client gets once authenticated: where UCWA, MCX and the
// rest live, for inside (the server's own name) and outside (the public name).
Response autodiscoverUser(const SiteConfig& site, const Request& req, bool oauth) {
    struct Service {
        const char* token;
        const char* path;
    };
    static constexpr Service kServices[] = {
        {"Autodiscover", "/Autodiscover/AutodiscoverService.svc/root"},
        {"AuthBroker", "/Reach/sip.svc"},
        {"WebScheduler", "/Scheduler"},
        {"Mcx", "/Mcx/McxService.svc"},
        {"Ucwa", "/ucwa/v1/applications"},
        {"XFrame", "/Autodiscover/XFrame/XFrame.html"},
    };
    std::string self = https(site.webServices, kRootPath) + (oauth ? "/oauth/user" : "/user");
    std::vector<std::pair<std::string, std::string>> links;
    for (const auto& s : kServices)
        links.emplace_back(std::string("Internal/") + s.token, https(site.serverFqdn, s.path));
    for (const auto& s : kServices)
        links.emplace_back(std::string("External/") + s.token, https(site.webServices, s.path));
    links.emplace_back("Ucwa", https(site.webServices, "/ucwa/v1/applications"));
    links.emplace_back("Self", self);

    // Where a desktop client registers: the pool inside, the Access Edge
    // outside ([MS-OCDISCWS] 2.2.4.1, SipServer*Access and SipClient*Access).
    const std::string edge = externalSipFqdn(site);
    if (wantsXml(req)) {
        std::string body = kXmlPreamble;
        body += "  <User>\r\n";
        for (const char* access : {"SipServerInternalAccess", "SipClientInternalAccess"})
            body += "    <" + std::string(access) + " fqdn=\"" + escapeMarkup(site.serverFqdn) +
                    "\" port=\"5061\"/>\r\n";
        for (const char* access : {"SipServerExternalAccess", "SipClientExternalAccess"})
            body += "    <" + std::string(access) + " fqdn=\"" + escapeMarkup(edge) +
                    "\" port=\"443\"/>\r\n";
        for (const auto& [token, href] : links) body += xmlLink(token, href);
        body += "  </User>\r\n</AutodiscoverResponse>\r\n";
        return makeResponse(req, http::status::ok, kAutodiscoverXml, std::move(body));
    }
    json list = json::array();
    for (const auto& [token, href] : links) list.push_back({{"token", token}, {"href", href}});
    json doc = {
        {"AccessLocation", "External"},
        {"_links",
         {{"self", {{"href", self}}},
          {"applications",
           {{"href", https(site.webServices, "/ucwa/oauth/v1/applications")}, {"revision", "2"}}},
          {"xframe", {{"href", https(site.webServices, "/Autodiscover/XFrame/XFrame.html")}}}}},
        {"Links", list}};
    for (const char* access : {"SipServerInternalAccess", "SipClientInternalAccess"})
        doc[access] = {{"fqdn", site.serverFqdn}, {"port", "5061"}};
    for (const char* access : {"SipServerExternalAccess", "SipClientExternalAccess"})
        doc[access] = {{"fqdn", edge}, {"port", "443"}};
    return makeResponse(req, http::status::ok, kAutodiscoverJson, doc.dump());
}

// The user an OAuth access token (Authorization: Bearer cwt=...) names.
std::optional<std::string> bearerUser(const SiteConfig& site, const Request& req) {
    auto auth = sv(req[http::field::authorization]);
    if (!istartsWith(auth, "Bearer ")) return std::nullopt;
    return tokenSubject(site, auth.substr(7), kOAuthAudience, std::chrono::system_clock::now());
}

// What the user resource makes of X-MS-WebTicket: the user it names, or why
// the ticket sent is refused (empty when none was sent).
struct TicketCheck {
    std::optional<std::string> user;
    std::string refused;
};

// The assertion's audience is one of this site's services (what the client
// named in AppliesTo): a ticket issued for another service is not replayed here.
bool ourAudience(const SiteConfig& site, std::string_view audience) {
    const auto scheme = audience.find("://");
    if (scheme == std::string_view::npos) return false;
    std::string_view host = audience.substr(scheme + 3);
    host = host.substr(0, host.find_first_of(":/?#"));
    return iequals(host, site.webServices) || iequals(host, site.serverFqdn) ||
           iequals(host, site.lyncdiscover);
}

// X-MS-WebTicket: opaque=<base64 of the SAML 1.1 assertion this front end
// issued> (what pidgin-sipe and Lync send), or opaque=cwt=... (the compact
// ticket, user-cwt-1).
TicketCheck webTicketUser(const SiteConfig& site, const Request& req) {
    auto value = sv(req["X-MS-WebTicket"]);
    if (value.empty()) return {};
    if (!istartsWith(value, "opaque="))
        return {std::nullopt, "X-MS-WebTicket is not opaque=<ticket>"};
    value.remove_prefix(7);
    const auto now = std::chrono::system_clock::now();
    if (value.starts_with("cwt=")) {
        auto user = tokenSubject(site, value, kWebTicketAudience, now);
        if (!user) return {std::nullopt, "the compact web ticket is not valid here"};
        return {user, {}};
    }
    auto xml = ntlm::unbase64(value);
    if (!xml) return {std::nullopt, "the web ticket is not base64"};
    auto claims = verifySamlAssertion(
        std::string_view(reinterpret_cast<const char*>(xml->data()), xml->size()), site.tokenKey,
        now);
    if (!claims) return {std::nullopt, claims.error()};
    if (!ourAudience(site, claims->audience))
        return {std::nullopt, "the assertion was issued for another service"};
    return {claims->subject, {}};
}

// The external web services of the pool a signed-in user is homed on, when
// it is not this one's (a Director, or a pool the user is not homed on).
std::optional<std::string> homedElsewhere(const SiteConfig& site, const std::string& sipUri) {
    const SiteUser* user = findUser(site, sipUri);
    if (!user || user->homeWebServices.empty() || user->homeWebServices == site.webServices)
        return std::nullopt;
    return user->homeWebServices;
}

// The user resource of a user homed elsewhere: 200 with only a redirect to
// the home pool's autodiscover root ([MS-OCDISCWS] 3.1.5.3; UCWA's
// `redirect`), which the client follows and signs in to again.
Response homeRedirect(const SiteConfig& site, const Request& req, const std::string& home) {
    const std::string target =
        https(home, kRootPath) + "?originalDomain=" + percentEncode(site.domain);
    if (wantsXml(req))
        return makeResponse(req, http::status::ok, kAutodiscoverXml,
                            std::string(kXmlPreamble) + "  <Root>\r\n" +
                                xmlLink("Redirect", target) +
                                "  </Root>\r\n</AutodiscoverResponse>\r\n");
    json doc = {{"_links",
                 {{"self", {{"href", https(site.webServices, sv(req.target()))}}},
                  {"redirect", {{"href", target}}}}}};
    return makeResponse(req, http::status::ok, kAutodiscoverJson, doc.dump());
}

// What a front end answers where an OAuth token is needed and none was sent:
// its own challenge, which is how a client tells pass-through publishing from
// proxy pre-authentication (docs/design.md S2).
Response oauthChallenge(const SiteConfig& site, const Request& req) {
    auto res =
        errorPage(req, http::status::unauthorized, "Access is denied due to invalid credentials.");
    res.insert(http::field::www_authenticate, std::string(kBearerChallenge));
    res.insert(http::field::www_authenticate,
               msRtcOAuthChallenge(site, hostOfHostHeader(sv(req[http::field::host]))));
    // The front end's internal name here is normal for Lync, not a leak.
    res.set("X-MS-Server-Fqdn", site.serverFqdn);
    return res;
}

Response page(const Request& req, std::string_view title, std::string_view content) {
    std::string body = "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>" +
                       escapeMarkup(title) + "</title></head>\r\n<body>\r\n" +
                       std::string(content) + "\r\n</body></html>\r\n";
    return makeResponse(req, http::status::ok, "text/html; charset=utf-8", std::move(body));
}

Response notAllowed(const Request& req, std::string_view allow) {
    auto res = errorPage(req, http::status::method_not_allowed,
                         "The page you are looking for cannot be displayed because an invalid "
                         "method (HTTP verb) is being used.");
    res.set(http::field::allow, std::string(allow));
    return res;
}

bool safeSegment(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        while (!path.empty() && path.front() == '/') path.remove_prefix(1);
        auto slash = path.find('/');
        if (!path.empty()) out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash);
    }
    return out;
}

// A user's personal conference id: stable, so that a redirect is repeatable.
std::string personalConferenceId(std::string_view user) {
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (char c : asciiLower(user)) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    static constexpr char kAlphabet[] = "BCDFGHJKLMNPQRSTVWXZ0123456789";
    std::string id;
    for (int i = 0; i < 8; ++i, h /= 30) id.push_back(kAlphabet[h % 30]);
    return id;
}

// The meeting join page of a simple URL https://meet.DOMAIN/USER/CONFID.
Response meetingJoinPage(const SiteConfig& site, const Request& req, std::string_view user,
                         std::string_view conference) {
    std::string meetUrl = https(site.meet, "/" + std::string(user) + "/" + std::string(conference));
    std::string lwa =
        https(site.webServices, "/lwa/WebPages/LwaClient.aspx?meeturl=") + percentEncode(meetUrl);
    std::string organizer = std::string(user) + "@" + site.domain;
    std::string content =
        "<h1>Join Lync Meeting</h1>\r\n"
        "<p>Conference <span id=\"conference-id\">" +
        escapeMarkup(conference) + "</span> organized by <span id=\"organizer\">" +
        escapeMarkup(organizer) +
        "</span></p>\r\n"
        "<p><a id=\"join-lwa\" href=\"" +
        escapeMarkup(lwa) +
        "\">Join using Lync Web App</a></p>\r\n"
        "<p><a id=\"join-client\" href=\"" +
        escapeMarkup("conf:sip:" + organizer +
                     ";gruu;opaque=app:conf:focus:id:" + std::string(conference)) +
        "\">Join using the Lync client</a></p>";
    return page(req, "Join Lync Meeting", content);
}

// Where a real front end redirects, it builds Location from the Host it was
// asked for and the port it listens on; behind a proxy that is an internal
// URL the proxy must translate (docs/design.md, Publishing).
Response redirect(const SiteConfig& site, const Request& req, std::string_view path) {
    std::string location = "https://" + hostOfHostHeader(sv(req[http::field::host])) + ":" +
                           std::to_string(site.listenPort) + std::string(path);
    return objectMoved(req, location);
}

// The meet application, at the root of the meet name or under /meet on the
// web services names.
Response meet(const SiteConfig& site, const Request& req, std::string_view path,
              bool underWebServices) {
    if (!isGetOrHead(req)) return notAllowed(req, "GET, HEAD");
    auto parts = segments(path);
    if (underWebServices) parts.erase(parts.begin());  // "meet"
    if (parts.empty() || parts.size() > 2 || !safeSegment(parts[0]) ||
        (parts.size() == 2 && !safeSegment(parts[1])))
        return errorPage(req, http::status::not_found,
                         "The meeting you are trying to join was not found.");
    std::string user(parts[0]);
    if (parts.size() == 1) {
        std::string base = underWebServices ? "/meet/" : "/";
        return redirect(site, req, base + user + "/" + personalConferenceId(user));
    }
    if (underWebServices) {
        std::string meetUrl = https(site.meet, "/" + user + "/" + std::string(parts[1]));
        return redirect(site, req,
                        "/lwa/WebPages/LwaClient.aspx?meeturl=" + percentEncode(meetUrl));
    }
    return meetingJoinPage(site, req, user, parts[1]);
}

Response dialinPage(const SiteConfig& site, const Request& req) {
    if (!isGetOrHead(req)) return notAllowed(req, "GET, HEAD");
    std::string content =
        "<h1>Dial-in Conferencing</h1>\r\n"
        "<p>Join a Lync meeting by phone with one of these access numbers.</p>\r\n"
        "<table id=\"access-numbers\">\r\n"
        "<tr><th>Region</th><th>Number</th><th>Languages</th></tr>\r\n"
        "<tr><td>Australia</td><td>+61 2 5550 0100</td><td>English (Australia)</td></tr>\r\n"
        "<tr><td>United States</td><td>+1 (425) 555-0100</td>"
        "<td>English (United States)</td></tr>\r\n"
        "</table>\r\n"
        "<p><a id=\"pin\" href=\"" +
        escapeMarkup(https(site.dialin, "/")) + "\">Sign in to manage your PIN</a> (" +
        escapeMarkup(site.domain) + ")</p>";
    return page(req, "Dial-in Conferencing", content);
}

// The services that answer an anonymous client with Windows authentication.
bool needsWindowsAuth(std::string_view p) {
    static constexpr std::string_view kPrefixes[] = {
        "/abs",        "/groupexpansion",    "/certprov",      "/webticket/webticketservice.svc",
        "/rgsclients", "/requesthandlerext", "/collabcontent", "/datacollabweb",
    };
    for (auto prefix : kPrefixes)
        if (p == prefix ||
            (p.starts_with(prefix) && (p[prefix.size()] == '/' || p[prefix.size()] == '.')))
            return true;
    return false;
}

bool under(std::string_view p, std::string_view prefix) {
    return p == prefix || (p.starts_with(prefix) && p[prefix.size()] == '/');
}

// The Web Ticket Service: metadata anonymously, tickets to a client signed
// in with Integrated Windows authentication on its connection.
Response webTicketService(const SiteConfig& site, const Request& req, const std::string& p,
                          ConnectionAuth& connection) {
    if (p == "/webticket/webticketservice.svc/mex" && isGetOrHead(req))
        return webTicketMetadata(site, req);
    if (p != "/webticket/webticketservice.svc") return windowsAuthChallenge(req);
    auto outcome = authenticateWindows(site, req, connection);
    if (outcome.challenge) return std::move(*outcome.challenge);
    auto res = issueWebTicket(site, req, *outcome.sipUri, std::chrono::system_clock::now());
    if (outcome.finalAuthenticate)
        res.set(http::field::www_authenticate, *outcome.finalAuthenticate);
    return res;
}

Reply webServices(const SiteConfig& site, const Request& req, Site where,
                  ConnectionAuth& connection) {
    auto [rawPath, query] = splitTarget(sv(req.target()));
    std::string p = asciiLower(rawPath);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    const std::string root = asciiLower(kRootPath);

    if (p == "/" && where == Site::Lyncdiscover) return {autodiscoverRoot(site, req, query)};
    if (p == root || p == root + "/domain") return {autodiscoverRoot(site, req, query)};
    if (p == root + "/user") {
        const TicketCheck ticket = webTicketUser(site, req);
        if (ticket.user) {
            if (auto home = homedElsewhere(site, *ticket.user))
                return {homeRedirect(site, req, *home)};
            return {autodiscoverUser(site, req, false)};
        }
        auto res = errorPage(req, http::status::unauthorized,
                             "Access is denied due to invalid credentials.");
        // pidgin-sipe reads this to fetch a ticket and retries with X-MS-WebTicket.
        res.set("X-MS-WebTicketURL", https(site.webServices, "/WebTicket/WebTicketService.svc"));
        if (!ticket.refused.empty())
            res.set("X-Ms-diagnostics",
                    "28032;source=\"" + site.serverFqdn +
                        "\";reason=\"The web ticket is refused: " + ticket.refused + "\"");
        return {std::move(res)};
    }
    if (p == root + "/oauth/user") {
        if (auto user = bearerUser(site, req)) {
            if (auto home = homedElsewhere(site, *user)) return {homeRedirect(site, req, *home)};
            return {autodiscoverUser(site, req, true)};
        }
        return {oauthChallenge(site, req)};
    }
    if (p == "/autodiscover/xframe/xframe.html")
        return {page(req, "XFrame",
                     "<script>/* cross-domain frame for Lync autodiscover clients */</script>")};
    if (p == "/reach/sip.svc")
        return {page(req, "Service",
                     "<p>You have created a service. (Lync Web App authentication broker)</p>")};
    if (under(p, "/scheduler"))
        return {page(req, "Lync Web Scheduler",
                     "<form id=\"signin\" method=\"post\"><label>User name <input "
                     "name=\"username\"/></label><label>Password <input type=\"password\" "
                     "name=\"password\"/></label><button>Sign in</button></form>")};
    if (p == "/lwa/webpages/lwaclient.aspx")
        return {page(req, "Lync Web App", "<div id=\"lwa\">Lync Web App is starting.</div>")};
    if (p == "/mcx/mcxservice.svc" || p.starts_with("/mcx/")) return {oauthChallenge(site, req)};
    if (p == "/webticket/oauthtoken")
        return {oauthToken(site, req, connection, std::chrono::system_clock::now())};
    if (under(p, "/webticket/webticketservice.svc"))
        return {webTicketService(site, req, p, connection)};
    if (under(p, "/ucwa")) {
        auto user = bearerUser(site, req);
        if (!user) return {oauthChallenge(site, req)};
        return handleUcwa(site, req, p, query, user);
    }
    if (needsWindowsAuth(p)) return {windowsAuthChallenge(req)};
    if (under(p, "/meet")) return {meet(site, req, rawPath, true)};
    if (under(p, "/dialin")) return {dialinPage(site, req)};
    return {errorPage(req, http::status::not_found,
                      "The resource you are looking for has been removed, had its name changed, "
                      "or is temporarily unavailable.")};
}

}  // namespace

std::string msRtcOAuthChallenge(const SiteConfig& site, std::string_view host) {
    return "MsRtcOAuth href=\"" +
           https(host.empty() ? std::string_view(site.webServices) : host,
                 "/WebTicket/oauthtoken") +
           "\",grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\"";
}

Reply handleLyncFrontEnd(const SiteConfig& site, const Request& req, ConnectionAuth& connection) {
    std::string host = hostOfHostHeader(sv(req[http::field::host]));
    Site where = siteFor(site, host);
    auto rawPath = splitTarget(sv(req.target())).path;
    switch (where) {
        case Site::Lyncdiscover:
        case Site::WebServices:
            return webServices(site, req, where, connection);
        case Site::Meet:
            return {meet(site, req, rawPath, false)};
        case Site::Dialin: {
            std::string p = asciiLower(rawPath);
            if (p == "/" || p == "/default.aspx" || under(p, "/dialin"))
                return {dialinPage(site, req)};
            return {errorPage(req, http::status::not_found)};
        }
        case Site::Unknown:
            break;
    }
    return {errorPage(req, http::status::not_found,
                      "This front end serves no site for host name " + host + ".")};
}

}  // namespace edgelab::backends
