#include "backends/spnego.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "backends/signin.hpp"
#include "provision/ntlm.hpp"
#include "site_fixture.hpp"

namespace edgelab::backends {
namespace {

using namespace fixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What `curl --negotiate` sent with Debian's gss-ntlmssp and no Kerberos
// ticket: SPNEGO's NegTokenInit offering NTLMSSP, an NTLM NEGOTIATE inside.
ntlm::Bytes curlNegTokenInit() {
    std::ifstream in(std::string(EDGELAB_SOURCE_DIR) +
                     "/tests/fixtures/signin/spnego-negtokeninit-ntlm.b64");
    std::string text;
    in >> text;
    return ntlm::unbase64(text).value();
}

TEST(Spnego, ARealNegTokenInitGivesTheNtlmNegotiate) {
    const auto token = curlNegTokenInit();
    ASSERT_TRUE(looksLikeSpnego(token));
    auto parsed = parseSpnego(token);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(parsed->init);
    EXPECT_THAT(parsed->mechTypes, ElementsAre(kNtlmsspOid));
    EXPECT_EQ(ntlm::messageType(parsed->mechToken), ntlm::MessageType::Negotiate);
    EXPECT_TRUE(ntlm::decodeNegotiate(parsed->mechToken));
}

TEST(Spnego, TheServersNegTokenRespReadsBack) {
    const ntlm::Bytes inner = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 2, 0, 0, 0};
    auto resp = negTokenResp(NegState::AcceptIncomplete, true, inner);
    EXPECT_EQ(resp[0], 0xa1);
    auto parsed = parseSpnego(resp);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_FALSE(parsed->init);
    EXPECT_EQ(parsed->mechToken, inner);
    // accept-completed alone: a1 07 30 05 a0 03 0a 01 00
    EXPECT_EQ(negTokenResp(NegState::AcceptCompleted, false, {}),
              (ntlm::Bytes{0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00}));
}

TEST(Spnego, TruncatedAndForeignTokensSayWhatIsWrong) {
    const auto token = curlNegTokenInit();
    for (std::size_t n : {1u, 2u, 10u, 20u, 40u}) {
        auto cut = parseSpnego(ntlm::Bytes(token.begin(), token.begin() + n));
        EXPECT_FALSE(cut) << n;
        EXPECT_FALSE(cut.error().empty());
    }
    auto longer = token;
    longer.push_back(0);
    EXPECT_THAT(parseSpnego(longer).error(), HasSubstr("one complete DER element"));
    auto kerberos = token;
    kerberos[8] = 0x03;  // 1.3.6.1.5.5.3: not SPNEGO
    EXPECT_THAT(parseSpnego(kerberos).error(), HasSubstr("not for SPNEGO"));
    EXPECT_FALSE(parseSpnego({0x30, 0x00}));
    EXPECT_FALSE(parseSpnego({0x60, 0x80, 0x00, 0x00}));  // indefinite length: not DER
}

Request webTicket(const std::string& authorization) {
    Request req{http::verb::post, "/WebTicket/WebTicketService.svc", 11};
    req.set(http::field::host, "lyncws.example.test");
    req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.body() =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
        "<t:RequestSecurityToken xmlns:t=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\"/>"
        "</s:Body></s:Envelope>";
    req.prepare_payload();
    return req;
}

Response send(const Request& req, ConnectionAuth& c) {
    return handle(provision::BackendRole::LyncFrontEnd, lyncSite(), req, c).response;
}

// The NTLM CHALLENGE inside the server's NegTokenResp.
ntlm::ChallengeMessage challengeIn(const Response& res) {
    const std::string header(res[http::field::www_authenticate]);
    EXPECT_THAT(header, ::testing::StartsWith("Negotiate "));
    auto token = ntlm::unbase64(header.substr(10)).value();
    auto parsed = parseSpnego(token);
    EXPECT_TRUE(parsed) << parsed.error();
    return ntlm::decodeChallenge(parsed->mechToken).value();
}

// An AUTHENTICATE with a MIC, as gss-ntlmssp and Windows send one when the
// challenge has a timestamp; `tamper` spoils the MIC.
ntlm::Bytes authenticateWithMic(const ntlm::Bytes& negotiate, const ntlm::Bytes& challengeBytes,
                                bool tamper, const ntlm::Credential& who) {
    auto challenge = ntlm::decodeChallenge(challengeBytes).value();
    // The client's AV pairs: the server's, plus MsvAvFlags = MIC present.
    auto pairs = ntlm::decodeAvPairs(challenge.targetInfo).value();
    pairs.push_back({ntlm::kAvFlags, {2, 0, 0, 0}});
    challenge.targetInfo = ntlm::encodeAvPairs(pairs);
    const ntlm::Bytes sessionKey(16, 0x22);
    auto message = ntlm::respond(challenge, who, ntlm::Bytes(8, 0x11), 1, sessionKey);
    // Room for the MIC: encode with the version flag, which writes 72 bytes
    // of fixed fields; then 16 bytes of MIC go after them.
    message.flags |= ntlm::kNegotiateVersion;
    ntlm::Bytes bytes = ntlm::encode(message);
    ntlm::Bytes withMic(bytes.begin(), bytes.begin() + 72);
    withMic.insert(withMic.end(), 16, 0);
    withMic.insert(withMic.end(), bytes.begin() + 72, bytes.end());
    for (std::size_t at = 12; at <= 52; at += 8) {  // payload offsets move by 16
        std::uint32_t off = withMic[at + 4] | (withMic[at + 5] << 8) | (withMic[at + 6] << 16) |
                            (static_cast<std::uint32_t>(withMic[at + 7]) << 24);
        off += 16;
        for (int i = 0; i < 4; ++i) withMic[at + 4 + i] = static_cast<std::uint8_t>(off >> (8 * i));
    }
    const ntlm::Bytes exported = sessionKey;  // key exchange: the random session key
    auto mic = ntlm::messageIntegrityCode(exported, negotiate, challengeBytes, withMic);
    if (tamper) mic[0] ^= 1;
    std::copy(mic.begin(), mic.end(), withMic.begin() + 72);
    return withMic;
}

ntlm::Bytes spnegoResp(const ntlm::Bytes& ntlmMessage) {
    // The client's NegTokenResp has the same shape as the server's.
    return negTokenResp(NegState::AcceptIncomplete, false, ntlmMessage);
}

TEST(Spnego, NtlmInSpnegoSignsInWithAVerifiedMic) {
    for (bool tamper : {false, true}) {
        ConnectionAuth c;
        const auto init = curlNegTokenInit();
        const auto negotiate = parseSpnego(init)->mechToken;
        auto leg1 = send(webTicket("Negotiate " + ntlm::base64(init)), c);
        ASSERT_EQ(leg1.result(), http::status::unauthorized);
        const std::string header(leg1[http::field::www_authenticate]);
        auto challengeToken = parseSpnego(ntlm::unbase64(header.substr(10)).value());
        ASSERT_TRUE(challengeToken);
        const ntlm::Bytes challengeBytes = challengeToken->mechToken;
        auto challenge = challengeIn(leg1);
        // What IIS on Windows Server 2012 R2 sends.
        auto pairs = ntlm::decodeAvPairs(challenge.targetInfo).value();
        std::set<int> ids;
        for (const auto& p : pairs) ids.insert(p.id);
        EXPECT_TRUE(ids.count(ntlm::kAvTimestamp));
        EXPECT_TRUE(ids.count(ntlm::kAvDnsTreeName));
        EXPECT_EQ(challengeBytes.size() >= 56
                      ? ntlm::Bytes(challengeBytes.begin() + 48, challengeBytes.begin() + 56)
                      : ntlm::Bytes{},
                  ntlm::kWindowsServer2012R2Version);

        auto auth = authenticateWithMic(negotiate, challengeBytes, tamper,
                                        {"alice", "EXAMPLE", "Pa55w.rd"});
        auto leg2 = send(webTicket("Negotiate " + ntlm::base64(spnegoResp(auth))), c);
        if (tamper) {
            EXPECT_EQ(leg2.result(), http::status::unauthorized);
            EXPECT_TRUE(c.signedInSipUri.empty());
        } else {
            ASSERT_EQ(leg2.result(), http::status::ok) << leg2.body();
            auto final =
                ntlm::unbase64(std::string(leg2[http::field::www_authenticate]).substr(10));
            EXPECT_EQ(*final, negTokenResp(NegState::AcceptCompleted, false, {}));
        }
    }
}

TEST(Spnego, SignInNamesAsDomainControllersReadThem) {
    for (ntlm::Credential who : {ntlm::Credential{"alice", "EXAMPLE", "Pa55w.rd"},
                                 ntlm::Credential{"ALICE", "example.test", "Pa55w.rd"},
                                 ntlm::Credential{"alice@example.test", "", "Pa55w.rd"}}) {
        ConnectionAuth c;
        const auto negotiate = ntlm::encode(ntlm::NegotiateMessage{
            ntlm::kNegotiateUnicode | ntlm::kNegotiateNtlm | ntlm::kNegotiateKeyExchange});
        auto leg1 = send(webTicket("NTLM " + ntlm::base64(negotiate)), c);
        const std::string header(leg1[http::field::www_authenticate]);
        auto challenge = ntlm::decodeChallenge(ntlm::unbase64(header.substr(5)).value()).value();
        auto message =
            ntlm::respond(challenge, who, ntlm::Bytes(8, 0x11), 1, ntlm::Bytes(16, 0x22));
        auto leg2 = send(webTicket("NTLM " + ntlm::base64(ntlm::encode(message))), c);
        EXPECT_EQ(leg2.result(), http::status::ok) << who.user << "/" << who.domain;
    }
}

TEST(Spnego, TruncatedAndGarbageTokensGetTheAnonymousChallenge) {
    const auto init = curlNegTokenInit();
    for (const std::string& auth :
         {"Negotiate " + ntlm::base64(ntlm::Bytes(init.begin(), init.begin() + 30)),
          std::string("Negotiate !!!!"), std::string("Negotiate oQMwAQ=="),
          "NTLM " + ntlm::base64(ntlm::Bytes(init.end() - 40, init.end() - 30)),
          std::string("Negotiate"), std::string("Basic YTpi")}) {
        ConnectionAuth c;
        auto res = send(webTicket(auth), c);
        EXPECT_EQ(res.result(), http::status::unauthorized) << auth;
        std::vector<std::string> offered;
        for (auto it = res.find(http::field::www_authenticate);
             it != res.end() && it->name() == http::field::www_authenticate; ++it)
            offered.emplace_back(it->value());
        EXPECT_THAT(offered, ElementsAre("Negotiate", "NTLM")) << auth;
    }
}

}  // namespace
}  // namespace edgelab::backends
