// Reading the values of a JSON document that came from outside (a lab, a
// proxy configuration, a binding store, a lab's state): one way for every
// file edgelab reads. common/json_text turns the text into a document; this
// walks its objects and collects every problem with its JSON path (RFC 6901),
// rather than stopping at the first: a wrong type, a value out of range, a
// required key missing, and a key no one reads, with the nearest known key
// suggested ("did you mean"). The caller turns the list into its layer's
// typed error (CONTRIBUTING.md, One error policy). It never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace edgelab {

// One problem in a file: the JSON pointer it concerns and what is wrong.
struct JsonError {
    std::string path;     // "/applications/2/backendServerUrl"; empty: the whole file
    std::string message;  // "expected an https URL, got \"lyncws:4443\""
    std::string str() const { return path.empty() ? message : path + ": " + message; }
};

// "SOURCE: PATH: WHY" for one error, "SOURCE: N errors" and one indented line
// each for several; without "SOURCE: " when the source is empty.
std::string describeJsonErrors(std::string_view source, const std::vector<JsonError>& errors);

// A value as an error message shows it: strings and numbers as written (cut
// at 60 characters), "an object", "an array", "null".
std::string describeJsonValue(const nlohmann::json& v);

// The key among `known` a person most likely meant by `key` (a small edit
// distance), or empty.
std::string nearestKey(std::string_view key, const std::set<std::string, std::less<>>& known);

// Walks one JSON object, remembering which keys were read, so that what is
// left over is reported by finish() as unknown (with the nearest known key as
// the likely intended one). Every read of a missing key gives nothing; a
// present key of the wrong type gives nothing and an error at its path.
class JsonObjectReader {
  public:
    JsonObjectReader(const nlohmann::json& obj, std::string path, std::vector<JsonError>& errors);

    std::string at(std::string_view key) const;
    const std::string& path() const { return path_; }
    void error(std::string_view key, std::string message) const;
    std::vector<JsonError>& errors() const { return errors_; }

    // The value, whatever its type (null when absent); the key is known.
    const nlohmann::json* get(std::string_view key);
    // A key that files written by older versions carry and that is read no
    // more: accepted, ignored.
    void accept(std::string_view key) { known_.emplace(key); }

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<bool> boolean(std::string_view key);
    std::optional<double> number(std::string_view key, double min, double max);
    std::optional<int> integer(std::string_view key, int min, int max, bool required = false);
    // A whole number >= 0 that fits 64 bits (sizes, counts, ports).
    std::optional<std::uint64_t> count(std::string_view key);
    std::vector<std::string> strings(std::string_view key);
    // An object, or nothing (an error when it is there as something else).
    const nlohmann::json* object(std::string_view key, bool required = false);
    // An array, or nothing (an error when it is there as something else).
    const nlohmann::json* array(std::string_view key, bool required = false);

    template <typename E>
    std::optional<E> choice(std::string_view key,
                            std::initializer_list<std::pair<const char*, E>> options) {
        auto s = string(key);
        if (!s) return std::nullopt;
        std::vector<std::string> names;
        for (const auto& [name, value] : options) {
            if (*s == name) return value;
            names.emplace_back(name);
        }
        error(key, choiceError(*s, names));
        return std::nullopt;
    }

    // Reports every key that no one asked for.
    void finish();

  private:
    static std::string choiceError(const std::string& got, const std::vector<std::string>& names);

    const nlohmann::json& obj_;
    std::string path_;
    std::vector<JsonError>& errors_;
    std::set<std::string, std::less<>> known_;
};

// True when `v` is an object; an error at `path` when it is something else.
bool isJsonObject(const nlohmann::json& v, const std::string& path, std::vector<JsonError>& errors);

}  // namespace edgelab
