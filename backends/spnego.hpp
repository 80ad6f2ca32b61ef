// SPNEGO ([RFC 4178], [MS-SPNG]) as IIS speaks it in the HTTP Negotiate
// scheme (RFC 4559) when the client has no Kerberos ticket: NTLM wrapped in a
// NegTokenInit from the client, NegTokenResp both ways after. The DER is read
// with OpenSSL's ASN.1 primitives (ASN1_get_object, d2i_ASN1_OBJECT); only
// the few fields NTLM over SPNEGO uses are kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/parsed.hpp"

namespace edgelab::backends {

using Der = std::vector<std::uint8_t>;

inline constexpr const char* kNtlmsspOid = "1.3.6.1.4.1.311.2.2.10";

// NegState of a NegTokenResp.
enum class NegState { AcceptCompleted = 0, AcceptIncomplete = 1, Reject = 2, RequestMic = 3 };

// A client's SPNEGO token: the first (NegTokenInit, inside the GSS-API
// InitialContextToken) or a later one (NegTokenResp).
struct SpnegoToken {
    bool init = false;
    std::vector<std::string> mechTypes;  // dotted OIDs, NegTokenInit only
    Der mechToken;                       // mechToken or responseToken; may be empty
    Der mechListMic;
};

// Whether a Negotiate token is SPNEGO at all (raw NTLMSSP is not): the
// InitialContextToken's [APPLICATION 0] or a NegTokenResp's [1].
bool looksLikeSpnego(const Der& token);

// The token's fields; a failure names what is malformed (truncated, a tag
// that is not SPNEGO's, another mechanism than SPNEGO).
Parsed<SpnegoToken> parseSpnego(const Der& token);

// The server's NegTokenResp: the state, the mechanism chosen (NTLMSSP) when
// it is the first answer, and the NTLM message for the client, if any.
Der negTokenResp(NegState state, bool withSupportedMech, const Der& responseToken);

}  // namespace edgelab::backends
