// The parts of a request-target and Host header that handlers route on. Beast
// parses the request; this only splits the target it keeps as received.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/ascii.hpp"
#include "common/markup.hpp"
#include "common/url.hpp"

namespace edgelab::backends {

struct RequestTarget {
    std::string_view path;   // as received, before '?'
    std::string_view query;  // as received, after '?', without it
};

RequestTarget splitTarget(std::string_view target);

// The value of a query parameter exactly as it was sent (still encoded).
std::optional<std::string_view> rawQueryParam(std::string_view query, std::string_view name);

// %XX and '+' decoded once; malformed escapes are kept as they are.
std::string percentDecode(std::string_view text);

}  // namespace edgelab::backends
