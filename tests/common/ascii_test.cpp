#include "common/ascii.hpp"

#include <gtest/gtest.h>

namespace edgelab {
namespace {

TEST(Ascii, FoldsAsciiLettersOnly) {
    EXPECT_EQ(asciiLower("LyncWS.Contoso.COM"), "lyncws.contoso.com");
    EXPECT_EQ(asciiUpper("ab12cd"), "AB12CD");
    // A byte outside ASCII is not a letter here, whatever the locale says.
    EXPECT_EQ(asciiLower("\xC4X"), "\xC4x");
}

TEST(Ascii, ComparesWithoutCase) {
    EXPECT_TRUE(iequals("NTLM", "ntlm"));
    EXPECT_FALSE(iequals("NTLM", "ntl"));
    EXPECT_FALSE(iequals("Negotiate", "Negotiatf"));
    EXPECT_TRUE(istartsWith("Bearer realm=x", "bearer"));
    EXPECT_FALSE(istartsWith("Bear", "bearer"));
    EXPECT_TRUE(icontains("text/HTML; charset=utf-8", "html"));
    EXPECT_FALSE(icontains("text/plain", "html"));
}

TEST(Ascii, JoinsWithSeparatorsBetweenOnly) {
    EXPECT_EQ(join({}, ", "), "");
    EXPECT_EQ(join({"a"}, ", "), "a");
    EXPECT_EQ(join({"a", "", "c"}, "; "), "a; ; c");
}

}  // namespace
}  // namespace edgelab
