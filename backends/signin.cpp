#include "backends/signin.hpp"

#include "common/utc_time.hpp"

#include <algorithm>
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
#include "backends/spnego.hpp"
#include "backends/wstrust.hpp"
#include "common/markup.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::backends {

namespace {

using nlohmann::json;

// X-Ms-diagnostics codes of the Web Ticket Service's answers.
constexpr int kDiagBadRequest = 28001;
constexpr int kDiagUnknownTokenType = 28002;
constexpr int kDiagWrongUser = 28003;

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

// The account an NTLM AUTHENTICATE_MESSAGE names, as a domain controller
// reads the sign-in name: DOMAIN\\user with the NetBIOS or the DNS domain (or
// none), or user@upn with no domain (the UPN is the user's SIP URI or
// user@DNS-domain).
const SiteUser* accountFor(const SiteConfig& site, const ntlm::AuthenticateMessage& m) {
    for (const auto& u : site.users) {
        const std::string name = userNameOf(u.account);
        if (m.user.find('@') != std::string::npos) {
            if (m.domain.empty() &&
                (iequals(m.user, u.sipUri) || iequals(m.user, name + "@" + site.domain)))
                return &u;
            continue;
        }
        if (!iequals(name, m.user)) continue;
        const std::string domain = domainOf(u.account);
        if (domain.empty() || m.domain.empty() || iequals(domain, m.domain) ||
            iequals(site.domain, m.domain))
            return &u;
    }
    return nullptr;
}

// Now as a FILETIME: 100 ns since 1601-01-01, little-endian.
ntlm::Bytes fileTimeNow() {
    const auto since1970 = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() /
                           100;
    std::uint64_t t = static_cast<std::uint64_t>(since1970) + 116444736000000000ULL;
    ntlm::Bytes out(8);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(t & 0xff);
        t >>= 8;
    }
    return out;
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
                                  {kAvDnsComputerName, utf16le(site.serverFqdn)},
                                  {kAvDnsTreeName, utf16le(site.domain)},
                                  {kAvTimestamp, fileTimeNow()}});
    c.version = kWindowsServer2012R2Version;
    return c;
}

Response unauthorized(const Request& req, ConnectionAuth& connection) {
    connection = ConnectionAuth{};
    return windowsAuthChallenge(req);
}

std::string text(const ntlm::Bytes& b) { return std::string(b.begin(), b.end()); }

// An NTLM message for the client, in the scheme and wrapping it used.
std::string authenticateHeader(const ConnectionAuth& connection, NegState state,
                               const ntlm::Bytes& ntlmMessage) {
    if (!connection.spnego) return connection.pendingScheme + " " + ntlm::base64(ntlmMessage);
    return "Negotiate " +
           ntlm::base64(negTokenResp(state, state == NegState::AcceptIncomplete, ntlmMessage));
}

// The second leg: a 401 carrying the challenge in the scheme the client used.
Response challengeResponse(const SiteConfig& site, const Request& req, ConnectionAuth& connection,
                           const ntlm::Bytes& negotiateBytes,
                           const ntlm::NegotiateMessage& negotiate) {
    ntlm::Bytes serverChallenge(8);
    RAND_bytes(serverChallenge.data(), 8);
    const ntlm::Bytes challenge = ntlm::encode(challengeFor(site, negotiate, serverChallenge));
    connection.pendingChallenge = text(serverChallenge);
    connection.negotiateMessage = text(negotiateBytes);
    connection.challengeMessage = text(challenge);
    connection.signedInSipUri.clear();
    auto res =
        errorPage(req, http::status::unauthorized, "Access is denied due to invalid credentials.");
    res.set(http::field::www_authenticate,
            authenticateHeader(connection, NegState::AcceptIncomplete, challenge));
    return res;
}

// The NTLM message a header carries: raw, or the mechToken of a SPNEGO
// token offering NTLMSSP. Sets the connection's scheme and wrapping.
std::optional<ntlm::Bytes> ntlmMessageOf(std::string_view auth, ConnectionAuth& connection) {
    const auto space = auth.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const std::string_view scheme = auth.substr(0, space);
    if (!iequals(scheme, "NTLM") && !iequals(scheme, "Negotiate")) return std::nullopt;
    auto token = ntlm::unbase64(auth.substr(space + 1));
    if (!token) return std::nullopt;
    const bool negotiate = iequals(scheme, "Negotiate");
    const bool spnego = negotiate && looksLikeSpnego(*token);
    if (!connection.pendingChallenge.empty() &&
        (connection.spnego != spnego ||
         !iequals(connection.pendingScheme, negotiate ? "Negotiate" : "NTLM")))
        return std::nullopt;  // the handshake changed its scheme midway
    connection.pendingScheme = negotiate ? "Negotiate" : "NTLM";
    connection.spnego = spnego;
    if (!spnego) return token;
    auto parsed = parseSpnego(*token);
    if (!parsed || parsed->mechToken.empty()) return std::nullopt;
    if (parsed->init && std::find(parsed->mechTypes.begin(), parsed->mechTypes.end(),
                                  kNtlmsspOid) == parsed->mechTypes.end())
        return std::nullopt;  // Kerberos only: no ticket can be checked here
    return parsed->mechToken;
}

// The third leg: the AUTHENTICATE answers this connection's challenge with a
// lab user's password, and its MIC (when the client says it sent one) is right.
const SiteUser* verifiedUser(const SiteConfig& site, const ntlm::Bytes& token,
                             const ConnectionAuth& connection) {
    auto message = ntlm::decodeAuthenticate(token);
    const SiteUser* user = message ? accountFor(site, *message) : nullptr;
    if (!user) return nullptr;
    const auto verdict =
        ntlm::verifyV2(*message, bytesOf(connection.pendingChallenge),
                       {userNameOf(user->account), domainOf(user->account), user->password});
    if (!verdict.authenticated) return nullptr;
    if (ntlm::clientAvFlags(*message) & ntlm::kAvFlagMicPresent) {
        const ntlm::Bytes mic = ntlm::messageIntegrityCode(
            verdict.exportedSessionKey, bytesOf(connection.negotiateMessage),
            bytesOf(connection.challengeMessage), token);
        if (message->mic.size() != 16 || CRYPTO_memcmp(mic.data(), message->mic.data(), 16) != 0)
            return nullptr;
    }
    return user;
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

// X-Ms-diagnostics as Lync's web services send it on a failure: a code, the
// server, and the reason in one printable line.
std::string diagnostics(const SiteConfig& site, int code, std::string_view reason) {
    std::string clean;
    for (char c : reason.substr(0, 300))
        clean.push_back((c >= 0x20 && c < 0x7f && c != '"') ? c : '?');
    return std::to_string(code) + ";source=\"" + site.serverFqdn + "\";reason=\"" + clean + "\"";
}

Response webTicketFault(const SiteConfig& site, const Request& req, SoapVersion version,
                        http::status status, int code, std::string_view reason) {
    auto res = makeResponse(req, status, soapContentType(version),
                            soapFault(version, static_cast<int>(status) < 500, reason));
    res.set("X-Ms-diagnostics", diagnostics(site, code, reason));
    return res;
}

const char* const kWsu =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

std::string lifetime(SystemTime now, SystemTime expires) {
    return "<trust:Lifetime><wsu:Created xmlns:wsu=\"" + std::string(kWsu) + "\">" +
           utcSeconds(now) + "</wsu:Created><wsu:Expires xmlns:wsu=\"" + std::string(kWsu) + "\">" +
           utcSeconds(expires) + "</wsu:Expires></trust:Lifetime>";
}

// The envelope of an answer, in the SOAP version of the request.
std::string rstrEnvelope(const RequestSecurityToken& rst, const std::string& response) {
    const std::string_view ns =
        rst.version == SoapVersion::Soap11 ? kSoap11Namespace : kSoap12Namespace;
    std::string relates;
    if (!rst.messageId.empty())
        relates = "<a:RelatesTo>" + escapeMarkup(rst.messageId) + "</a:RelatesTo>";
    std::string context;
    if (!rst.context.empty()) context = " Context=\"" + escapeXmlAttribute(rst.context) + "\"";
    return "<s:Envelope xmlns:s=\"" + std::string(ns) +
           "\" xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>"
           "<a:Action s:mustUnderstand=\"1\">"
           "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal</a:Action>" +
           relates +
           "</s:Header><s:Body>"
           "<trust:RequestSecurityTokenResponseCollection "
           "xmlns:trust=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">"
           "<trust:RequestSecurityTokenResponse" +
           context + ">" + response +
           "<trust:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey"
           "</trust:KeyType>"
           "</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>"
           "</s:Body></s:Envelope>";
}

// Lync's compact web ticket (user-cwt-1) with a proof key derived from it.
std::string cwtResponse(const SiteConfig& site, std::string_view sipUri, SystemTime now) {
    const std::string ticket = mintToken(site, sipUri, kWebTicketAudience, now);
    // The proof key binds the ticket to this client; derived from the ticket
    // so that the service keeps no state.
    const std::string proof = tokenMac(site, "proof:" + ticket);
    return "<trust:TokenType>" + std::string(kCwtTokenType) +
           "</trust:TokenType>"
           "<trust:RequestedSecurityToken><UserToken Id=\"uuid-edgelab-1\" "
           "xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices.xsd\">" +
           escapeMarkup(ticket) +
           "</UserToken></trust:RequestedSecurityToken>"
           "<trust:RequestedProofToken><trust:BinarySecret>" +
           proof + "</trust:BinarySecret></trust:RequestedProofToken>" +
           lifetime(now, now + kTokenLifetime);
}

// A SAML 1.1 assertion with the server's half of the proof key (the client
// computes P_SHA1(its entropy, ours), WS-Trust 1.3 CK/PSHA1).
std::string samlResponse(const SiteConfig& site, const RequestSecurityToken& rst,
                         std::string_view sipUri, SystemTime now) {
    SamlClaims claims{newAssertionId(), std::string(sipUri),
                      rst.appliesTo.empty()
                          ? "https://" + site.webServices + std::string(kUserResourcePath)
                          : rst.appliesTo,
                      std::chrono::time_point_cast<std::chrono::seconds>(now),
                      std::chrono::time_point_cast<std::chrono::seconds>(now + kTokenLifetime)};
    ntlm::Bytes entropy(32);
    RAND_bytes(entropy.data(), static_cast<int>(entropy.size()));
    const std::string issuer = "https://" + site.webServices + "/WebTicket/WebTicketService.svc";
    return "<trust:TokenType>" + std::string(kSaml11TokenType) +
           "</trust:TokenType>"
           "<trust:RequestedSecurityToken>" +
           samlAssertion(claims, issuer, site.tokenKey) +
           "</trust:RequestedSecurityToken>"
           "<trust:RequestedProofToken><trust:ComputedKey>"
           "http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</trust:ComputedKey>"
           "</trust:RequestedProofToken>"
           "<trust:Entropy><trust:BinarySecret>" +
           ntlm::base64(entropy) + "</trust:BinarySecret></trust:Entropy>" +
           "<trust:KeySize>256</trust:KeySize>" + lifetime(claims.notBefore, claims.notOnOrAfter);
}

}  // namespace

std::string mintToken(const SiteConfig& site, std::string_view sipUri, std::string_view audience,
                      SystemTime now, std::chrono::seconds lifetime) {
    const std::string payload = ntlm::base64(bytesOf(
        json{{"sub", sipUri}, {"aud", audience}, {"exp", unixSeconds(now + lifetime)}}.dump()));
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
        return {connection.signedInSipUri, std::nullopt, std::nullopt};  // signed in
    auto token = ntlmMessageOf(auth, connection);
    auto type = token ? ntlm::messageType(*token) : std::nullopt;
    if (type == ntlm::MessageType::Negotiate) {
        if (auto negotiate = ntlm::decodeNegotiate(*token))
            return {std::nullopt, challengeResponse(site, req, connection, *token, *negotiate),
                    std::nullopt};
    }
    if (type == ntlm::MessageType::Authenticate && !connection.pendingChallenge.empty()) {
        if (const SiteUser* user = verifiedUser(site, *token, connection)) {
            std::optional<std::string> final;
            if (connection.spnego)
                final =
                    "Negotiate " + ntlm::base64(negTokenResp(NegState::AcceptCompleted, false, {}));
            connection.pendingChallenge.clear();
            connection.negotiateMessage.clear();
            connection.challengeMessage.clear();
            connection.signedInSipUri = user->sipUri;
            return {user->sipUri, std::nullopt, final};
        }
    }
    // An unknown user, a wrong password or MIC, an answer to a challenge this
    // connection never got (the handshake split over connections), a token
    // that does not read: all get the same fresh challenge, as IIS answers.
    return {std::nullopt, unauthorized(req, connection), std::nullopt};
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
    const SoapVersion asked = soapVersionOfContentType(sv(req[http::field::content_type]));
    if (req.method() != http::verb::post)
        return webTicketFault(
            site, req, asked, http::status::method_not_allowed, kDiagBadRequest,
            "The Web Ticket Service takes a WS-Trust RequestSecurityToken by POST.");
    auto rst = parseRequestSecurityToken(req.body());
    if (!rst)
        return webTicketFault(
            site, req, asked, http::status::bad_request, kDiagBadRequest,
            "The message is not a WS-Trust RequestSecurityToken: " + rst.error() + ".");
    if (!rst->claimedUri.empty()) {
        std::string_view claimed = rst->claimedUri;
        if (istartsWith(claimed, "sip:")) claimed.remove_prefix(4);
        if (!iequals(claimed, sipUri))
            return webTicketFault(site, req, rst->version, http::status::forbidden, kDiagWrongUser,
                                  "The claimed SIP URI is not the user who signed in.");
    }
    std::string response;
    if (rst->tokenType.empty() || rst->tokenType == kCwtTokenType)
        response = cwtResponse(site, sipUri, now);
    else if (rst->tokenType == kSaml11TokenType)
        response = samlResponse(site, *rst, sipUri, now);
    else
        return webTicketFault(site, req, rst->version, http::status::bad_request,
                              kDiagUnknownTokenType,
                              "The requested token type is not supported: " + rst->tokenType);
    return makeResponse(req, http::status::ok, soapContentType(rst->version),
                        rstrEnvelope(*rst, response));
}

namespace {

// An OAuth 2.0 token endpoint's answer (RFC 6749 section 5): JSON, never cached.
Response tokenAnswer(const Request& req, http::status status, const json& doc) {
    auto res = makeResponse(req, status, "application/json;charset=UTF-8", doc.dump());
    res.set(http::field::cache_control, "no-store");
    res.set(http::field::pragma, "no-cache");
    return res;
}

Response tokenFor(const SiteConfig& site, const Request& req, const std::string& subject,
                  std::string_view scope, std::chrono::seconds lifetime, SystemTime now) {
    return tokenAnswer(req, http::status::ok,
                       {{"access_token", mintToken(site, subject, kOAuthAudience, now, lifetime)},
                        {"expires_in", lifetime.count()},
                        {"ms_rtc_identityscope", scope},
                        {"token_type", "Bearer"}});
}

Response tokenError(const Request& req, std::string_view error, std::string_view description) {
    return tokenAnswer(req, http::status::bad_request,
                       {{"error", error}, {"error_description", description}});
}

bool plainSegment(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

// The conference an anonymous join names, as the meet page gives it:
// sip:ORGANIZER@DOMAIN;gruu;opaque=app:conf:focus:id:CONFID on this lab's domain.
std::optional<std::string> conferenceOf(const SiteConfig& site, std::string_view uri) {
    constexpr std::string_view kFocus = ";gruu;opaque=app:conf:focus:id:";
    if (!istartsWith(uri, "sip:")) return std::nullopt;
    uri.remove_prefix(4);
    const auto at = uri.find('@');
    const auto focus = uri.find(kFocus);
    if (at == std::string_view::npos || focus == std::string_view::npos || focus < at)
        return std::nullopt;
    const std::string_view organizer = uri.substr(0, at);
    const std::string_view domain = uri.substr(at + 1, focus - at - 1);
    const std::string_view id = uri.substr(focus + kFocus.size());
    if (!plainSegment(organizer) || !iequals(domain, site.domain) || !plainSegment(id))
        return std::nullopt;
    return std::string(id);
}

}  // namespace

Response oauthToken(const SiteConfig& site, const Request& req, ConnectionAuth& connection,
                    SystemTime now) {
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
    const std::string grant = field("grant_type");
    if (grant == "password") {
        const SiteUser* user = findUser(site, field("username"));
        const std::string password = field("password");
        if (user && password.size() == user->password.size() &&
            CRYPTO_memcmp(password.data(), user->password.data(), password.size()) == 0)
            return tokenFor(site, req, user->sipUri, "local", kTokenLifetime, now);
        return tokenError(req, "invalid_grant", "The user name or password is not valid.");
    }
    if (grant == "urn:microsoft.rtc:windows") {
        // Integrated Windows authentication on this very endpoint, per connection.
        auto outcome = authenticateWindows(site, req, connection);
        if (outcome.challenge) return std::move(*outcome.challenge);
        auto res = tokenFor(site, req, *outcome.sipUri, "local", kTokenLifetime, now);
        if (outcome.finalAuthenticate)
            res.set(http::field::www_authenticate, *outcome.finalAuthenticate);
        return res;
    }
    if (grant == "urn:microsoft.rtc:anonmeeting") {
        auto conference = conferenceOf(site, field("ms_rtc_conferenceuri"));
        if (!conference)
            return tokenError(req, "invalid_grant",
                              "ms_rtc_conferenceuri does not name a conference of this site.");
        return tokenFor(site, req, "anonymous:" + *conference, "anonymous", kAnonymousTokenLifetime,
                        now);
    }
    return tokenError(req, "unsupported_grant_type",
                      "grant_type must be password, urn:microsoft.rtc:windows or "
                      "urn:microsoft.rtc:anonmeeting.");
}

std::string externalSipFqdn(const SiteConfig& site) { return "sip." + site.domain; }

}  // namespace edgelab::backends
