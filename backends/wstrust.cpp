#include "backends/wstrust.hpp"

#include <ctime>
#include <iomanip>
#include <memory>
#include <sstream>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backends/response.hpp"
#include "common/ascii.hpp"
#include "common/markup.hpp"
#include "common/utc_time.hpp"
#include "provision/ntlm.hpp"

namespace edgelab::backends {

namespace {

constexpr std::string_view kTrustNamespace = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
constexpr std::string_view kAddressingNamespace = "http://www.w3.org/2005/08/addressing";
constexpr std::string_view kDsigNamespace = "http://www.w3.org/2000/09/xmldsig#";
constexpr std::string_view kHmacSha256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";

struct DocDeleter {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

// A document from untrusted text: no network, no entities expanded from
// outside, no messages on stderr.
Doc parseXml(std::string_view text) {
    if (text.size() > 1024 * 1024) return nullptr;
    return Doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "body.xml", nullptr,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

bool named(const xmlNode* n, std::string_view local) {
    return n && n->type == XML_ELEMENT_NODE &&
           std::string_view(reinterpret_cast<const char*>(n->name)) == local;
}

std::string_view namespaceOf(const xmlNode* n) {
    return n && n->ns && n->ns->href ? std::string_view(reinterpret_cast<const char*>(n->ns->href))
                                     : std::string_view();
}

// The first child element with this local name (any namespace when ns is empty).
const xmlNode* child(const xmlNode* parent, std::string_view local, std::string_view ns = {}) {
    if (!parent) return nullptr;
    for (const xmlNode* c = parent->children; c; c = c->next)
        if (named(c, local) && (ns.empty() || namespaceOf(c) == ns)) return c;
    return nullptr;
}

std::string text(const xmlNode* n) {
    if (!n) return {};
    xmlChar* content = xmlNodeGetContent(n);
    std::string out = content ? reinterpret_cast<const char*>(content) : "";
    xmlFree(content);
    const auto first = out.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    return out.substr(first, out.find_last_not_of(" \t\r\n") - first + 1);
}

std::string attribute(const xmlNode* n, const char* name) {
    if (!n) return {};
    xmlChar* value = xmlGetProp(n, BAD_CAST name);
    std::string out = value ? reinterpret_cast<const char*>(value) : "";
    xmlFree(value);
    return out;
}

std::string hmacBase64(std::string_view key, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
    return ntlm::base64(ntlm::Bytes(mac, mac + length));
}

// What the signature covers: every claim, each ended by a newline (none may
// hold one: the assertion's attribute values are single-line).
std::string signedClaims(const SamlClaims& c) {
    return "saml11\n" + c.assertionId + "\n" + c.subject + "\n" + c.audience + "\n" +
           utcSeconds(c.notBefore) + "\n" + utcSeconds(c.notOnOrAfter) + "\n";
}

std::optional<std::chrono::system_clock::time_point> parseUtcSeconds(const std::string& s) {
    if (s.size() != 20 || s[19] != 'Z') return std::nullopt;
    std::tm tm{};
    std::istringstream in(s.substr(0, 19));
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) return std::nullopt;
    const time_t t = timegm(&tm);
    // system_clock counts nanoseconds in 64 bits: up to 2262. No ticket is
    // valid before 1970 or after 2200.
    if (t < 0 || t >= 7258118400) return std::nullopt;
    auto back = std::chrono::system_clock::from_time_t(t);
    if (utcSeconds(back) != s) return std::nullopt;  // 2026-02-30 and the like
    return back;
}

const xmlNode* securityTokenRequest(const xmlNode* envelope) {
    const xmlNode* body = child(envelope, "Body", namespaceOf(envelope));
    const xmlNode* rst = child(body, "RequestSecurityToken");
    // Some clients wrap it ([MS-OCAUTHWS] GetAndPublishCert carries one inside).
    if (!rst && body)
        for (const xmlNode* c = body->children; c && !rst; c = c->next)
            if (c->type == XML_ELEMENT_NODE) rst = child(c, "RequestSecurityToken");
    return rst;
}

Parsed<RequestSecurityToken> readRequest(const xmlNode* envelope, SoapVersion version) {
    RequestSecurityToken out;
    out.version = version;
    const xmlNode* rst = securityTokenRequest(envelope);
    if (!rst)
        return Parsed<RequestSecurityToken>::failure("the SOAP Body holds no RequestSecurityToken");
    if (namespaceOf(rst) != kTrustNamespace)
        return Parsed<RequestSecurityToken>::failure(
            "the RequestSecurityToken is not in the WS-Trust 1.3 namespace (" +
            std::string(kTrustNamespace) + ")");
    out.context = attribute(rst, "Context");
    out.tokenType = text(child(rst, "TokenType"));
    out.appliesTo = text(child(child(child(rst, "AppliesTo"), "EndpointReference"), "Address"));
    if (const xmlNode* claims = child(rst, "Claims"))
        for (const xmlNode* c = claims->children; c; c = c->next)
            if (named(c, "ClaimType") && out.claimedUri.empty())
                out.claimedUri = text(child(c, "Value"));
    if (const xmlNode* entropy = child(rst, "Entropy")) {
        auto secret = ntlm::unbase64(text(child(entropy, "BinarySecret")));
        if (!secret || secret->empty())
            return Parsed<RequestSecurityToken>::failure(
                "the Entropy's BinarySecret is not base64 of at least one byte");
        out.entropy = std::move(*secret);
    }
    const xmlNode* header = child(envelope, "Header", namespaceOf(envelope));
    out.messageId = text(child(header, "MessageID", kAddressingNamespace));
    return out;
}

}  // namespace

SoapVersion soapVersionOfContentType(std::string_view contentType) {
    return istartsWith(contentType, "text/xml") ? SoapVersion::Soap11 : SoapVersion::Soap12;
}

Parsed<RequestSecurityToken> parseRequestSecurityToken(std::string_view body) {
    Doc doc = parseXml(body);
    if (!doc) return Parsed<RequestSecurityToken>::failure("the body is not well-formed XML");
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!named(root, "Envelope"))
        return Parsed<RequestSecurityToken>::failure("the document is not a SOAP Envelope");
    const std::string_view ns = namespaceOf(root);
    if (ns == kSoap11Namespace) return readRequest(root, SoapVersion::Soap11);
    if (ns == kSoap12Namespace) return readRequest(root, SoapVersion::Soap12);
    return Parsed<RequestSecurityToken>::failure(
        "the Envelope is in neither the SOAP 1.1 nor the SOAP 1.2 namespace");
}

std::string soapContentType(SoapVersion version) {
    return version == SoapVersion::Soap11 ? "text/xml; charset=utf-8"
                                          : "application/soap+xml; charset=utf-8";
}

std::string soapFault(SoapVersion version, bool sender, std::string_view reason) {
    const std::string why = escapeMarkup(reason);
    if (version == SoapVersion::Soap11)
        return "<s:Envelope xmlns:s=\"" + std::string(kSoap11Namespace) +
               "\"><s:Body><s:Fault><faultcode>" + (sender ? "s:Client" : "s:Server") +
               "</faultcode><faultstring xml:lang=\"en-US\">" + why +
               "</faultstring></s:Fault></s:Body></s:Envelope>";
    return "<s:Envelope xmlns:s=\"" + std::string(kSoap12Namespace) +
           "\"><s:Body><s:Fault><s:Code><s:Value>" + (sender ? "s:Sender" : "s:Receiver") +
           "</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en-US\">" + why +
           "</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>";
}

std::string newAssertionId() { return randomHexId("_", 16); }

std::string samlAssertion(const SamlClaims& c, std::string_view issuer, std::string_view key) {
    const std::string notBefore = utcSeconds(c.notBefore);
    return "<saml:Assertion xmlns:saml=\"" + std::string(kSamlNamespace) +
           "\" MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"" + c.assertionId +
           "\" Issuer=\"" + escapeXmlAttribute(issuer) + "\" IssueInstant=\"" + notBefore +
           "\"><saml:Conditions NotBefore=\"" + notBefore + "\" NotOnOrAfter=\"" +
           utcSeconds(c.notOnOrAfter) + "\"><saml:AudienceRestrictionCondition><saml:Audience>" +
           escapeMarkup(c.audience) +
           "</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>"
           "<saml:AuthenticationStatement AuthenticationMethod=\"urn:federation:authentication:"
           "windows\" AuthenticationInstant=\"" +
           notBefore + "\"><saml:Subject><saml:NameIdentifier Format=\"" +
           "http://schemas.xmlsoap.org/claims/UPN\">" + escapeMarkup("sip:" + c.subject) +
           "</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>"
           "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</saml:ConfirmationMethod>"
           "</saml:SubjectConfirmation></saml:Subject></saml:AuthenticationStatement>"
           "<ds:Signature xmlns:ds=\"" +
           std::string(kDsigNamespace) + "\"><ds:SignedInfo><ds:SignatureMethod Algorithm=\"" +
           std::string(kHmacSha256) + "\"/></ds:SignedInfo><ds:SignatureValue>" +
           hmacBase64(key, signedClaims(c)) +
           "</ds:SignatureValue></ds:Signature></saml:Assertion>";
}

Parsed<SamlClaims> verifySamlAssertion(std::string_view xml, std::string_view key,
                                       std::chrono::system_clock::time_point now) {
    using P = Parsed<SamlClaims>;
    if (key.empty()) return P::failure("this front end has no key to verify tickets with");
    Doc doc = parseXml(xml);
    if (!doc) return P::failure("the ticket is not well-formed XML");
    const xmlNode* a = xmlDocGetRootElement(doc.get());
    if (!named(a, "Assertion") || namespaceOf(a) != kSamlNamespace ||
        attribute(a, "MajorVersion") != "1" || attribute(a, "MinorVersion") != "1")
        return P::failure("the ticket is not a SAML 1.1 assertion");
    SamlClaims c;
    c.assertionId = attribute(a, "AssertionID");
    const xmlNode* conditions = child(a, "Conditions", kSamlNamespace);
    c.audience = text(child(child(conditions, "AudienceRestrictionCondition"), "Audience"));
    std::string subject =
        text(child(child(child(a, "AuthenticationStatement"), "Subject"), "NameIdentifier"));
    if (istartsWith(subject, "sip:")) subject.erase(0, 4);
    c.subject = subject;
    auto notBefore = parseUtcSeconds(attribute(conditions, "NotBefore"));
    auto notOnOrAfter = parseUtcSeconds(attribute(conditions, "NotOnOrAfter"));
    const std::string signature =
        text(child(child(a, "Signature", kDsigNamespace), "SignatureValue", kDsigNamespace));
    if (c.assertionId.empty() || c.subject.empty() || !notBefore || !notOnOrAfter ||
        signature.empty())
        return P::failure(
            "the assertion lacks an AssertionID, a subject, its Conditions or its signature");
    c.notBefore = *notBefore;
    c.notOnOrAfter = *notOnOrAfter;
    const std::string expected = hmacBase64(key, signedClaims(c));
    if (signature.size() != expected.size() ||
        CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0)
        return P::failure("the assertion's signature is not this front end's");
    if (now < c.notBefore) return P::failure("the assertion is not valid yet");
    if (now >= c.notOnOrAfter) return P::failure("the assertion has expired");
    return c;
}

}  // namespace edgelab::backends
