#include "common/matching.hpp"

#include <gtest/gtest.h>

namespace edgelab {
namespace {

TEST(Glob, StarsAndQuestionMarks) {
    EXPECT_TRUE(globMatches("tls.*", "tls.sni.lyncws.contoso.com"));
    EXPECT_TRUE(globMatches("*", ""));
    EXPECT_TRUE(globMatches("*.lync-mobile", "profile.sni.lync-mobile"));
    EXPECT_TRUE(globMatches("a?c", "abc"));
    EXPECT_TRUE(globMatches("a*b*c", "aXbYbZc"));  // the first b is not the one
    EXPECT_FALSE(globMatches("a?c", "ac"));
    EXPECT_FALSE(globMatches("tls.*", "owas.tls"));
    EXPECT_FALSE(globMatches("lab.owas-url", "lab.owas-url.x"));
    EXPECT_FALSE(globMatches("Lab.*", "lab.x"));  // ids are case-sensitive
    EXPECT_TRUE(globMatches("lab.owas-url", "lab.owas-url"));
    EXPECT_TRUE(globMatches("tls.chain.?eet.*", "tls.chain.meet.example.com"));
    EXPECT_TRUE(globMatches("web?ervices.*", "webservices.abs-handler"));
    EXPECT_FALSE(globMatches("a*b", "acbd"));
}

TEST(DnsNameCovers, ExactNamesIgnoreCaseAndTheRootDot) {
    EXPECT_TRUE(dnsNameCovers("lyncws.contoso.com", "LyncWS.Contoso.com"));
    EXPECT_TRUE(dnsNameCovers("lyncws.contoso.com", "lyncws.contoso.com."));
    EXPECT_FALSE(dnsNameCovers("lyncws.contoso.com", "meet.contoso.com"));
    EXPECT_FALSE(dnsNameCovers("", ""));
}

// RFC 6125 section 6.4.3: the wildcard is the whole left-most label and
// stands for exactly one label.
TEST(DnsNameCovers, WildcardStandsForExactlyOneLeftMostLabel) {
    EXPECT_TRUE(dnsNameCovers("*.contoso.com", "meet.contoso.com"));
    EXPECT_TRUE(dnsNameCovers("*.Contoso.com", "MEET.contoso.COM"));
    EXPECT_FALSE(dnsNameCovers("*.contoso.com", "contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*.contoso.com", "a.meet.contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*.contoso.com", ".contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*.contoso.com", "meet.fabrikam.com"));
}

TEST(DnsNameCovers, AnyOfTheNames) {
    EXPECT_TRUE(dnsNamesCover({"lyncws.contoso.com", "*.contoso.com"}, "meet.contoso.com"));
    EXPECT_TRUE(dnsNamesCover({"Meet.Contoso.com"}, "meet.contoso.com"));
    EXPECT_FALSE(dnsNamesCover({"lyncws.contoso.com"}, "meet.contoso.com"));
    EXPECT_FALSE(dnsNamesCover({}, "meet.contoso.com"));
}

TEST(DnsNameCovers, NoOtherWildcards) {
    EXPECT_FALSE(dnsNameCovers("m*.contoso.com", "meet.contoso.com"));
    EXPECT_FALSE(dnsNameCovers("meet.*.com", "meet.contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*.*.com", "a.contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*.com", "contoso.com"));
    EXPECT_FALSE(dnsNameCovers("*", "contoso"));
    EXPECT_FALSE(dnsNameCovers("*.contoso.com", "*.contoso.com.evil"));
}

}  // namespace
}  // namespace edgelab
