#include "backends/signin.hpp"

#include "common/utc_time.hpp"

#include <cstring>
#include <ctime>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include "backends/request_target.hpp"
#include "backends/response.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::backends {

namespace {

using nlohmann::json;

ntlm::Bytes bytesOf(std::string_view text) { return ntlm::Bytes(text.begin(), text.end()); }

std::string tokenMac(const SiteConfig& site, std::string_view payload) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), site.tokenKey.data(), static_cast<int>(site.tokenKey.size()),
         reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &length);
    return ntlm::base64(ntlm::Bytes(mac, mac + length));
}

long long unixSeconds(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The NetBIOS form of a DNS name, as Windows derives it: the first label,
// upper case.
std::string netbiosName(std::string_view fqdn) {
    std::string label(fqdn.substr(0, fqdn.find('.')));
    for (char& c : label)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return label;
}

std::string userNameOf(const std::string& account) {
    auto slash = account.find('\\');
    return slash == std::string::npos ? account : account.substr(slash + 1);
}

std::string domainOf(const std::string& account) {
    auto slash = account.find('\\');
    return slash == std::string::npos ? std::string() : account.substr(0, slash);
}

// The account an NTLM AUTHENTICATE_MESSAGE names: user name in any case, and
// the NetBIOS domain when the account has one.
const SiteUser* accountFor(const SiteConfig& site, const ntlm::AuthenticateMessage& m) {
    for (const auto& u : site.users) {
        if (!iequals(userNameOf(u.account), m.user)) continue;
        const std::string domain = domainOf(u.account);
        if (domain.empty() || iequals(domain, m.domain)) return &u;
    }
    return nullptr;
}

// The CHALLENGE_MESSAGE for a client's NEGOTIATE_MESSAGE: what the client
// asked for that this server supports, and the target information an NTLMv2
// response is computed over ([MS-NLMP] 3.2.5.1.1).
ntlm::ChallengeMessage challengeFor(const SiteConfig& site, const ntlm::NegotiateMessage& n,
                                    const ntlm::Bytes& serverChallenge) {
    using namespace ntlm;
    const std::uint32_t offered = kNegotiateSign | kNegotiateSeal | kNegotiateAlwaysSign |
                                  kNegotiateExtendedSessionSecurity | kNegotiate128 | kNegotiate56 |
                                  kNegotiateKeyExchange;
    ChallengeMessage c;
    c.flags = (n.flags & offered) | kNegotiateNtlm | kNegotiateTargetInfo | kRequestTarget |
              kTargetTypeDomain | kNegotiateVersion |
              ((n.flags & kNegotiateUnicode) ? kNegotiateUnicode : kNegotiateOem);
    c.serverChallenge = serverChallenge;
    c.targetName = netbiosName(site.domain);
    c.targetInfo = encodeAvPairs({{kAvNbDomainName, utf16le(netbiosName(site.domain))},
                                  {kAvNbComputerName, utf16le(netbiosName(site.serverFqdn))},
                                  {kAvDnsDomainName, utf16le(site.domain)},
                                  {kAvDnsComputerName, utf16le(site.serverFqdn)}});
    return c;
}

Response unauthorized(const Request& req, ConnectionAuth& connection) {
    connection.pendingScheme.clear();
    connection.pendingChallenge.clear();
    return windowsAuthChallenge(req);
}

// The second leg: a 401 carrying the challenge in the scheme the client used.
Response challengeResponse(const SiteConfig& site, const Request& req, ConnectionAuth& connection,
                           const std::string& scheme, const ntlm::NegotiateMessage& negotiate) {
    ntlm::Bytes serverChallenge(8);
    RAND_bytes(serverChallenge.data(), 8);
    connection.pendingScheme = scheme;
    connection.pendingChallenge.assign(serverChallenge.begin(), serverChallenge.end());
    connection.signedInSipUri.clear();
    auto res =
        errorPage(req, http::status::unauthorized, "Access is denied due to invalid credentials.");
    res.set(
        http::field::www_authenticate,
        scheme + " " + ntlm::base64(ntlm::encode(challengeFor(site, negotiate, serverChallenge))));
    return res;
}

const char* const kWsdlHead =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<wsdl:definitions name=\"WebTicketService\" targetNamespace=\"http://tempuri.org/\" "
    "xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
    "xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\" "
    "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-wssecurity-utility-1.0.xsd\" "
    "xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\" "
    "xmlns:http=\"http://schemas.microsoft.com/ws/06/2004/policy/http\" "
    "xmlns:msc=\"http://schemas.microsoft.com/ws/2005/12/wsdl/contract\" "
    "xmlns:wsaw=\"http://www.w3.org/2006/05/addressing/wsdl\" "
    "xmlns:tns=\"http://tempuri.org/\" xmlns:q1=\"http://schemas.microsoft.com/Message\" "
    "xmlns:q2=\"http://schemas.microsoft.com/Message\">\r\n";

// One policy per authentication the service offers; WinNegotiate is the one
// Integrated Windows authentication (NTLM or Kerberos) uses.
std::string wsdlPolicies() {
    return "  <wsp:Policy wsu:Id=\"WebTicketServiceWinNegotiate_policy\"><wsp:ExactlyOne>"
           "<wsp:All><http:NegotiateAuthentication/></wsp:All></wsp:ExactlyOne></wsp:Policy>\r\n"
           "  <wsp:Policy wsu:Id=\"WebTicketServiceCertificate_policy\"><wsp:ExactlyOne>"
           "<wsp:All/></wsp:ExactlyOne></wsp:Policy>\r\n"
           "  <wsp:Policy wsu:Id=\"WebTicketServiceAnon_policy\"><wsp:ExactlyOne>"
           "<wsp:All/></wsp:ExactlyOne></wsp:Policy>\r\n";
}

std::string wsdlContract() {
    return "  <wsdl:message name=\"IWebTicketService_IssueToken_InputMessage\">"
           "<wsdl:part name=\"rst\" type=\"q1:MessageBody\"/></wsdl:message>\r\n"
           "  <wsdl:message name=\"IWebTicketService_IssueToken_OutputMessage\">"
           "<wsdl:part name=\"IssueTokenResult\" type=\"q2:MessageBody\"/></wsdl:message>\r\n"
           "  <wsdl:portType name=\"IWebTicketService\"><wsdl:operation name=\"IssueToken\">"
           "<wsdl:input wsaw:Action=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\" "
           "message=\"tns:IWebTicketService_IssueToken_InputMessage\"/>"
           "<wsdl:output "
           "wsaw:Action=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal\" "
           "message=\"tns:IWebTicketService_IssueToken_OutputMessage\"/>"
           "</wsdl:operation></wsdl:portType>\r\n";
}

std::string wsdlBinding(std::string_view name) {
    return "  <wsdl:binding name=\"" + std::string(name) +
           "\" type=\"tns:IWebTicketService\">"
           "<wsp:PolicyReference URI=\"#" +
           std::string(name) +
           "_policy\"/>"
           "<soap12:binding transport=\"http://schemas.xmlsoap.org/soap/http\"/>"
           "<wsdl:operation name=\"IssueToken\"><soap12:operation "
           "soapAction=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\" "
           "style=\"document\"/><wsdl:input><soap12:body use=\"literal\"/></wsdl:input>"
           "<wsdl:output><soap12:body use=\"literal\"/></wsdl:output></wsdl:operation>"
           "</wsdl:binding>\r\n";
}

// The RequestSecurityToken of a SOAP envelope, if that is what the body is.
bool isRequestSecurityToken(const std::string& body) {
    xmlDocPtr doc = xmlReadMemory(body.data(), static_cast<int>(body.size()), "rst.xml", nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) return false;
    bool found = false;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root && xmlStrcmp(root->name, BAD_CAST "Envelope") == 0)
        for (xmlNodePtr b = root->children; b; b = b->next)
            if (b->type == XML_ELEMENT_NODE && xmlStrcmp(b->name, BAD_CAST "Body") == 0)
                for (xmlNodePtr r = b->children; r; r = r->next)
                    if (r->type == XML_ELEMENT_NODE &&
                        xmlStrcmp(r->name, BAD_CAST "RequestSecurityToken") == 0)
                        found = true;
    xmlFreeDoc(doc);
    return found;
}

Response soapFault(const Request& req, std::string_view reason) {
    std::string body =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><s:Fault>"
        "<s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en-US\">" +
        escapeMarkup(reason) + "</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>";
    return makeResponse(req, http::status::internal_server_error,
                        "application/soap+xml; charset=utf-8", std::move(body));
}

}  // namespace

std::string mintToken(const SiteConfig& site, std::string_view sipUri, std::string_view audience,
                      SystemTime now) {
    const std::string payload = ntlm::base64(bytesOf(json{
        {"sub", sipUri},
        {"aud", audience},
        {"exp", unixSeconds(now + kTokenLifetime)}}.dump()));
    return "cwt=" + payload + "." + tokenMac(site, payload);
}

std::optional<std::string> tokenSubject(const SiteConfig& site, std::string_view token,
                                        std::string_view audience, SystemTime now) {
    if (site.tokenKey.empty() || !token.starts_with("cwt=")) return std::nullopt;
    token.remove_prefix(4);
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string payload(token.substr(0, dot));
    const std::string mac = tokenMac(site, payload);
    const std::string_view sent = token.substr(dot + 1);
    if (sent.size() != mac.size() || CRYPTO_memcmp(sent.data(), mac.data(), mac.size()) != 0)
        return std::nullopt;
    auto decoded = ntlm::unbase64(payload);
    if (!decoded) return std::nullopt;
    json claims = json::parse(decoded->begin(), decoded->end(), nullptr, false);
    if (!claims.is_object() || claims.value("aud", "") != audience ||
        claims.value("exp", 0LL) <= unixSeconds(now) || !claims["sub"].is_string())
        return std::nullopt;
    return claims["sub"].get<std::string>();
}

const SiteUser* findUser(const SiteConfig& site, std::string_view name) {
    if (istartsWith(name, "sip:")) name.remove_prefix(4);
    for (const auto& u : site.users)
        if (iequals(u.sipUri, name) || iequals(u.account, name)) return &u;
    return nullptr;
}

WindowsAuthOutcome authenticateWindows(const SiteConfig& site, const Request& req,
                                       ConnectionAuth& connection) {
    const std::string_view auth = sv(req[http::field::authorization]);
    if (auth.empty() && !connection.signedInSipUri.empty())
        return {connection.signedInSipUri, std::nullopt};  // the connection is signed in
    const auto space = auth.find(' ');
    const std::string scheme(auth.substr(0, space));
    if (space == std::string_view::npos ||
        (!iequals(scheme, "NTLM") && !iequals(scheme, "Negotiate")))
        return {std::nullopt, unauthorized(req, connection)};
    auto token = ntlm::unbase64(auth.substr(space + 1));
    auto type = token ? ntlm::messageType(*token) : std::nullopt;
    const std::string answerScheme = iequals(scheme, "NTLM") ? "NTLM" : "Negotiate";
    if (type == ntlm::MessageType::Negotiate) {
        auto negotiate = ntlm::decodeNegotiate(*token);
        if (negotiate)
            return {std::nullopt,
                    challengeResponse(site, req, connection, answerScheme, *negotiate)};
    }
    if (type == ntlm::MessageType::Authenticate && !connection.pendingChallenge.empty()) {
        auto message = ntlm::decodeAuthenticate(*token);
        const SiteUser* user = message ? accountFor(site, *message) : nullptr;
        if (user) {
            const auto verdict = ntlm::verifyV2(
                *message, bytesOf(connection.pendingChallenge),
                {userNameOf(user->account), domainOf(user->account), user->password});
            if (verdict.authenticated) {
                connection.pendingScheme.clear();
                connection.pendingChallenge.clear();
                connection.signedInSipUri = user->sipUri;
                return {user->sipUri, std::nullopt};
            }
        }
    }
    // An unknown user, a wrong password, an answer to a challenge this
    // connection never got (the handshake split over connections): all get
    // the same fresh challenge, as IIS answers.
    return {std::nullopt, unauthorized(req, connection)};
}

Response webTicketMetadata(const SiteConfig& site, const Request& req) {
    const std::string base = "https://" + site.webServices + "/WebTicket/WebTicketService.svc";
    std::string body = kWsdlHead + wsdlPolicies() + wsdlContract();
    for (const char* name :
         {"WebTicketServiceWinNegotiate", "WebTicketServiceCertificate", "WebTicketServiceAnon"})
        body += wsdlBinding(name);
    body += "  <wsdl:service name=\"WebTicketService\">\r\n";
    const std::pair<const char*, const char*> ports[] = {{"WebTicketServiceWinNegotiate", ""},
                                                         {"WebTicketServiceCertificate", "/Cert"},
                                                         {"WebTicketServiceAnon", "/Anon"}};
    for (const auto& [name, suffix] : ports)
        body += "    <wsdl:port name=\"" + std::string(name) + "\" binding=\"tns:" + name +
                "\"><soap12:address location=\"" + escapeMarkup(base + suffix) +
                "\"/></wsdl:port>\r\n";
    body += "  </wsdl:service>\r\n</wsdl:definitions>\r\n";
    return makeResponse(req, http::status::ok, "text/xml; charset=UTF-8", std::move(body));
}

Response issueWebTicket(const SiteConfig& site, const Request& req, std::string_view sipUri,
                        SystemTime now) {
    if (req.method() != http::verb::post || !isRequestSecurityToken(req.body()))
        return soapFault(req, "The message is not a WS-Trust RequestSecurityToken.");
    const std::string ticket = mintToken(site, sipUri, kWebTicketAudience, now);
    // The proof key binds the ticket to this client; derived from the ticket
    // so that the service keeps no state.
    const std::string proof = tokenMac(site, "proof:" + ticket);
    std::string body =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>"
        "<a:Action s:mustUnderstand=\"1\">"
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal</a:Action>"
        "</s:Header><s:Body>"
        "<trust:RequestSecurityTokenResponseCollection "
        "xmlns:trust=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">"
        "<trust:RequestSecurityTokenResponse>"
        "<trust:TokenType>urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1"
        "</trust:TokenType>"
        "<trust:RequestedSecurityToken><UserToken Id=\"uuid-edgelab-1\" "
        "xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices.xsd\">" +
        escapeMarkup(ticket) +
        "</UserToken></trust:RequestedSecurityToken>"
        "<trust:RequestedProofToken><trust:BinarySecret>" +
        proof +
        "</trust:BinarySecret></trust:RequestedProofToken>"
        "<trust:Lifetime><wsu:Created xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-wssecurity-utility-1.0.xsd\">" +
        utcSeconds(now) +
        "</wsu:Created><wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-wssecurity-utility-1.0.xsd\">" +
        utcSeconds(now + kTokenLifetime) +
        "</wsu:Expires></trust:Lifetime>"
        "<trust:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey"
        "</trust:KeyType>"
        "</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>"
        "</s:Body></s:Envelope>";
    return makeResponse(req, http::status::ok, "application/soap+xml; charset=utf-8",
                        std::move(body));
}

Response oauthToken(const SiteConfig& site, const Request& req, SystemTime now) {
    if (req.method() != http::verb::post) {
        auto res = errorPage(req, http::status::method_not_allowed,
                             "The page you are looking for cannot be displayed because an "
                             "invalid method (HTTP verb) is being used.");
        res.set(http::field::allow, "POST");
        return res;
    }
    auto field = [&](std::string_view name) {
        auto raw = rawQueryParam(req.body(), name);
        return raw ? percentDecode(*raw) : std::string();
    };
    const SiteUser* user =
        field("grant_type") == "password" ? findUser(site, field("username")) : nullptr;
    const std::string password = field("password");
    if (user && password.size() == user->password.size() &&
        CRYPTO_memcmp(password.data(), user->password.data(), password.size()) == 0) {
        json doc = {{"access_token", mintToken(site, user->sipUri, kOAuthAudience, now)},
                    {"expires_in", kTokenLifetime.count()},
                    {"ms_rtc_identityscope", "local"},
                    {"token_type", "Bearer"}};
        return makeResponse(req, http::status::ok, "application/json", doc.dump());
    }
    json doc = {{"error", "invalid_grant"}};
    return makeResponse(req, http::status::bad_request, "application/json", doc.dump());
}

std::string externalSipFqdn(const SiteConfig& site) { return "sip." + site.domain; }

}  // namespace edgelab::backends
