// readJsonText: every failure says where, and nothing nlohmann throws escapes.
#include "common/json_text.hpp"

#include <gtest/gtest.h>

namespace edgelab {
namespace {

TEST(JsonText, ReadsADocument) {
    const auto doc = readJsonText(R"({"a": [1, {"b": "c"}]})");
    ASSERT_TRUE(doc) << doc.error();
    EXPECT_EQ((*doc)["a"][1]["b"], "c");
}

TEST(JsonText, ASyntaxErrorNamesLineColumnAndPath) {
    const auto doc = readJsonText("{\n  \"a\": [1,\n  2,, 3]}");
    ASSERT_FALSE(doc);
    EXPECT_NE(doc.error().find("line 3, column 5"), std::string::npos) << doc.error();
    EXPECT_NE(doc.error().find("/a/2"), std::string::npos) << doc.error();
    EXPECT_NE(doc.error().find("syntax error"), std::string::npos) << doc.error();
}

// nlohmann throws out_of_range (406), not parse_error, for a number beyond a
// double, and gives no offset: the JSON path says where.
TEST(JsonText, ANumberOverflowNamesItsPath) {
    for (const char* text : {R"([{"x": 1}, {"Timeout": 2222e2222}])", R"({"a~/b": -1e999})"}) {
        const auto doc = readJsonText(text);
        ASSERT_FALSE(doc) << text;
        EXPECT_NE(doc.error().find("number overflow"), std::string::npos) << doc.error();
    }
    EXPECT_NE(readJsonText(R"([{"x": 1}, {"Timeout": 2222e2222}])").error().find("/1/Timeout"),
              std::string::npos);
    // RFC 6901 escaping of '~' and '/' in the key.
    EXPECT_NE(readJsonText(R"({"a~/b": -1e999})").error().find("/a~0~1b"), std::string::npos)
        << readJsonText(R"({"a~/b": -1e999})").error();
}

TEST(JsonText, DuplicateKeysAreRefusedWhenAsked) {
    const std::string text = R"({"a": {"k": 1, "k": 2}})";
    EXPECT_TRUE(readJsonText(text));
    const auto doc = readJsonText(text, {.refuseDuplicateKeys = true});
    ASSERT_FALSE(doc);
    EXPECT_NE(doc.error().find("/a/k: duplicate key"), std::string::npos) << doc.error();
    EXPECT_EQ(duplicateKeyPaths(text), std::vector<std::string>{"/a/k"});
}

TEST(JsonText, EmptyAndTruncatedTextAreErrors) {
    for (const char* text : {"", "   ", "{", "[1, 2", "\"abc", "nul"}) {
        const auto doc = readJsonText(text);
        EXPECT_FALSE(doc) << text;
        EXPECT_NE(doc.error().find("not valid JSON"), std::string::npos) << doc.error();
    }
}

}  // namespace
}  // namespace edgelab
