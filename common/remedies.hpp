// What to do when something fails: every remedy text edgelab prints, in one
// table keyed by the id of what failed (a check, a static rule, the data
// disk, an audit finding; common/finding.hpp). The few parts that depend on
// what was seen (a host name, a command built for it) are parameters, written
// {name} in the text. A check that can fail in several ways has a text per
// way, told apart by a variant name.
//
// An entry's id is a check id ("reach.connect"), or a family of them
// ("tls.sni.*" for every tls.sni.<name>); the exact id wins over a family.
// tests/common/remedies_test.cpp holds the table to the catalogue: every
// check, rule and finding id has a text, and every text has an id that
// exists.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgelab {

struct RemedyText {
    std::string_view id;       // "reach.connect", or a family: "tls.sni.*"
    std::string_view variant;  // "" the usual failure; else which one it answers
    std::string_view text;     // {name}: a value the caller gives
};

// The table, in report order.
const std::vector<RemedyText>& remedyTexts();

using RemedyParams = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// The text for `id` and `variant`, with each {name} replaced by its value.
// No text for them, a {name} without a value or a value for no {name} is a
// bug (std::logic_error): the tests of each check's failures find it.
std::string remedyText(std::string_view id, std::string_view variant = {},
                       RemedyParams params = {});

// True when some text is keyed to `id` (exactly or by its family).
bool hasRemedy(std::string_view id);
// True when the table entry's id names `id`.
bool remedyIdMatches(std::string_view entryId, std::string_view id);

}  // namespace edgelab
