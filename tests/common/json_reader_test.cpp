// JsonObjectReader: every problem with its path, unknown keys with the
// nearest known one, keys older files carry accepted when said so.
#include "common/json_reader.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace edgelab {
namespace {

using nlohmann::json;

std::vector<std::string> texts(const std::vector<JsonError>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.str());
    return out;
}

TEST(JsonReader, ReadsValuesAndReportsEveryProblemWithItsPath) {
    const json doc = json::parse(R"({"name": 7, "port": 70000, "on": true, "tags": ["a", 1]})");
    std::vector<JsonError> errors;
    JsonObjectReader r(doc, "/x", errors);
    EXPECT_FALSE(r.string("name"));
    EXPECT_FALSE(r.integer("port", 1, 65535));
    EXPECT_EQ(r.boolean("on"), true);
    EXPECT_EQ(r.strings("tags"), std::vector<std::string>{"a"});
    EXPECT_FALSE(r.string("host", true));
    r.finish();
    EXPECT_EQ(texts(errors),
              (std::vector<std::string>{
                  "/x/name: expected a string, got 7",
                  "/x/port: expected a whole number from 1 to 65535, got 70000",
                  "/x/tags/1: expected a string, got 1", "/x/host: required, expected a string"}));
}

TEST(JsonReader, AnUnknownKeyGetsTheNearestKnownOne) {
    const json doc = json::parse(R"({"adress": "a", "zzz": 1, "a/b": 2})");
    std::vector<JsonError> errors;
    JsonObjectReader r(doc, "", errors);
    r.string("address");
    r.finish();
    EXPECT_EQ(texts(errors), (std::vector<std::string>{"/a~1b: unknown key",
                                                       "/adress: unknown key (did you mean "
                                                       "\"address\"?)",
                                                       "/zzz: unknown key"}));
}

TEST(JsonReader, AcceptedKeysAreNeitherReadNorRefused) {
    const json doc = json::parse(R"({"legacy": {"anything": 1}})");
    std::vector<JsonError> errors;
    JsonObjectReader r(doc, "", errors);
    r.accept("legacy");
    r.finish();
    EXPECT_TRUE(errors.empty());
}

TEST(JsonReader, ErrorsAreDescribedOneOrMany) {
    EXPECT_EQ(describeJsonErrors("f.json", {{"/a", "bad"}}), "f.json: /a: bad");
    EXPECT_EQ(describeJsonErrors("f.json", {{"/a", "bad"}, {"", "worse"}}),
              "f.json: 2 errors\n  /a: bad\n  worse");
    EXPECT_EQ(describeJsonErrors("", {{"/a", "bad"}}), "/a: bad");
}

}  // namespace
}  // namespace edgelab
