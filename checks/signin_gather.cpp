// Gathering the sign-ins: libcurl easy handles driven step by step, as a
// client signs in. Each starts at lyncdiscover (or the meet simple URL) and
// goes only where the answers send it (checks/discovery.hpp): a URL off the
// published names is recorded, with where it came from, and never requested.
// libcurl does the NTLM of the web ticket sign-in itself (CURLAUTH_NTLM); the
// affinity probe drives the three legs with provision/ntlm.hpp, because it
// must act between them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "checks/discovery.hpp"
#include "checks/gather.hpp"
#include "checks/signin.hpp"
#include "checks/trust.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::checks {

namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

// Credentials in headers are recorded by their length only.
Headers recorded(const Headers& headers) {
    Headers out;
    for (const auto& [k, v] : headers) {
        const bool secret = k == "Authorization" || k == "X-MS-WebTicket";
        out.emplace_back(k, secret ? "<" + std::to_string(v.size()) + " characters>" : v);
    }
    return out;
}

void redact(std::string& body, const std::string& secret) {
    if (secret.empty()) return;
    for (auto at = body.find(secret); at != std::string::npos; at = body.find(secret, at))
        body.replace(at, secret.size(), "<" + std::to_string(secret.size()) + " characters>");
}

// One client connection (libcurl keeps it alive between steps), configured
// as every probe: the target's --connect-to entries and trusted roots.
class Client {
  public:
    Client(const Target& target, const GatherOptions& opt) : opt_(opt), easy_(curl_easy_init()) {
        for (const auto& c : target.connectTo)
            connectTo_ = curl_slist_append(connectTo_, c.c_str());
        curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connectTo_);
        // The run's TLS sessions: a new connection resumes one, as a client
        // process's next connection would; it is still a new connection.
        if (opt.share) curl_easy_setopt(easy_, CURLOPT_SHARE, opt.share);
        opt.trust->apply(easy_);
        curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(opt.connectTimeout.count()));
        curl_easy_setopt(easy_, CURLOPT_USERAGENT, "edgelab-check/0.1 (Lync sign-in)");
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, recordBody);
        curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, recordHeader);
    }
    ~Client() {
        curl_easy_cleanup(easy_);
        curl_slist_free_all(connectTo_);
        curl_slist_free_all(list_);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // With libcurl's own NTLM for the next requests (CURLAUTH_NTLM).
    void useNtlm(const SignInCredentials& user) {
        curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_NTLM));
        curl_easy_setopt(easy_, CURLOPT_USERNAME, user.account.c_str());
        curl_easy_setopt(easy_, CURLOPT_PASSWORD, user.password.c_str());
    }

    SignInStep send(const std::string& name, const std::string& method, const std::string& url,
                    const Headers& headers = {}, const std::string& body = {},
                    double timeoutSeconds = 0) {
        prepare(name, method, url, headers, body, timeoutSeconds);
        return complete(curl_easy_perform(easy_));
    }

    // send() in two halves, for a transfer that a multi handle drives:
    // prepare() sets the request on the handle, complete() reads its answer.
    void prepare(const std::string& name, const std::string& method, const std::string& url,
                 const Headers& headers = {}, const std::string& body = {},
                 double timeoutSeconds = 0) {
        pending_ = SignInStep{name, {}, 0};
        HttpExchange& x = pending_.exchange;
        x.method = method;
        x.url = url;
        x.requestHeaders = recorded(headers);
        recording_ = {&x, opt_.bodyLimit};
        for (const auto& [k, v] : headers) list_ = curl_slist_append(list_, (k + ": " + v).c_str());
        errbuf_[0] = 0;
        body_ = body;
        curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list_);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &recording_);
        curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &recording_);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
        const auto timeout = std::max<long>(static_cast<long>(opt_.requestTimeout.count()),
                                            static_cast<long>((timeoutSeconds + 30) * 1000));
        curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout);
        if (method == "POST") {
            curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
            curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
        } else {
            curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
        }
        started_ = Clock::now();
    }

    SignInStep complete(CURLcode code) {
        SignInStep step = std::move(pending_);
        HttpExchange& x = step.exchange;
        step.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &x.status);
        long connects = 0;
        curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
        newConnection_ = connects > 0;
        if (code != CURLE_OK) x.error = errbuf_[0] ? errbuf_ : curl_easy_strerror(code);
        curl_off_t connectUs = 0;
        curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connectUs);
        x.timings.connectMs = static_cast<double>(connectUs) / 1000.0;
        x.timings.totalMs = step.seconds * 1000.0;
        x.transport = transportError(code, connectUs > 0);
        x.connected = x.status > 0 || connectUs > 0;
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
        curl_slist_free_all(list_);
        list_ = nullptr;
        return step;
    }

    CURL* handle() const { return easy_; }
    bool lastOnNewConnection() const { return newConnection_; }

  private:
    const GatherOptions& opt_;
    CURL* easy_;
    curl_slist* connectTo_ = nullptr;
    bool newConnection_ = false;
    // The request under way (prepare() to complete()).
    SignInStep pending_;
    ResponseRecording recording_;
    curl_slist* list_ = nullptr;
    std::string body_;
    char errbuf_[CURL_ERROR_SIZE] = {};
    Clock::time_point started_;
};

std::string formEncode(const std::string& text) {
    char* e = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
}

std::string linkOf(const std::string& body, const char* name) {
    auto doc = json::parse(body, nullptr, false);
    if (!doc.is_object() || !doc["_links"].is_object() || !doc["_links"][name].is_object())
        return {};
    return doc["_links"][name].value("href", "");
}

// "GET https://... (200)": where a URL was read, for the report.
std::string answerOf(const SignInStep& s) {
    return s.exchange.method + " " + s.exchange.url + " (" +
           (s.exchange.status ? std::to_string(s.exchange.status) : std::string("no answer")) + ")";
}

// Records a URL the client was handed; true when it may follow it. A URL off
// the published names (or off 443) is recorded and never requested: a client
// outside could not reach it, and a check must not leave the target.
bool handed(SignInFlow& flow, const SignInProbe& p, const std::string& kind, const std::string& url,
            const std::string& source) {
    flow.discovered.push_back({kind, url, source});
    return notPublicReason(url, p.publicHosts).empty();
}

const Headers kAcceptXml = {{"Accept", "application/vnd.microsoft.rtc.autodiscover+xml;v=1"}};

// From lyncdiscover to the user resource, as Lync clients go ([MS-OCDISCWS]
// 3.1.5.2): the root of the user's SIP domain, each Redirect followed (at most
// kMaxRedirectHops, never a URL twice), then its User link (the OAuth one
// for UCWA). Returns the user resource's URL, "" when the walk stopped.
std::string discoverUser(Client& client, SignInFlow& flow, const SignInProbe& p,
                         const std::string& sipUri, bool xml) {
    std::string url = "https://" + p.lyncdiscover + "/?sipuri=" + formEncode(sipUri);
    std::string kind = "lyncdiscover", source = "the lyncdiscover name of the SIP domain";
    std::set<std::string> seen;
    for (int hop = 0;; ++hop) {
        if (!handed(flow, p, kind, url, source)) return {};
        if (!seen.insert(url).second || hop > kMaxRedirectHops) {
            flow.stopped = hop > kMaxRedirectHops
                               ? "more than " + std::to_string(kMaxRedirectHops) + " redirects"
                               : "a redirect loop: " + url + " was named again";
            return {};
        }
        flow.steps.push_back(client.send(hop == 0 ? "lyncdiscover" : "root", "GET", url,
                                         xml ? kAcceptXml : Headers{}));
        const SignInStep& s = flow.steps.back();
        if (s.exchange.status != 200) return {};
        const auto links = autodiscoverLinks(s.exchange.body);
        const std::string via = xml ? "Link token=\"" : "_links.";
        if (!links.redirect.empty()) {
            kind = "redirect";
            source = via + (xml ? "Redirect\"" : "redirect") + " of " + answerOf(s);
            url = resolveLink(links.redirect, url);
            continue;
        }
        if (links.user.empty()) {
            flow.stopped = "the autodiscover root names no user resource (" + via +
                           (xml ? "User\")" : "user)");
            return {};
        }
        const std::string userUrl = resolveLink(links.user, url);
        if (!handed(flow, p, "user", userUrl,
                    via + (xml ? "User\"" : "user") + " of " + answerOf(s)))
            return {};
        return userUrl;
    }
}

// A user resource that answered 200 with a Redirect: the home pool's root,
// then its user link. Returns the new user URL, "" when the walk stopped.
std::string followUserRedirect(Client& client, SignInFlow& flow, const SignInProbe& p,
                               const std::string& redirect, bool xml) {
    const SignInStep& from = flow.steps.back();
    const std::string url = resolveLink(redirect, from.exchange.url);
    const std::string via = xml ? "Link token=\"Redirect\"" : "_links.redirect";
    for (const auto& d : flow.discovered)
        if (d.url == url) {
            flow.stopped = "a redirect loop: " + url + " was named again";
            return {};
        }
    if (!handed(flow, p, "redirect", url, via + " of " + answerOf(from))) return {};
    flow.steps.push_back(client.send("root", "GET", url, xml ? kAcceptXml : Headers{}));
    const SignInStep& s = flow.steps.back();
    if (s.exchange.status != 200) return {};
    const auto links = autodiscoverLinks(s.exchange.body);
    if (links.user.empty()) {
        flow.stopped = "the home pool's root names no user resource";
        return {};
    }
    const std::string userUrl = resolveLink(links.user, url);
    if (!handed(flow, p, "user", userUrl,
                std::string(xml ? "Link token=\"User\"" : "_links.user") + " of " + answerOf(s)))
        return {};
    return userUrl;
}

// A WS-Trust 1.3 RequestSecurityToken for a web ticket ([MS-OCAUTHWS]
// 3.2.4.1.1.1), applying to the resource the client wants to read.
std::string requestSecurityToken(const std::string& appliesTo, const std::string& to) {
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
           "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
           "xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>"
           "<a:Action s:mustUnderstand=\"1\">"
           "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue</a:Action>"
           "<a:To s:mustUnderstand=\"1\">" +
           to +
           "</a:To></s:Header><s:Body>"
           "<trust:RequestSecurityToken xmlns:trust=\"http://docs.oasis-open.org/ws-sx/ws-trust/"
           "200512\"><wsp:AppliesTo xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\">"
           "<a:EndpointReference><a:Address>" +
           appliesTo +
           "</a:Address></a:EndpointReference>"
           "</wsp:AppliesTo>"
           "<trust:TokenType>urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1"
           "</trust:TokenType>"
           "<trust:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
           "</trust:RequestType></trust:RequestSecurityToken></s:Body></s:Envelope>";
}

const Headers kSoap = {{"Content-Type", "application/soap+xml; charset=utf-8"}};

// From a user resource's 401 to the Web Ticket Service's WinNegotiate
// endpoint: X-MS-WebTicketURL, its metadata (that URL + /mex, anonymously),
// the port the metadata names. "" when the walk stopped.
std::string webTicketEndpointFrom(Client& client, SignInFlow& flow, const SignInProbe& p) {
    const SignInStep unauthorized = flow.steps.back();
    const auto service = unauthorized.exchange.header("x-ms-webticketurl");
    if (!service || service->empty()) {
        flow.stopped = "the 401 names no web ticket service (X-MS-WebTicketURL)";
        return {};
    }
    const std::string serviceUrl = resolveLink(*service, unauthorized.exchange.url);
    if (!handed(flow, p, "webticket-url", serviceUrl,
                "X-MS-WebTicketURL of " + answerOf(unauthorized)))
        return {};
    const std::string mex = serviceUrl + "/mex";
    if (!handed(flow, p, "mex", mex, "X-MS-WebTicketURL + /mex")) return {};
    flow.steps.push_back(client.send("mex", "GET", mex));
    if (flow.steps.back().exchange.status != 200) return {};
    auto endpoint = webTicketEndpoint(flow.steps.back().exchange.body);
    if (!endpoint) {
        flow.stopped = "the metadata names no WebTicketServiceWinNegotiate port";
        return {};
    }
    flow.found["endpoint"] = *endpoint;
    if (!handed(flow, p, "webticket-endpoint", *endpoint,
                "WebTicketServiceWinNegotiate port of " + answerOf(flow.steps.back())))
        return {};
    return *endpoint;
}

// The web ticket, with libcurl's own NTLM on a connection of its own; "" when
// none was issued.
std::string requestWebTicket(SignInFlow& flow, const std::string& endpoint,
                             const std::string& appliesTo, const SignInCredentials& user,
                             const Target& target, const GatherOptions& opt) {
    Client windows(target, opt);
    windows.useNtlm(user);
    flow.steps.push_back(
        windows.send("rst", "POST", endpoint, kSoap, requestSecurityToken(appliesTo, endpoint)));
    auto ticket = issuedTicket(flow.steps.back().exchange.body);
    if (flow.steps.back().exchange.status != 200 || !ticket) return {};
    redact(flow.steps.back().exchange.body, ticket->ticket);
    flow.found["ticketLength"] = std::to_string(ticket->ticket.size());
    flow.found["ticketExpires"] = ticket->expires.empty() ? "(no lifetime)" : ticket->expires;
    if (ticket->proofKey) flow.found["proofKey"] = "yes";
    return ticket->ticket;
}

// Lync 2013 desktop (and pidgin-sipe): lyncdiscover in XML, the user
// resource, on its 401 a web ticket from the service X-MS-WebTicketURL names,
// the user resource again with X-MS-WebTicket; a Redirect sends it to the
// home pool, where a ticket of the Director's may be refused and asked anew.
SignInFlow webTicketFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                         const GatherOptions& opt) {
    SignInFlow flow;
    Client client(target, opt);
    std::string userUrl = discoverUser(client, flow, p, user.sipUri, true);
    std::string ticket;
    bool fresh = false;
    for (int round = 0; !userUrl.empty() && round <= 2 * kMaxRedirectHops; ++round) {
        Headers headers = kAcceptXml;
        if (!ticket.empty()) headers.emplace_back("X-MS-WebTicket", "opaque=" + ticket);
        flow.steps.push_back(client.send("user", "GET", userUrl, headers));
        const auto& x = flow.steps.back().exchange;
        if (x.status == 401 && !fresh) {
            const std::string endpoint = webTicketEndpointFrom(client, flow, p);
            if (endpoint.empty()) return flow;
            ticket = requestWebTicket(flow, endpoint, userUrl, user, target, opt);
            if (ticket.empty()) return flow;
            fresh = true;
            continue;
        }
        if (x.status != 200) return flow;
        const auto links = autodiscoverLinks(x.body);
        if (links.redirect.empty()) return flow;  // the user resource itself: the end
        userUrl = followUserRedirect(client, flow, p, links.redirect, true);
        fresh = false;
    }
    return flow;
}

// The OAuth password grant at the endpoint a 401's MsRtcOAuth href names; the
// token, "" when none was issued.
std::string passwordGrant(Client& client, SignInFlow& flow, const SignInProbe& p,
                          const SignInCredentials& user) {
    const SignInStep unauthorized = flow.steps.back();
    const auto oauth = msRtcOAuthOf(unauthorized.exchange.headers("www-authenticate"));
    if (!oauth || oauth->href.empty()) {
        flow.stopped = "the 401 names no token endpoint (WWW-Authenticate: MsRtcOAuth href=)";
        return {};
    }
    const std::string tokenUrl = resolveLink(oauth->href, unauthorized.exchange.url);
    if (!handed(flow, p, "oauth-href", tokenUrl,
                "WWW-Authenticate: MsRtcOAuth href of " + answerOf(unauthorized)))
        return {};
    flow.steps.push_back(client.send("oauthtoken", "POST", tokenUrl,
                                     {{"Content-Type", "application/x-www-form-urlencoded"}},
                                     "grant_type=password&username=" + formEncode(user.sipUri) +
                                         "&password=" + formEncode(user.password)));
    auto& x = flow.steps.back().exchange;
    auto doc = json::parse(x.body, nullptr, false);
    if (x.status != 200 || !doc.is_object() || !doc["access_token"].is_string()) return {};
    const std::string token = doc["access_token"].get<std::string>();
    redact(x.body, token);
    return token;
}

// The user resource with a token, through 401s (a token asked for where the
// challenge says) and Redirects; the applications URL, "" when it stopped.
std::string ucwaUserResource(Client& client, SignInFlow& flow, const SignInProbe& p,
                             const SignInCredentials& user, std::string& token) {
    std::string userUrl = discoverUser(client, flow, p, user.sipUri, false);
    bool fresh = false;
    for (int round = 0; !userUrl.empty() && round <= 2 * kMaxRedirectHops; ++round) {
        Headers bearer;
        if (!token.empty()) bearer.emplace_back("Authorization", "Bearer " + token);
        flow.steps.push_back(client.send("user", "GET", userUrl, bearer));
        const auto& x = flow.steps.back().exchange;
        if (x.status == 401 && !fresh) {
            token = passwordGrant(client, flow, p, user);
            if (token.empty()) return {};
            fresh = true;
            continue;
        }
        if (x.status != 200) return {};
        const auto links = autodiscoverLinks(x.body);
        if (!links.redirect.empty()) {
            userUrl = followUserRedirect(client, flow, p, links.redirect, false);
            fresh = false;
            continue;
        }
        if (links.applications.empty()) {
            flow.stopped = "the user resource names no UCWA applications (_links.applications)";
            return {};
        }
        const std::string apps = resolveLink(links.applications, userUrl);
        if (!handed(flow, p, "applications", apps,
                    "_links.applications of " + answerOf(flow.steps.back())))
            return {};
        return apps;
    }
    return {};
}

std::string timeoutSeconds(double seconds) {
    return std::to_string(std::max<long>(1, static_cast<long>(std::ceil(seconds))));
}

// Lync mobile 2013's sign-in ([MS-OCDISCWS], UCWA): lyncdiscover, the OAuth
// user resource, the token where its 401 says, an application, its event
// channel; then, when asked, one P-GET with timeout= the hold to measure.
SignInFlow ucwaFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                    const GatherOptions& opt) {
    SignInFlow flow;
    Client client(target, opt);
    std::string token;
    const std::string apps = ucwaUserResource(client, flow, p, user, token);
    if (apps.empty()) return flow;
    const Headers bearer = {{"Authorization", "Bearer " + token}};
    // The three members UCWA's applications reference requires, as it spells them.
    Headers post = bearer;
    post.emplace_back("Content-Type", "application/json");
    flow.steps.push_back(client.send(
        "applications", "POST", apps, post,
        json{{"userAgent", "edgelab"}, {"endpointId", "edgelab-signin"}, {"culture", "en-US"}}
            .dump()));
    const std::string events = linkOf(flow.steps.back().exchange.body, "events");
    if (flow.steps.back().exchange.status != 201) return flow;
    if (events.empty()) {
        flow.stopped = "the application names no event channel (_links.events)";
        return flow;
    }
    const std::string eventsUrl = resolveLink(events, apps);
    if (!handed(flow, p, "events", eventsUrl, "_links.events of " + answerOf(flow.steps.back())))
        return flow;
    flow.steps.push_back(client.send("events", "GET", eventsUrl, bearer));
    const std::string next = linkOf(flow.steps.back().exchange.body, "next");
    if (flow.steps.back().exchange.status != 200 || p.longPollSeconds <= 0 || next.empty())
        return flow;

    // One P-GET, asking the front end to hold it as long as the check waits
    // (UCWA's timeout=, in seconds), measured to its answer or its cut.
    const std::string poll = withQueryParameter(resolveLink(next, eventsUrl),
                                                "timeout=" + timeoutSeconds(p.longPollSeconds));
    if (!handed(flow, p, "events", poll, "_links.next of " + answerOf(flow.steps.back())))
        return flow;
    std::ostringstream wanted;
    wanted << p.longPollSeconds;
    flow.found["longPollTarget"] = wanted.str();
    flow.found["longPollTimeout"] = timeoutSeconds(p.longPollSeconds);
    flow.steps.push_back(client.send("long-poll", "GET", poll, bearer, {}, p.longPollSeconds));
    return flow;
}

std::pair<std::string, std::string> userAndDomain(const std::string& account) {
    const auto slash = account.find('\\');
    if (slash == std::string::npos) return {account, ""};
    return {account.substr(slash + 1), account.substr(0, slash)};
}

std::string negotiateToken() {
    const std::uint32_t flags = ntlm::kNegotiateUnicode | ntlm::kNegotiateNtlm |
                                ntlm::kRequestTarget | ntlm::kNegotiateExtendedSessionSecurity |
                                ntlm::kNegotiateAlwaysSign | ntlm::kNegotiate128 |
                                ntlm::kNegotiate56 | ntlm::kNegotiateKeyExchange;
    return "NTLM " + ntlm::base64(ntlm::encode(ntlm::NegotiateMessage{flags}));
}

// Other clients starting NTLM at the same time, each on a new connection of
// its own, kept open until every one has its answer. One multi handle on
// this thread drives them all at once (no thread per client); each resumes
// the run's TLS session where the publishing allows it, as a client
// process's next connection would. Returns how many were challenged.
int busyHandshakes(const std::string& url, const std::string& body, const Target& target,
                   const GatherOptions& opt) {
    CURLM* multi = curl_multi_init();
    // HTTP/1.1 each, never one connection for two of them.
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    std::vector<std::unique_ptr<Client>> clients;
    Headers h = kSoap;
    h.emplace_back("Authorization", negotiateToken());
    const int others =
        opt.affinityClients > 0 ? opt.affinityClients : affinityClientsFor(target.proxyWorkers);
    for (int i = 0; i < others; ++i) {
        clients.push_back(std::make_unique<Client>(target, opt));
        clients.back()->prepare("busy", "POST", url, h, body);
        curl_easy_setopt(clients.back()->handle(), CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(clients.back()->handle(), CURLOPT_PRIVATE, clients.back().get());
        curl_multi_add_handle(multi, clients.back()->handle());
    }
    int challenged = 0;
    for (int running = 1; running;) {
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE) continue;
            Client* c = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
            challenged += c->complete(m->data.result).exchange.status == 401;
        }
        if (running) curl_multi_poll(multi, nullptr, 0, 200, nullptr);
    }
    // The connections stay in the multi handle's cache until here.
    for (auto& c : clients) curl_multi_remove_handle(multi, c->handle());
    curl_multi_cleanup(multi);
    return challenged;
}

// The WinNegotiate endpoint as the desktop client finds it: lyncdiscover
// (XML), the user resource's 401, X-MS-WebTicketURL, the metadata.
std::string discoverWebTicketEndpoint(SignInFlow& flow, const SignInProbe& p,
                                      const SignInCredentials& user, const Target& target,
                                      const GatherOptions& opt) {
    Client client(target, opt);
    const std::string userUrl = discoverUser(client, flow, p, user.sipUri, true);
    if (userUrl.empty()) return {};
    flow.steps.push_back(client.send("user", "GET", userUrl, kAcceptXml));
    if (flow.steps.back().exchange.status != 401) return {};
    return webTicketEndpointFrom(client, flow, p);
}

// The AUTHENTICATE_MESSAGE answering `challenge` for the test user.
std::string authenticateToken(const ntlm::ChallengeMessage& challenge,
                              const SignInCredentials& user) {
    ntlm::Bytes clientChallenge(8), sessionKey(16);
    RAND_bytes(clientChallenge.data(), 8);
    RAND_bytes(sessionKey.data(), 16);
    // FILETIME: 100 ns intervals since 1601-01-01 ([MS-DTYP] 2.3.3).
    const auto unix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    const std::uint64_t filetime =
        (static_cast<std::uint64_t>(unix) + 11644473600ull) * 10000000ull;
    const auto [name, domain] = userAndDomain(user.account);
    const auto auth = ntlm::respond(challenge, {name, domain, user.password}, clientChallenge,
                                    filetime, sessionKey);
    return "NTLM " + ntlm::base64(ntlm::encode(auth));
}

// Anonymous requests, each on a fresh connection, once another client is
// signed in: each must get the anonymous 401, never that client's session.
void anonymousAfterSignIn(SignInFlow& flow, const std::string& url, const std::string& body,
                          const Target& target, const GatherOptions& opt) {
    for (int i = 0, n = anonymousRequestsFor(target.proxyWorkers); i < n; ++i) {
        Client fresh(target, opt);
        flow.steps.push_back(fresh.send("anonymous", "POST", url, kSoap, body));
        if (auto ticket = issuedTicket(flow.steps.back().exchange.body))
            redact(flow.steps.back().exchange.body, ticket->ticket);
    }
}

SignInFlow affinityFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                        const GatherOptions& opt) {
    SignInFlow flow;
    const std::string url = discoverWebTicketEndpoint(flow, p, user, target, opt);
    if (url.empty()) return flow;
    const std::string body = requestSecurityToken(url, url);
    Client client(target, opt);
    Headers h = kSoap;
    h.emplace_back("Authorization", negotiateToken());
    flow.steps.push_back(client.send("negotiate", "POST", url, h, body));
    std::optional<ntlm::ChallengeMessage> challenge;
    for (const auto& c : flow.steps.back().exchange.headers("www-authenticate"))
        if (c.rfind("NTLM ", 0) == 0)
            if (auto bytes = ntlm::unbase64(c.substr(5))) challenge = ntlm::decodeChallenge(*bytes);
    if (flow.steps.back().exchange.status != 401 || !challenge) return flow;
    flow.found["challenge"] = "yes";

    flow.found["busy"] = std::to_string(busyHandshakes(url, body, target, opt));

    h = kSoap;
    h.emplace_back("Authorization", authenticateToken(*challenge, user));
    flow.steps.push_back(client.send("authenticate", "POST", url, h, body));
    flow.found["sameConnection"] = client.lastOnNewConnection() ? "no" : "yes";
    if (auto ticket = issuedTicket(flow.steps.back().exchange.body))
        redact(flow.steps.back().exchange.body, ticket->ticket);
    if (flow.steps.back().exchange.status == 200)
        anonymousAfterSignIn(flow, url, body, target, opt);
    return flow;
}

// The conference a meeting's join page names: its conference URI
// (sip:...;gruu;opaque=app:conf:focus:id:ID) and ID.
std::pair<std::string, std::string> conferenceOf(const std::string& page) {
    static const std::regex kConference(
        R"((sip:[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+;gruu;opaque=app:conf:focus:id:([A-Za-z0-9]+)))");
    std::smatch m;
    if (!std::regex_search(page, m, kConference)) return {};
    return {m[1].str(), m[2].str()};
}

// The grant refused or answered at the token endpoint, redacted.
SignInStep grantStep(Client& client, const std::string& name, const std::string& tokenUrl,
                     const std::string& form) {
    SignInStep s = client.send(name, "POST", tokenUrl,
                               {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
    auto doc = json::parse(s.exchange.body, nullptr, false);
    if (doc.is_object() && doc["access_token"].is_string())
        redact(s.exchange.body, doc["access_token"].get<std::string>());
    return s;
}

// An anonymous guest joins the test user's meeting as Lync Web App and the
// mobile clients do: the meet simple URL to the join page and its
// conference, lyncdiscover to the user resource's 401, then at the token
// endpoint its MsRtcOAuth href names an unknown grant (to tell "not
// supported" from "refused") and urn:microsoft.rtc:anonmeeting.
SignInFlow anonMeetingFlow(const SignInProbe& p, const SignInCredentials& user,
                           const Target& target, const GatherOptions& opt) {
    SignInFlow flow;
    Client client(target, opt);
    const std::string organizer = user.sipUri.substr(0, user.sipUri.find('@'));
    std::string url = "https://" + p.meet + "/" + formEncode(organizer);
    if (!handed(flow, p, "meeting", url, "the meet simple URL of the test user")) return flow;
    flow.steps.push_back(client.send("meeting", "GET", url));
    for (int hop = 0; hop < kMaxRedirectHops; ++hop) {
        const SignInStep& s = flow.steps.back();
        const auto location = s.exchange.header("location");
        if (s.exchange.status < 300 || s.exchange.status >= 400 || !location) break;
        url = resolveLink(*location, url);
        if (!handed(flow, p, "meeting", url, "Location of " + answerOf(s))) return flow;
        flow.steps.push_back(client.send("meeting", "GET", url));
    }
    if (flow.steps.back().exchange.status != 200) return flow;
    const auto [conferenceUri, conferenceId] = conferenceOf(flow.steps.back().exchange.body);
    if (conferenceUri.empty()) {
        flow.stopped = "the join page names no conference (sip:...;gruu;opaque=app:conf:focus:id:)";
        return flow;
    }
    flow.found["conference"] = conferenceUri;
    Client guest(target, opt);
    const std::string userUrl = discoverUser(guest, flow, p, user.sipUri, false);
    if (userUrl.empty()) return flow;
    flow.steps.push_back(guest.send("user", "GET", userUrl));
    const SignInStep unauthorized = flow.steps.back();
    const auto oauth = msRtcOAuthOf(unauthorized.exchange.headers("www-authenticate"));
    if (unauthorized.exchange.status != 401) return flow;
    if (!oauth || oauth->href.empty()) {
        flow.stopped = "the 401 names no token endpoint (WWW-Authenticate: MsRtcOAuth href=)";
        return flow;
    }
    flow.found["grantTypes"] = oauth->grantTypes;
    const std::string tokenUrl = resolveLink(oauth->href, userUrl);
    if (!handed(flow, p, "oauth-href", tokenUrl,
                "WWW-Authenticate: MsRtcOAuth href of " + answerOf(unauthorized)))
        return flow;
    flow.steps.push_back(
        grantStep(guest, "unknown-grant", tokenUrl, "grant_type=urn%3Aedgelab%3Anot-a-grant-type"));
    flow.steps.push_back(grantStep(
        guest, "oauthtoken", tokenUrl,
        "grant_type=urn%3Amicrosoft.rtc%3Aanonmeeting&password=" + formEncode(conferenceId) +
            "&ms_rtc_conferenceuri=" + formEncode(conferenceUri)));
    return flow;
}

}  // namespace

int anonymousRequestsFor(int workers) { return workers == 1 ? 2 : 4; }

int affinityClientsFor(int workers) {
    if (workers <= 0) return kDefaultAffinityClients;
    if (workers == 1) return 4;
    const double needed = std::log(1e-6) / std::log(1.0 - 1.0 / workers);
    return std::min(kMaxAffinityClients, static_cast<int>(std::ceil(needed)));
}

std::map<ProbeId, SignInFlow> gatherSignIns(const std::vector<SignInProbe>& probes,
                                            const Target& target, const GatherOptions& options) {
    GatherOptions opt = options;
    std::optional<TrustStore> trust;  // gather() hands its own; a caller alone gets one here
    if (!opt.trust && !probes.empty()) opt.trust = &trust.emplace(target.caFile);
    std::map<ProbeId, SignInFlow> flows;
    for (const auto& p : probes) {
        if (!target.user) {
            flows[p.id].skipped =
                "no test user: give --user SIPURI --password-file FILE (or users[] in the lab)";
            continue;
        }
        switch (p.flow) {
            case SignInProbe::Flow::WebTicket:
                flows[p.id] = webTicketFlow(p, *target.user, target, opt);
                break;
            case SignInProbe::Flow::Ucwa:
                flows[p.id] = ucwaFlow(p, *target.user, target, opt);
                break;
            case SignInProbe::Flow::NtlmAffinity:
                flows[p.id] = affinityFlow(p, *target.user, target, opt);
                break;
            case SignInProbe::Flow::AnonMeeting:
                flows[p.id] = anonMeetingFlow(p, *target.user, target, opt);
                break;
        }
    }
    return flows;
}

}  // namespace edgelab::checks
