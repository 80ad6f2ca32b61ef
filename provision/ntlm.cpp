#include "provision/ntlm.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

namespace edgelab::ntlm {

namespace {

constexpr std::uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

// OpenSSL 3 keeps MD4 and RC4 in the legacy provider. They are loaded into a
// library context of their own, so that no other part of edgelab can pick
// the legacy algorithms up by accident.
OSSL_LIB_CTX* legacyContext() {
    static OSSL_LIB_CTX* ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        if (!c || !OSSL_PROVIDER_load(c, "legacy") || !OSSL_PROVIDER_load(c, "default"))
            throw std::runtime_error(
                "OpenSSL's legacy provider (MD4, RC4 for NTLM) is not available");
        return c;
    }();
    return ctx;
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put32(Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint16_t get16(const Bytes& b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

std::uint32_t get32(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
           (static_cast<std::uint32_t>(b[at + 2]) << 16) |
           (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

// A message under construction: the fixed part with its field descriptors
// (Len, MaxLen, BufferOffset), then the payload those descriptors point at.
class MessageWriter {
  public:
    MessageWriter(MessageType type, std::size_t fixedSize) : fixedSize_(fixedSize) {
        head_.assign(std::begin(kSignature), std::end(kSignature));
        put32(head_, static_cast<std::uint32_t>(type));
    }
    Bytes& head() { return head_; }
    void field(const Bytes& value) {
        put16(head_, static_cast<std::uint16_t>(value.size()));
        put16(head_, static_cast<std::uint16_t>(value.size()));
        put32(head_, static_cast<std::uint32_t>(fixedSize_ + payload_.size()));
        payload_.insert(payload_.end(), value.begin(), value.end());
    }
    Bytes finish() {
        head_.resize(fixedSize_, 0);
        head_.insert(head_.end(), payload_.begin(), payload_.end());
        return std::move(head_);
    }

  private:
    std::size_t fixedSize_;
    Bytes head_;
    Bytes payload_;
};

// The field a descriptor at `at` points to; nullopt when outside the message.
std::optional<Bytes> readField(const Bytes& message, std::size_t at) {
    if (at + 8 > message.size()) return std::nullopt;
    const std::size_t length = get16(message, at);
    const std::size_t offset = get32(message, at + 4);
    if (length == 0) return Bytes{};
    if (offset > message.size() || length > message.size() - offset) return std::nullopt;
    return Bytes(message.begin() + offset, message.begin() + offset + length);
}

bool isType(const Bytes& message, MessageType type, std::size_t minimum) {
    return message.size() >= minimum && messageType(message) == type;
}

Bytes textBytes(std::string_view text, bool unicode) {
    return unicode ? utf16le(text) : Bytes(text.begin(), text.end());
}

std::string textOf(const Bytes& field, bool unicode) {
    return unicode ? fromUtf16le(field) : std::string(field.begin(), field.end());
}

// A version structure ([MS-NLMP] 2.2.2.10), 8 bytes.
void putVersion(Bytes& out, const Version& version = kWindows7Sp1Version) {
    Version v = version;
    v.resize(8, 0);
    out.insert(out.end(), v.begin(), v.end());
}

// The MIC's place: after the fixed fields and the version (offset 72), when
// the payload leaves room for it.
constexpr std::size_t kMicOffset = 72;

std::string asciiUpper(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

Bytes concat(std::initializer_list<const Bytes*> parts) {
    Bytes out;
    for (const Bytes* p : parts) out.insert(out.end(), p->begin(), p->end());
    return out;
}

}  // namespace

std::optional<MessageType> messageType(const Bytes& message) {
    if (message.size() < 12 ||
        !std::equal(std::begin(kSignature), std::end(kSignature), message.begin()))
        return std::nullopt;
    const std::uint32_t type = get32(message, 8);
    if (type < 1 || type > 3) return std::nullopt;
    return static_cast<MessageType>(type);
}

Bytes encode(const NegotiateMessage& m) {
    MessageWriter w(MessageType::Negotiate, 32);
    put32(w.head(), m.flags);
    w.field({});  // DomainNameFields
    w.field({});  // WorkstationFields
    return w.finish();
}

Bytes encode(const ChallengeMessage& m) {
    const bool unicode = (m.flags & kNegotiateUnicode) != 0;
    MessageWriter w(MessageType::Challenge, 56);
    w.field(textBytes(m.targetName, unicode));
    put32(w.head(), m.flags);
    Bytes challenge = m.serverChallenge;
    challenge.resize(8, 0);
    w.head().insert(w.head().end(), challenge.begin(), challenge.end());
    w.head().insert(w.head().end(), 8, 0);  // Reserved
    w.field(m.targetInfo);
    putVersion(w.head(), m.version);
    return w.finish();
}

Bytes encode(const AuthenticateMessage& m) {
    const bool unicode = (m.flags & kNegotiateUnicode) != 0;
    MessageWriter w(MessageType::Authenticate, 72);
    w.field(m.lmChallengeResponse);
    w.field(m.ntChallengeResponse);
    w.field(textBytes(m.domain, unicode));
    w.field(textBytes(m.user, unicode));
    w.field(textBytes(m.workstation, unicode));
    w.field(m.encryptedRandomSessionKey);
    put32(w.head(), m.flags);
    putVersion(w.head());
    return w.finish();
}

std::optional<NegotiateMessage> decodeNegotiate(const Bytes& b) {
    if (!isType(b, MessageType::Negotiate, 16)) return std::nullopt;
    return NegotiateMessage{get32(b, 12)};
}

std::optional<ChallengeMessage> decodeChallenge(const Bytes& b) {
    if (!isType(b, MessageType::Challenge, 48)) return std::nullopt;
    ChallengeMessage m;
    m.flags = get32(b, 20);
    m.serverChallenge.assign(b.begin() + 24, b.begin() + 32);
    auto target = readField(b, 12);
    auto info = readField(b, 40);
    if (!target || !info) return std::nullopt;
    m.targetName = textOf(*target, (m.flags & kNegotiateUnicode) != 0);
    m.targetInfo = std::move(*info);
    return m;
}

std::optional<AuthenticateMessage> decodeAuthenticate(const Bytes& b) {
    if (!isType(b, MessageType::Authenticate, 64)) return std::nullopt;
    AuthenticateMessage m;
    m.flags = get32(b, 60);
    const bool unicode = (m.flags & kNegotiateUnicode) != 0;
    auto lm = readField(b, 12), nt = readField(b, 20), domain = readField(b, 28),
         user = readField(b, 36), workstation = readField(b, 44), key = readField(b, 52);
    if (!lm || !nt || !domain || !user || !workstation || !key) return std::nullopt;
    m.lmChallengeResponse = std::move(*lm);
    m.ntChallengeResponse = std::move(*nt);
    m.domain = textOf(*domain, unicode);
    m.user = textOf(*user, unicode);
    m.workstation = textOf(*workstation, unicode);
    m.encryptedRandomSessionKey = std::move(*key);
    // The payload's first byte says how long the fixed part is: 88 or more
    // leaves room for the version and the MIC.
    std::size_t payload = b.size();
    for (std::size_t at : {12u, 20u, 28u, 36u, 44u, 52u})
        if (get16(b, at) > 0) payload = std::min<std::size_t>(payload, get32(b, at + 4));
    if (payload >= kMicOffset + 16 && b.size() >= kMicOffset + 16)
        m.mic.assign(b.begin() + kMicOffset, b.begin() + kMicOffset + 16);
    return m;
}

Bytes encodeAvPairs(const std::vector<AvPair>& pairs) {
    Bytes out;
    for (const auto& p : pairs) {
        if (p.id == kAvEol) continue;
        put16(out, p.id);
        put16(out, static_cast<std::uint16_t>(p.value.size()));
        out.insert(out.end(), p.value.begin(), p.value.end());
    }
    put16(out, kAvEol);
    put16(out, 0);
    return out;
}

std::optional<std::vector<AvPair>> decodeAvPairs(const Bytes& info) {
    std::vector<AvPair> pairs;
    std::size_t at = 0;
    while (at + 4 <= info.size()) {
        const std::uint16_t id = get16(info, at), length = get16(info, at + 2);
        if (id == kAvEol) return pairs;
        if (at + 4 + length > info.size()) return std::nullopt;
        pairs.push_back({id, Bytes(info.begin() + at + 4, info.begin() + at + 4 + length)});
        at += 4 + length;
    }
    return std::nullopt;  // no MsvAvEOL
}

Bytes utf16le(std::string_view utf8) {
    Bytes out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        std::uint32_t cp = 0xfffd;
        std::size_t n = 1;
        if (c < 0x80) {
            cp = c;
        } else if ((c & 0xe0) == 0xc0 && i + 1 < utf8.size()) {
            cp = ((c & 0x1fu) << 6) | (utf8[i + 1] & 0x3f);
            n = 2;
        } else if ((c & 0xf0) == 0xe0 && i + 2 < utf8.size()) {
            cp = ((c & 0x0fu) << 12) | ((utf8[i + 1] & 0x3f) << 6) | (utf8[i + 2] & 0x3f);
            n = 3;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
        }
        put16(out, static_cast<std::uint16_t>(cp));
        i += n;
    }
    return out;
}

std::string fromUtf16le(const Bytes& text) {
    std::string out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        const std::uint16_t cp = get16(text, i);
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    return out;
}

Bytes md4(const Bytes& data) {
    std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(
        EVP_MD_fetch(legacyContext(), "MD4", nullptr), &EVP_MD_free);
    Bytes out(16);
    unsigned int length = 0;
    if (!md || EVP_Digest(data.data(), data.size(), out.data(), &length, md.get(), nullptr) != 1)
        throw std::runtime_error("MD4 failed");
    return out;
}

Bytes hmacMd5(const Bytes& key, const Bytes& data) {
    Bytes out(16);
    unsigned int length = 0;
    if (!HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
              out.data(), &length))
        throw std::runtime_error("HMAC-MD5 failed");
    return out;
}

Bytes rc4(const Bytes& key, const Bytes& data) {
    std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)> cipher(
        EVP_CIPHER_fetch(legacyContext(), "RC4", nullptr), &EVP_CIPHER_free);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    Bytes out(data.size());
    int length = 0;
    const unsigned int keyLength = static_cast<unsigned int>(key.size());
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint("keylen", const_cast<unsigned int*>(&keyLength)),
        OSSL_PARAM_construct_end()};
    if (!cipher || !ctx ||
        EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, params) != 1 ||
        EVP_EncryptUpdate(ctx.get(), out.data(), &length, data.data(),
                          static_cast<int>(data.size())) != 1)
        throw std::runtime_error("RC4 failed");
    return out;
}

Bytes ntowfV2(std::string_view password, std::string_view user, std::string_view domain) {
    return hmacMd5(md4(utf16le(password)), utf16le(asciiUpper(user) + std::string(domain)));
}

Bytes clientBlob(const Bytes& clientChallenge, std::uint64_t timestamp, const Bytes& serverName) {
    Bytes temp = {1, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) temp.push_back(static_cast<std::uint8_t>(timestamp >> (8 * i)));
    temp.insert(temp.end(), clientChallenge.begin(), clientChallenge.end());
    temp.insert(temp.end(), 4, 0);
    temp.insert(temp.end(), serverName.begin(), serverName.end());
    temp.insert(temp.end(), 4, 0);
    return temp;
}

V2Response computeV2(const Bytes& key, const Bytes& serverChallenge, const Bytes& clientChallenge,
                     std::uint64_t timestamp, const Bytes& serverName) {
    V2Response r;
    const Bytes temp = clientBlob(clientChallenge, timestamp, serverName);
    r.ntProofStr = hmacMd5(key, concat({&serverChallenge, &temp}));
    r.ntChallengeResponse = concat({&r.ntProofStr, &temp});
    const Bytes lm = hmacMd5(key, concat({&serverChallenge, &clientChallenge}));
    r.lmChallengeResponse = concat({&lm, &clientChallenge});
    r.sessionBaseKey = hmacMd5(key, r.ntProofStr);
    return r;
}

AuthenticateMessage respond(const ChallengeMessage& challenge, const Credential& credential,
                            const Bytes& clientChallenge, std::uint64_t timestamp,
                            const Bytes& randomSessionKey, std::string_view workstation) {
    const Bytes key = ntowfV2(credential.password, credential.user, credential.domain);
    V2Response v2 =
        computeV2(key, challenge.serverChallenge, clientChallenge, timestamp, challenge.targetInfo);
    AuthenticateMessage m;
    m.flags = challenge.flags & ~static_cast<std::uint32_t>(kNegotiateVersion);
    m.lmChallengeResponse = std::move(v2.lmChallengeResponse);
    m.ntChallengeResponse = std::move(v2.ntChallengeResponse);
    m.domain = credential.domain;
    m.user = credential.user;
    m.workstation = std::string(workstation);
    // KXKEY for NTLMv2 is the session base key ([MS-NLMP] section 3.4.5.1).
    if (challenge.flags & kNegotiateKeyExchange)
        m.encryptedRandomSessionKey = rc4(v2.sessionBaseKey, randomSessionKey);
    return m;
}

Verification verifyV2(const AuthenticateMessage& m, const Bytes& serverChallenge,
                      const Credential& account) {
    Verification v;
    // NTLMv2_RESPONSE is the 16-byte NTProofStr and a client blob of at least
    // 28 bytes ([MS-NLMP] 2.2.2.7); 24 bytes in all is an NTLMv1 response.
    if (m.ntChallengeResponse.size() < 16 + 28) {
        v.reason =
            "not an NTLMv2 response (" + std::to_string(m.ntChallengeResponse.size()) + " bytes)";
        return v;
    }
    const Bytes proof(m.ntChallengeResponse.begin(), m.ntChallengeResponse.begin() + 16);
    const Bytes temp(m.ntChallengeResponse.begin() + 16, m.ntChallengeResponse.end());
    // The key is computed from the names the client sent, as a domain
    // controller does: user name case does not matter, the domain as typed.
    const Bytes key = ntowfV2(account.password, m.user, m.domain);
    const Bytes expected = hmacMd5(key, concat({&serverChallenge, &temp}));
    if (CRYPTO_memcmp(expected.data(), proof.data(), 16) != 0) {
        v.reason = "NTProofStr does not match the account's password";
        return v;
    }
    v.authenticated = true;
    v.sessionBaseKey = hmacMd5(key, proof);
    v.exportedSessionKey = v.sessionBaseKey;
    if ((m.flags & kNegotiateKeyExchange) && m.encryptedRandomSessionKey.size() == 16)
        v.exportedSessionKey = rc4(v.sessionBaseKey, m.encryptedRandomSessionKey);
    return v;
}

std::uint32_t clientAvFlags(const AuthenticateMessage& m) {
    // NTLMv2_CLIENT_CHALLENGE: NTProofStr (16), then RespType .. Z(4) (28), AV pairs.
    if (m.ntChallengeResponse.size() < 16 + 28) return 0;
    const Bytes pairs(m.ntChallengeResponse.begin() + 44, m.ntChallengeResponse.end());
    auto decoded = decodeAvPairs(pairs);
    if (!decoded) return 0;
    for (const auto& p : *decoded)
        if (p.id == kAvFlags && p.value.size() == 4) return get32(p.value, 0);
    return 0;
}

Bytes messageIntegrityCode(const Bytes& exportedSessionKey, const Bytes& negotiate,
                           const Bytes& challenge, const Bytes& authenticate) {
    Bytes zeroed = authenticate;
    if (zeroed.size() >= kMicOffset + 16)
        std::fill(zeroed.begin() + kMicOffset, zeroed.begin() + kMicOffset + 16, 0);
    return hmacMd5(exportedSessionKey, concat({&negotiate, &challenge, &zeroed}));
}

std::string base64(const Bytes& data) {
    std::string out(4 * ((data.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<Bytes> unbase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    Bytes out(3 * text.size() / 4);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    if (padding > 2) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace edgelab::ntlm
