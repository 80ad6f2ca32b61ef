// The Web Ticket Service's message layer ([MS-OCAUTHWS], WS-Trust 1.3, SAML
// 1.1), as pure functions: reading a client's RequestSecurityToken from a
// SOAP 1.1 or 1.2 envelope, writing the answer or the fault in the version the
// client spoke, and the SAML 1.1 assertion the service issues and the user
// resource later accepts back in `X-MS-WebTicket: opaque=<base64>`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/parsed.hpp"

namespace edgelab::backends {

enum class SoapVersion { Soap11, Soap12 };

inline constexpr std::string_view kSoap11Namespace = "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view kSoap12Namespace = "http://www.w3.org/2003/05/soap-envelope";
inline constexpr std::string_view kSaml11TokenType =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1";
inline constexpr std::string_view kCwtTokenType =
    "urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1";
inline constexpr std::string_view kSamlNamespace = "urn:oasis:names:tc:SAML:1.0:assertion";

// The SOAP version a request's Content-Type names (text/xml is SOAP 1.1,
// application/soap+xml 1.2): what a fault is written in when the body itself
// does not say.
SoapVersion soapVersionOfContentType(std::string_view contentType);

// What a client asked for in its RequestSecurityToken.
struct RequestSecurityToken {
    SoapVersion version = SoapVersion::Soap12;
    std::string context;                // the RST's Context attribute, echoed back
    std::string tokenType;              // "" when the request names none
    std::string appliesTo;              // wsp:AppliesTo/EndpointReference/Address
    std::string claimedUri;             // the Claims' sip: URI, when sent
    std::vector<std::uint8_t> entropy;  // the client's Entropy/BinarySecret
    std::string messageId;              // wsa:MessageID, for RelatesTo
};

// The RequestSecurityToken of a SOAP envelope; a failure names what is not
// there (not XML, not an Envelope, no Body, no RequestSecurityToken, an
// Entropy that is not base64).
Parsed<RequestSecurityToken> parseRequestSecurityToken(std::string_view body);

// A SOAP fault (SOAP 1.1 faultcode/faultstring or SOAP 1.2 Code/Reason) with
// `sender` true for the client's fault, false for the server's.
std::string soapFault(SoapVersion version, bool sender, std::string_view reason);
std::string soapContentType(SoapVersion version);

// The claims of a SAML 1.1 assertion this front end issued.
struct SamlClaims {
    std::string assertionId;  // "_" + 32 hex digits
    std::string subject;      // the SIP URI, without "sip:"
    std::string audience;     // the AppliesTo the client asked for
    std::chrono::system_clock::time_point notBefore;
    std::chrono::system_clock::time_point notOnOrAfter;
};

// A `saml:Assertion` (MajorVersion 1, MinorVersion 1, AssertionID, Issuer,
// IssueInstant, Conditions, an AuthenticationStatement naming the user) with
// a ds:Signature whose value is an HMAC-SHA256 of the claims under `key`:
// the namespaces declared on the element itself, so the element's text
// stands alone as clients cut it out of the response.
std::string samlAssertion(const SamlClaims& claims, std::string_view issuer, std::string_view key);

// The claims of an assertion's text when it is one this key signed, and it is
// valid at `now`; otherwise why not (not XML, not a SAML 1.1 assertion, a
// claim missing, the signature does not match, not yet or no longer valid).
Parsed<SamlClaims> verifySamlAssertion(std::string_view xml, std::string_view key,
                                       std::chrono::system_clock::time_point now);

// A fresh AssertionID: "_" and 16 random bytes in hex.
std::string newAssertionId();

}  // namespace edgelab::backends
