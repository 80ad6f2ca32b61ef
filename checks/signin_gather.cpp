// Gathering the sign-ins: libcurl easy handles driven step by step, as a
// client signs in. libcurl does the NTLM of the web ticket sign-in itself
// (CURLAUTH_NTLM); the affinity probe drives the three legs with
// provision/ntlm.hpp, because it must act between them.
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "checks/gather.hpp"
#include "checks/signin.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::checks {

namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

constexpr int kBusyHandshakes = 24;  // other clients starting NTLM meanwhile

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
        if (target.caFile) curl_easy_setopt(easy_, CURLOPT_CAINFO, target.caFile->c_str());
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
        SignInStep step{name, {}, 0};
        HttpExchange& x = step.exchange;
        x.method = method;
        x.url = url;
        x.requestHeaders = recorded(headers);
        ResponseRecording rec{&x, opt_.bodyLimit};
        curl_slist* list = nullptr;
        for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
        char errbuf[CURL_ERROR_SIZE] = {};
        curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &rec);
        curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &rec);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf);
        const auto timeout = std::max<long>(static_cast<long>(opt_.requestTimeout.count()),
                                            static_cast<long>((timeoutSeconds + 30) * 1000));
        curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout);
        if (method == "POST") {
            curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.c_str());
            curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
        } else {
            curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
        }
        const auto t0 = Clock::now();
        const CURLcode code = curl_easy_perform(easy_);
        step.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &x.status);
        long connects = 0;
        curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
        newConnection_ = connects > 0;
        if (code != CURLE_OK) x.error = errbuf[0] ? errbuf : curl_easy_strerror(code);
        curl_off_t connectUs = 0;
        curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connectUs);
        x.timings.connectMs = static_cast<double>(connectUs) / 1000.0;
        x.timings.totalMs = step.seconds * 1000.0;
        x.transport = transportError(code, connectUs > 0);
        x.connected = x.status > 0 || connectUs > 0;
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
        curl_slist_free_all(list);
        return step;
    }

    bool lastOnNewConnection() const { return newConnection_; }

  private:
    const GatherOptions& opt_;
    CURL* easy_;
    curl_slist* connectTo_ = nullptr;
    bool newConnection_ = false;
};

std::string https(const std::string& host, const std::string& path) {
    return "https://" + host + path;
}

// A WS-Trust 1.3 RequestSecurityToken for a web ticket ([MS-OCAUTHWS]
// 3.2.4.1.1.1), applying to the web services the client will call.
std::string requestSecurityToken(const std::string& webServices, const std::string& to) {
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
           "<a:EndpointReference><a:Address>https://" +
           webServices +
           "/Autodiscover/AutodiscoverService.svc/root</a:Address></a:EndpointReference>"
           "</wsp:AppliesTo>"
           "<trust:TokenType>urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1"
           "</trust:TokenType>"
           "<trust:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
           "</trust:RequestType></trust:RequestSecurityToken></s:Body></s:Envelope>";
}

const Headers kSoap = {{"Content-Type", "application/soap+xml; charset=utf-8"}};

SignInFlow webTicketFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                         const GatherOptions& opt) {
    SignInFlow flow;
    Client anonymous(target, opt);
    flow.steps.push_back(
        anonymous.send("mex", "GET", https(p.webServices, "/WebTicket/WebTicketService.svc/mex")));
    if (flow.steps.back().exchange.status != 200) return flow;
    auto endpoint = webTicketEndpoint(flow.steps.back().exchange.body);
    if (!endpoint) return flow;
    flow.found["endpoint"] = *endpoint;

    Client windows(target, opt);
    windows.useNtlm(user);
    Headers headers = kSoap;
    flow.steps.push_back(windows.send("rst", "POST", *endpoint, headers,
                                      requestSecurityToken(p.webServices, *endpoint)));
    auto ticket = issuedTicket(flow.steps.back().exchange.body);
    if (flow.steps.back().exchange.status != 200 || !ticket) return flow;
    redact(flow.steps.back().exchange.body, ticket->ticket);
    flow.found["ticketLength"] = std::to_string(ticket->ticket.size());
    flow.found["ticketExpires"] = ticket->expires.empty() ? "(no lifetime)" : ticket->expires;
    if (ticket->proofKey) flow.found["proofKey"] = "yes";

    // The ticket alone, on a connection of its own, as the client's later calls.
    Client withTicket(target, opt);
    flow.steps.push_back(withTicket.send(
        "user", "GET", https(p.webServices, "/Autodiscover/AutodiscoverService.svc/root/user"),
        {{"X-MS-WebTicket", "opaque=" + ticket->ticket},
         {"Accept", "application/vnd.microsoft.rtc.autodiscover+xml;v=1"}}));
    return flow;
}

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

// A UCWA link is relative to the origin of the resource that gave it.
std::string resolve(const std::string& href, const std::string& base) {
    if (href.find("://") != std::string::npos) return href;
    const auto origin = base.find('/', base.find("://") + 3);
    return base.substr(0, origin) + href;
}

// Lync mobile 2013's sign-in ([MS-OCDISCWS], UCWA): password grant, the
// user resource with the token, an application, its event channel.
SignInFlow ucwaFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                    const GatherOptions& opt) {
    SignInFlow flow;
    Client client(target, opt);
    auto& steps = flow.steps;
    steps.push_back(client.send("oauthtoken", "POST", https(p.webServices, "/WebTicket/oauthtoken"),
                                {{"Content-Type", "application/x-www-form-urlencoded"}},
                                "grant_type=password&username=" + formEncode(user.sipUri) +
                                    "&password=" + formEncode(user.password)));
    auto doc = json::parse(steps.back().exchange.body, nullptr, false);
    if (steps.back().exchange.status != 200 || !doc.is_object() || !doc["access_token"].is_string())
        return flow;
    const std::string token = doc["access_token"].get<std::string>();
    redact(steps.back().exchange.body, token);
    const Headers bearer = {{"Authorization", "Bearer " + token}};

    const std::string userUrl =
        https(p.webServices, "/Autodiscover/AutodiscoverService.svc/root/oauth/user");
    steps.push_back(client.send("user", "GET", userUrl, bearer));
    const std::string applications = linkOf(steps.back().exchange.body, "applications");
    if (steps.back().exchange.status != 200 || applications.empty()) return flow;

    Headers post = bearer;
    post.emplace_back("Content-Type", "application/json");
    const std::string appsUrl = resolve(applications, userUrl);
    steps.push_back(client.send(
        "applications", "POST", appsUrl, post,
        json{{"UserAgent", "edgelab"}, {"EndpointId", "edgelab-signin"}, {"Culture", "en-US"}}
            .dump()));
    const std::string events = linkOf(steps.back().exchange.body, "events");
    if (steps.back().exchange.status != 201 || events.empty()) return flow;

    steps.push_back(client.send("events", "GET", resolve(events, appsUrl), bearer));
    std::string next = linkOf(steps.back().exchange.body, "next");
    if (steps.back().exchange.status != 200 || p.longPollSeconds <= 0 || next.empty()) return flow;

    // The event channel held as long as asked: one GET per answer, each waited
    // to the end, until the time is up or one is cut.
    std::ostringstream wanted;
    wanted << p.longPollSeconds;
    flow.found["longPollTarget"] = wanted.str();
    double waited = 0;
    SignInStep poll;
    do {
        poll =
            client.send("long-poll", "GET", resolve(next, appsUrl), bearer, {}, p.longPollSeconds);
        waited += poll.seconds;
        next = linkOf(poll.exchange.body, "next");
    } while (poll.exchange.status == 200 && !next.empty() && waited < 0.95 * p.longPollSeconds);
    poll.seconds = waited;
    steps.push_back(std::move(poll));
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

// Other clients starting NTLM at the same time, each on a connection of its
// own; returns how many were challenged.
int busyHandshakes(const std::string& url, const std::string& body, const Target& target,
                   const GatherOptions& opt) {
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<SignInStep> answers(kBusyHandshakes);
    std::vector<std::thread> threads;
    for (int i = 0; i < kBusyHandshakes; ++i)
        clients.push_back(std::make_unique<Client>(target, opt));
    for (int i = 0; i < kBusyHandshakes; ++i)
        threads.emplace_back([&, i] {
            Headers h = kSoap;
            h.emplace_back("Authorization", negotiateToken());
            answers[i] = clients[i]->send("busy", "POST", url, h, body);
        });
    for (auto& t : threads) t.join();
    int challenged = 0;
    for (const auto& a : answers) challenged += a.exchange.status == 401;
    return challenged;
}

SignInFlow affinityFlow(const SignInProbe& p, const SignInCredentials& user, const Target& target,
                        const GatherOptions& opt) {
    SignInFlow flow;
    const std::string url = https(p.webServices, "/WebTicket/WebTicketService.svc");
    const std::string body = requestSecurityToken(p.webServices, url);
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
    const auto auth = ntlm::respond(*challenge, {name, domain, user.password}, clientChallenge,
                                    filetime, sessionKey);
    h = kSoap;
    h.emplace_back("Authorization", "NTLM " + ntlm::base64(ntlm::encode(auth)));
    flow.steps.push_back(client.send("authenticate", "POST", url, h, body));
    flow.found["sameConnection"] = client.lastOnNewConnection() ? "no" : "yes";
    if (auto ticket = issuedTicket(flow.steps.back().exchange.body))
        redact(flow.steps.back().exchange.body, ticket->ticket);
    return flow;
}

}  // namespace

std::map<ProbeId, SignInFlow> gatherSignIns(const std::vector<SignInProbe>& probes,
                                            const Target& target, const GatherOptions& opt) {
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
        }
    }
    return flows;
}

}  // namespace edgelab::checks
