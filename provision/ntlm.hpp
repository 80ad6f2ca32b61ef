// NTLM ([MS-NLMP]) as HTTP uses it: the three messages, NTLMv2 responses and
// their verification, as pure functions over bytes. The front-end simulator
// verifies with it; the sign-in checks answer challenges with it where they
// drive the legs themselves. Nothing here reads a socket or a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgelab::ntlm {

using Bytes = std::vector<std::uint8_t>;

// NegotiateFlags, [MS-NLMP] section 2.2.2.5.
enum Flag : std::uint32_t {
    kNegotiateUnicode = 0x00000001,
    kNegotiateOem = 0x00000002,
    kRequestTarget = 0x00000004,
    kNegotiateSign = 0x00000010,
    kNegotiateSeal = 0x00000020,
    kNegotiateNtlm = 0x00000200,
    kNegotiateAlwaysSign = 0x00008000,
    kTargetTypeDomain = 0x00010000,
    kTargetTypeServer = 0x00020000,
    kNegotiateExtendedSessionSecurity = 0x00080000,
    kNegotiateTargetInfo = 0x00800000,
    kNegotiateVersion = 0x02000000,
    kNegotiate128 = 0x20000000,
    kNegotiateKeyExchange = 0x40000000,
    kNegotiate56 = 0x80000000,
};

// AV_PAIR ids, [MS-NLMP] section 2.2.2.1.
enum AvId : std::uint16_t {
    kAvEol = 0,
    kAvNbComputerName = 1,
    kAvNbDomainName = 2,
    kAvDnsComputerName = 3,
    kAvDnsDomainName = 4,
    kAvDnsTreeName = 5,
    kAvFlags = 6,
    kAvTimestamp = 7,
};

// MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC ([MS-NLMP] 2.2.2.1).
inline constexpr std::uint32_t kAvFlagMicPresent = 0x2;

// VERSION structures ([MS-NLMP] 2.2.2.10): product major, minor, build
// (little-endian), three reserved bytes, NTLMSSP revision 15.
using Version = std::vector<std::uint8_t>;
inline const Version kWindows7Sp1Version = {6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f};          // 7601
inline const Version kWindowsServer2012R2Version = {6, 3, 0x80, 0x25, 0, 0, 0, 0x0f};  // 9600

struct AvPair {
    std::uint16_t id = kAvEol;
    Bytes value;
};

struct NegotiateMessage {
    std::uint32_t flags = 0;
};

struct ChallengeMessage {
    std::uint32_t flags = 0;
    Bytes serverChallenge;  // 8 bytes
    std::string targetName;
    Bytes targetInfo;                       // encoded AV pairs, ending with MsvAvEOL
    Version version = kWindows7Sp1Version;  // 8 bytes
};

struct AuthenticateMessage {
    std::uint32_t flags = 0;
    Bytes lmChallengeResponse;
    Bytes ntChallengeResponse;
    std::string domain;
    std::string user;
    std::string workstation;
    Bytes encryptedRandomSessionKey;
    Bytes mic;  // 16 bytes when the message has room for one (decoding only)
};

enum class MessageType { Negotiate = 1, Challenge = 2, Authenticate = 3 };

// The type of an NTLMSSP message; nullopt when the bytes are not one.
std::optional<MessageType> messageType(const Bytes& message);

Bytes encode(const NegotiateMessage&);
Bytes encode(const ChallengeMessage&);
Bytes encode(const AuthenticateMessage&);
// Each returns nullopt for a message of another type, a short buffer or a
// field that points outside it.
std::optional<NegotiateMessage> decodeNegotiate(const Bytes&);
std::optional<ChallengeMessage> decodeChallenge(const Bytes&);
std::optional<AuthenticateMessage> decodeAuthenticate(const Bytes&);

Bytes encodeAvPairs(const std::vector<AvPair>& pairs);  // appends MsvAvEOL
std::optional<std::vector<AvPair>> decodeAvPairs(const Bytes& targetInfo);

// Text as NTLM carries it with NTLMSSP_NEGOTIATE_UNICODE: UTF-16LE. Input is
// UTF-8; characters outside the Basic Multilingual Plane are not expected in
// account names and become U+FFFD.
Bytes utf16le(std::string_view utf8);
std::string fromUtf16le(const Bytes& text);

// The primitives of [MS-NLMP] section 6.
Bytes md4(const Bytes& data);
Bytes hmacMd5(const Bytes& key, const Bytes& data);
Bytes rc4(const Bytes& key, const Bytes& data);

// NTOWFv2 ([MS-NLMP] section 3.3.2): HMAC_MD5(MD4(UNICODE(Passwd)),
// UNICODE(ConcatenationOf(Uppercase(User), UserDom))).
Bytes ntowfV2(std::string_view password, std::string_view user, std::string_view domain);

// The NTLMv2 computation of [MS-NLMP] section 3.3.2 for one challenge.
struct V2Response {
    Bytes ntProofStr;           // 16 bytes
    Bytes ntChallengeResponse;  // NTProofStr || temp
    Bytes
        lmChallengeResponse;  // LMv2: HMAC_MD5(key, server || client challenge) || client challenge
    Bytes sessionBaseKey;     // HMAC_MD5(key, NTProofStr)
};

// temp = RespType 1, HiRespType 1, Z(6), Time, ClientChallenge, Z(4),
// ServerName, Z(4) ([MS-NLMP] sections 2.2.2.7 and 3.3.2).
Bytes clientBlob(const Bytes& clientChallenge, std::uint64_t timestamp, const Bytes& serverName);

V2Response computeV2(const Bytes& responseKeyNt, const Bytes& serverChallenge,
                     const Bytes& clientChallenge, std::uint64_t timestamp,
                     const Bytes& serverName);

struct Credential {
    std::string user;
    std::string domain;
    std::string password;
};

// A client's AUTHENTICATE_MESSAGE for a challenge: NTLMv2, with key exchange
// when the server offered it (randomSessionKey is then sent encrypted).
AuthenticateMessage respond(const ChallengeMessage& challenge, const Credential& credential,
                            const Bytes& clientChallenge, std::uint64_t timestamp,
                            const Bytes& randomSessionKey, std::string_view workstation = "");

// The server's verdict on an AUTHENTICATE_MESSAGE for the challenge it sent,
// given the account it names. Anything but an NTLMv2 response that proves
// the password is refused; the reason is for the server's own log only.
struct Verification {
    bool authenticated = false;
    std::string reason;
    Bytes sessionBaseKey;
    Bytes exportedSessionKey;
};
Verification verifyV2(const AuthenticateMessage& message, const Bytes& serverChallenge,
                      const Credential& account);

// The MsvAvFlags the client put in its NTLMv2 response's AV pairs (0 when
// none, or the response is not NTLMv2).
std::uint32_t clientAvFlags(const AuthenticateMessage& message);

// The MIC of [MS-NLMP] 3.1.5.1.2: HMAC_MD5(ExportedSessionKey, NEGOTIATE ||
// CHALLENGE || AUTHENTICATE with its MIC field zeroed), given the three
// messages as they were sent.
Bytes messageIntegrityCode(const Bytes& exportedSessionKey, const Bytes& negotiate,
                           const Bytes& challenge, const Bytes& authenticate);

// Base64 as HTTP's Authorization and WWW-Authenticate carry NTLM tokens.
std::string base64(const Bytes& data);
std::optional<Bytes> unbase64(std::string_view text);

}  // namespace edgelab::ntlm
