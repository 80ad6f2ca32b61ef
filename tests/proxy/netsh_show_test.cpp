// The netsh reader on what Windows really hands over: UTF-16 with and without
// a byte order mark, CRLF, reordered and unknown labels, truncated and
// garbage input. It never throws; what it cannot read, it names by line.
#include "proxy/netsh_show.hpp"

#include <gtest/gtest.h>

#include <random>

#include "proxy/binding_store.hpp"

namespace edgelab::proxy {
namespace {

const std::string kCapture =
    "\r\n"
    "SSL Certificate bindings:\r\n"
    "-------------------------\r\n"
    "\r\n"
    "    Hostname:port                : lyncws.contoso.com:443\r\n"
    "    Certificate Hash             : f7f6b300fe4d569fd598e1c9722571cf9ad780dd\r\n"
    "    Application ID               : {f955c070-e044-456c-ac00-e9e4275b3f04}\r\n"
    "    Certificate Store Name       : MY\r\n"
    "    Verify Client Certificate Revocation : Enabled\r\n"
    "    Reject Connections           : Disabled\r\n"
    "    Extended Properties:\r\n"
    "    PropertyId                   : 0\r\n"
    "\r\n"
    "    Central Certificate Store    : 443\r\n"
    "    Certificate Hash             : (null)\r\n"
    "    Application ID               : {4dc3e181-e14b-4a21-b022-59fc669b0914}\r\n"
    "    Certificate Store Name       : (null)\r\n"
    "\r\n"
    "    IP:port                      : 0.0.0.0:443\r\n"
    "    Application ID               : {f955c070-e044-456c-ac00-e9e4275b3f04}\r\n"
    "    Certificate Hash             : f7f6b300fe4d569fd598e1c9722571cf9ad780dd\r\n"
    "\r\n";

std::string utf16(std::string_view ascii, bool little, bool bom) {
    std::string out;
    if (bom) out += little ? "\xFF\xFE" : "\xFE\xFF";
    for (char c : ascii) {
        out += little ? c : '\0';
        out += little ? '\0' : c;
    }
    return out;
}

TEST(NetshText, ReadsEveryKeyKindAndKeepsUnknownLabels) {
    const auto show = parseNetshText(kCapture);
    EXPECT_TRUE(show.problems.empty()) << show.problems.front().str();
    ASSERT_EQ(show.entries.size(), 3u);
    EXPECT_EQ(show.entries[0].kind, NetshKeyKind::HostnamePort);
    EXPECT_EQ(show.entries[0].key, "lyncws.contoso.com:443");
    ASSERT_NE(show.entries[0].field("Reject Connections"), nullptr);
    EXPECT_EQ(*show.entries[0].field("Reject Connections"), "Disabled");
    ASSERT_NE(show.entries[0].field("Extended Properties"), nullptr);
    EXPECT_EQ(show.entries[1].kind, NetshKeyKind::CentralCertificateStore);
    EXPECT_EQ(show.entries[1].key, "443");
    EXPECT_EQ(show.entries[2].kind, NetshKeyKind::IpPort);
    EXPECT_EQ(*show.entries[2].field("certificate hash"),
              "f7f6b300fe4d569fd598e1c9722571cf9ad780dd");  // reordered: still found
    EXPECT_EQ(show.entries[2].line, 19u);
}

TEST(NetshText, DecodesUtf16EitherWayWithOrWithoutAMark) {
    for (bool little : {true, false})
        for (bool bom : {true, false}) {
            const auto decoded = decodeCapturedText(utf16(kCapture, little, bom));
            EXPECT_EQ(decoded.encoding, little ? "utf-16le" : "utf-16be");
            EXPECT_EQ(decoded.utf8, kCapture);
        }
    EXPECT_EQ(decodeCapturedText("\xEF\xBB\xBF" + kCapture).utf8, kCapture);
    EXPECT_EQ(decodeCapturedText(kCapture).encoding, "utf-8");
    // A capture cut in the middle of a UTF-16 unit keeps what came before.
    const auto cut = decodeCapturedText(utf16(kCapture, true, true).substr(0, 101));
    EXPECT_EQ(cut.utf8.substr(0, 40), kCapture.substr(0, 40));
}

TEST(NetshText, NamesTheLinesItCannotReadAndKeepsTheRest) {
    const std::string text =
        "SSL Certificate bindings:\n"
        "    Certificate Hash             : 00\n"             // before any key
        "    IP:port                      : 0.0.0.0:99999\n"  // bad port: block skipped
        "    Certificate Hash             : f7f6b300fe4d569fd598e1c9722571cf9ad780dd\n"
        "garbage without a separator\n"
        "    Hostname:port                : meet.contoso.com:443\n"
        "    Certificate Hash             : xyz\n"
        "    Application ID               : {f955c070-e044-456c-ac00-e9e4275b3f04}\n";
    const auto show = parseNetshText(text);
    ASSERT_EQ(show.entries.size(), 1u);
    EXPECT_EQ(show.entries[0].key, "meet.contoso.com:443");
    ASSERT_EQ(show.problems.size(), 4u);
    EXPECT_EQ(show.problems[0].line, 2u);
    EXPECT_EQ(show.problems[1].line, 3u);
    EXPECT_NE(show.problems[1].message.find("PORT"), std::string::npos);
    EXPECT_EQ(show.problems[2].line, 5u);
    EXPECT_NE(show.problems[2].str().find("garbage without a separator"), std::string::npos);
    EXPECT_EQ(show.problems[3].line, 7u);
    EXPECT_NE(show.problems[3].message.find("40 hex digits"), std::string::npos);
}

TEST(NetshText, QuotedLinesNeverCarryRawBytes) {
    const auto show = parseNetshText("ok \x01\x1b[31m \xff\xfe caf\xc3\xa9\n");
    ASSERT_EQ(show.problems.size(), 1u);
    EXPECT_EQ(show.problems[0].text, "ok ??[31m ?? caf\xc3\xa9");
}

TEST(NetshText, ATruncatedBlockIsLeftOutAndSaidSo) {
    const auto show = parseNetshText(kCapture.substr(0, kCapture.find("    Certificate Hash")));
    EXPECT_TRUE(show.entries.empty());
    ASSERT_EQ(show.problems.size(), 1u);
    EXPECT_NE(show.problems[0].message.find("truncated"), std::string::npos);
    EXPECT_EQ(show.problems[0].line, 5u);
}

TEST(NetshText, RandomBytesNeverThrowAndProblemsAreBounded) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 200; ++round) {
        std::string bytes(1 + rng() % 4000, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        if (round % 2) bytes.insert(rng() % bytes.size(), kCapture);
        NetshShow show;
        ASSERT_NO_THROW(show = parseNetshText(decodeCapturedText(bytes).utf8));
        EXPECT_LE(show.problems.size(), 201u);
    }
}

TEST(NetshText, FieldLayoutIsNetshs) {
    EXPECT_EQ(formatNetshField("IP:port", "0.0.0.0:443"),
              "    IP:port                      : 0.0.0.0:443");
    EXPECT_EQ(formatNetshField("Negotiate Client Certificate", "Disabled"),
              "    Negotiate Client Certificate : Disabled");
    EXPECT_EQ(formatNetshField("Verify Client Certificate Revocation", "Enabled"),
              "    Verify Client Certificate Revocation : Enabled");
}

TEST(NetshText, StoreKeepsWhatItCanHold) {
    const auto store = parseNetshShow(utf16(kCapture, true, true));
    ASSERT_EQ(store.bindings.size(), 2u);  // the Central Certificate Store entry is not held
    EXPECT_EQ(store.bindings[1].key.kind, BindingKind::IpPort);
    EXPECT_EQ(store.bindings[1].certificateHash, "F7F6B300FE4D569FD598E1C9722571CF9AD780DD");
    const auto ccs = bindingOf(parseNetshText(kCapture).entries[1]);
    EXPECT_FALSE(ccs);
    EXPECT_NE(ccs.error().find("Central Certificate Store"), std::string::npos);
}

}  // namespace
}  // namespace edgelab::proxy
