// Reading JSON text that came from outside (a lab, a proxy configuration, a
// binding store, a lab's state, a WAP capture): nlohmann parses it; this adds
// what a person needs to mend the file. Every failure says where: the line
// and column of a syntax error, the JSON path (RFC 6901) of the value being
// read, so that "2222...e222..." is "/0/ExternalUrl: number overflow", not a
// bare library message. It never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/parsed.hpp"

namespace edgelab {

struct JsonReadOptions {
    // JSON parsers keep the last of two equal keys, silently dropping the
    // first; files whose keys matter refuse them.
    bool refuseDuplicateKeys = false;
};

// The document, or one sentence: "line 3, column 12 (at /applications/0): ..."
// or "/a/b: duplicate key (...)".
Parsed<nlohmann::json> readJsonText(std::string_view text, JsonReadOptions options = {});

// Every key given twice in one object, as JSON paths; the text must be JSON.
std::vector<std::string> duplicateKeyPaths(std::string_view text);

// JSON Pointer escaping of one reference token (RFC 6901, section 3).
std::string jsonPointerToken(std::string_view key);

}  // namespace edgelab
