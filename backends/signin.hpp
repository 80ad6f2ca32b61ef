// How a Lync 2013 front end signs a client in, as pure handlers: Integrated
// Windows authentication with NTLM on a connection, the Web Ticket Service
// ([MS-OCAUTHWS]: metadata, WS-Trust RequestSecurityToken -> web ticket), and
// the OAuth token endpoint Lync mobile 2013 uses before UCWA. What a wrong or
// missing credential gets is what IIS and Lync send: the same challenges, no
// detail of what was wrong.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "backends/site.hpp"

namespace edgelab::backends {

using SystemTime = std::chrono::system_clock::time_point;

// The tokens this front end issues: "cwt=" + base64(JSON {sub, aud, exp}) +
// "." + base64(HMAC-SHA256 with the site's token key). Clients treat them as
// opaque, as they do Lync's compact web tickets.
inline constexpr std::string_view kWebTicketAudience = "webticket";
inline constexpr std::string_view kOAuthAudience = "oauth";
inline constexpr std::chrono::seconds kTokenLifetime{8 * 3600};
inline constexpr std::chrono::seconds kAnonymousTokenLifetime{3600};
inline constexpr std::string_view kUserResourcePath =
    "/Autodiscover/AutodiscoverService.svc/root/user";

std::string mintToken(const SiteConfig& site, std::string_view sipUri, std::string_view audience,
                      SystemTime now, std::chrono::seconds lifetime = kTokenLifetime);
// The SIP URI a token was issued to, when it is this site's, for this
// audience and not expired.
std::optional<std::string> tokenSubject(const SiteConfig& site, std::string_view token,
                                        std::string_view audience, SystemTime now);

// The user a sign-in name (SIP URI or account) names, if the lab has one.
const SiteUser* findUser(const SiteConfig& site, std::string_view name);

// Integrated Windows authentication as IIS and AD do it without Kerberos:
// NTLMv2 in the NTLM scheme, or in the Negotiate scheme raw or wrapped in
// SPNEGO (NegTokenInit, NegTokenResp). The challenge names the domain and
// server (NetBIOS and DNS, the forest as MsvAvDnsTreeName), carries
// MsvAvTimestamp and a Windows Server 2012 R2 version; a MIC the client sends
// is verified. Sign-in names: DOMAIN\user (NetBIOS or DNS domain) or
// user@upn. Either the connection is signed in (the SIP URI, and for SPNEGO
// the final accept-completed token to send as `finalAuthenticate`) or
// `challenge` is the 401 to send.
struct WindowsAuthOutcome {
    std::optional<std::string> sipUri;
    std::optional<Response> challenge;
    std::optional<std::string> finalAuthenticate;  // a WWW-Authenticate value for the 200
};
WindowsAuthOutcome authenticateWindows(const SiteConfig& site, const Request& req,
                                       ConnectionAuth& connection);

// GET /WebTicket/WebTicketService.svc/mex: the service's WSDL, anonymously.
Response webTicketMetadata(const SiteConfig& site, const Request& req);
// POST /WebTicket/WebTicketService.svc, once signed in: the WS-Trust
// RequestSecurityTokenResponse with the web ticket, its lifetime and the
// proof key; a SOAP fault for a body that is not a RequestSecurityToken.
Response issueWebTicket(const SiteConfig& site, const Request& req, std::string_view sipUri,
                        SystemTime now);

// POST /WebTicket/oauthtoken: an access token (8 h, identity scope local) for
// grant_type=password with a lab user's right password, or for
// urn:microsoft.rtc:windows once the connection signed in with NTLM or
// Negotiate (the 401 legs otherwise); 1 h, scope anonymous, for
// urn:microsoft.rtc:anonmeeting naming a conference of the site
// (ms_rtc_conferenceuri). 400 invalid_grant or unsupported_grant_type
// otherwise. Every answer carries Cache-Control: no-store.
Response oauthToken(const SiteConfig& site, const Request& req, ConnectionAuth& connection,
                    SystemTime now);

// The SIP access points the user resource hands a desktop client: the pool
// inside, the Access Edge outside (sip.DOMAIN on 443).
std::string externalSipFqdn(const SiteConfig& site);

}  // namespace edgelab::backends
