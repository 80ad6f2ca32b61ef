#include "provision/ntlm.hpp"

#include <charconv>

#include <gtest/gtest.h>

namespace edgelab::ntlm {
namespace {

Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        std::uint8_t byte = 0;
        std::from_chars(text.data() + i, text.data() + i + 2, byte, 16);
        out.push_back(byte);
    }
    return out;
}

// The inputs of [MS-NLMP] section 4.2.1 and the server name AV pairs of
// section 4.2.4 (NetBIOS domain "Domain", NetBIOS computer "Server").
const Bytes kServerChallenge = hex("0123456789abcdef");
const Bytes kClientChallenge = hex("aaaaaaaaaaaaaaaa");
const Bytes kRandomSessionKey = hex("55555555555555555555555555555555");

Bytes specServerName() {
    return encodeAvPairs(
        {{kAvNbDomainName, utf16le("Domain")}, {kAvNbComputerName, utf16le("Server")}});
}

TEST(NtlmV2, NtowfV2MatchesTheSpecificationsTestVector) {
    // [MS-NLMP] 4.2.4.1.1
    EXPECT_EQ(ntowfV2("Password", "User", "Domain"), hex("0c868a403bfd7a93a3001ef22ef02e3f"));
    // Uppercase(User): the user name's case does not change the key.
    EXPECT_EQ(ntowfV2("Password", "user", "Domain"), ntowfV2("Password", "USER", "Domain"));
    EXPECT_NE(ntowfV2("Password", "User", "DOMAIN"), ntowfV2("Password", "User", "Domain"));
}

TEST(NtlmV2, ResponsesAndKeysMatchTheSpecificationsTestVectors) {
    const Bytes key = ntowfV2("Password", "User", "Domain");
    const V2Response r = computeV2(key, kServerChallenge, kClientChallenge, 0, specServerName());
    // 4.2.4.1.3 temp, which the NTLMv2_RESPONSE carries after NTProofStr.
    EXPECT_EQ(Bytes(r.ntChallengeResponse.begin() + 16, r.ntChallengeResponse.end()),
              clientBlob(kClientChallenge, 0, specServerName()));
    EXPECT_EQ(clientBlob(kClientChallenge, 0, specServerName()),
              hex("01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
                  "02000c0044006f006d00610069006e0001000c00530065007200760065007200"
                  "0000000000000000"));
    EXPECT_EQ(r.ntProofStr, hex("68cd0ab851e51c96aabc927bebef6a1c"));  // 4.2.4.2.2
    EXPECT_EQ(r.lmChallengeResponse,
              hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"));    // 4.2.4.2.1
    EXPECT_EQ(r.sessionBaseKey, hex("8de40ccadbc14a82f15cb0ad0de95ca3"));  // 4.2.4.1.2
    // 4.2.4.2.3: the random session key encrypted with the key exchange key.
    EXPECT_EQ(rc4(r.sessionBaseKey, kRandomSessionKey), hex("c5dad2544fc9799094ce1ce90bc9d03e"));
}

ChallengeMessage serverChallenge() {
    ChallengeMessage c;
    c.flags = kNegotiateUnicode | kNegotiateNtlm | kNegotiateTargetInfo |
              kNegotiateExtendedSessionSecurity | kNegotiateKeyExchange | kNegotiate128 |
              kTargetTypeDomain | kRequestTarget;
    c.serverChallenge = kServerChallenge;
    c.targetName = "KLOUD";
    c.targetInfo = encodeAvPairs({{kAvNbDomainName, utf16le("KLOUD")},
                                  {kAvNbComputerName, utf16le("LYNCFE1")},
                                  {kAvDnsDomainName, utf16le("kloud.example")}});
    return c;
}

TEST(NtlmMessages, EachMessageSurvivesEncodingAndDecoding) {
    auto negotiate = decodeNegotiate(encode(NegotiateMessage{kNegotiateUnicode | kNegotiateNtlm}));
    ASSERT_TRUE(negotiate);
    EXPECT_EQ(negotiate->flags, kNegotiateUnicode | kNegotiateNtlm);

    const ChallengeMessage sent = serverChallenge();
    auto challenge = decodeChallenge(encode(sent));
    ASSERT_TRUE(challenge);
    EXPECT_EQ(challenge->serverChallenge, kServerChallenge);
    EXPECT_EQ(challenge->targetName, "KLOUD");
    EXPECT_EQ(challenge->targetInfo, sent.targetInfo);
    auto pairs = decodeAvPairs(challenge->targetInfo);
    ASSERT_TRUE(pairs);
    ASSERT_EQ(pairs->size(), 3u);
    EXPECT_EQ(fromUtf16le((*pairs)[1].value), "LYNCFE1");

    const auto auth = respond(*challenge, {"alice", "KLOUD", "Pa55w.rd"}, kClientChallenge, 42,
                              kRandomSessionKey, "WS1");
    auto decoded = decodeAuthenticate(encode(auth));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->user, "alice");
    EXPECT_EQ(decoded->domain, "KLOUD");
    EXPECT_EQ(decoded->workstation, "WS1");
    EXPECT_EQ(decoded->ntChallengeResponse, auth.ntChallengeResponse);
    EXPECT_EQ(decoded->encryptedRandomSessionKey.size(), 16u);
    EXPECT_EQ(messageType(encode(auth)), MessageType::Authenticate);
}

TEST(NtlmVerifier, TheRightPasswordAuthenticatesAndTheKeysAgree) {
    const auto auth = respond(serverChallenge(), {"Alice", "KLOUD", "Pa55w.rd"}, kClientChallenge,
                              42, kRandomSessionKey);
    const auto v = verifyV2(auth, kServerChallenge, {"alice", "KLOUD", "Pa55w.rd"});
    EXPECT_TRUE(v.authenticated) << v.reason;
    EXPECT_EQ(v.exportedSessionKey, kRandomSessionKey);
}

TEST(NtlmVerifier, AWrongPasswordAnotherChallengeOrAnNtlmV1AnswerIsRefused) {
    const auto auth = respond(serverChallenge(), {"alice", "KLOUD", "wrong"}, kClientChallenge, 42,
                              kRandomSessionKey);
    EXPECT_FALSE(verifyV2(auth, kServerChallenge, {"alice", "KLOUD", "Pa55w.rd"}).authenticated);

    const auto right = respond(serverChallenge(), {"alice", "KLOUD", "Pa55w.rd"}, kClientChallenge,
                               42, kRandomSessionKey);
    // A response to another connection's challenge proves nothing here.
    EXPECT_FALSE(
        verifyV2(right, hex("fedcba9876543210"), {"alice", "KLOUD", "Pa55w.rd"}).authenticated);

    AuthenticateMessage v1 = right;
    v1.ntChallengeResponse.resize(24);
    const auto verdict = verifyV2(v1, kServerChallenge, {"alice", "KLOUD", "Pa55w.rd"});
    EXPECT_FALSE(verdict.authenticated);
    EXPECT_NE(verdict.reason.find("not an NTLMv2 response"), std::string::npos);
}

TEST(NtlmMessages, TruncatedOrOutOfBoundsMessagesAreRefused) {
    Bytes auth = encode(respond(serverChallenge(), {"alice", "KLOUD", "x"}, kClientChallenge, 1,
                                kRandomSessionKey));
    EXPECT_FALSE(decodeAuthenticate(Bytes(auth.begin(), auth.begin() + 40)));
    Bytes pointsOutside = auth;
    pointsOutside[24] = 0xff;  // NtChallengeResponseFields.BufferOffset
    pointsOutside[25] = 0xff;
    EXPECT_FALSE(decodeAuthenticate(pointsOutside));
    EXPECT_FALSE(decodeChallenge(auth));  // another type
    EXPECT_FALSE(messageType(Bytes{'N', 'T', 'L', 'M'}));
    EXPECT_FALSE(decodeAvPairs(hex("02000c00446f")));  // a pair longer than the buffer
}

TEST(NtlmBase64, RoundTripsAndRefusesWhatIsNotBase64) {
    for (std::size_t n : {0u, 1u, 2u, 3u, 16u, 17u}) {
        Bytes data(n, 0x5a);
        if (n == 0) continue;
        EXPECT_EQ(unbase64(base64(data)), data) << n;
    }
    EXPECT_EQ(base64(Bytes{'N', 'T', 'L', 'M'}), "TlRMTQ==");
    EXPECT_FALSE(unbase64("TlRMTQ="));
    EXPECT_FALSE(unbase64(""));
}

}  // namespace
}  // namespace edgelab::ntlm
