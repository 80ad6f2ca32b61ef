// Host names, header names and URL schemes compare without regard to ASCII
// case (RFC 4343, RFC 9110 section 5.1); this is the one place that folds it.
#pragma once

#include <string>
#include <string_view>

namespace edgelab {

inline std::string asciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace edgelab
