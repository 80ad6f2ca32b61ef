// Host names, header names, URL schemes and authentication schemes compare
// without regard to ASCII case (RFC 4343, RFC 9110 section 5.1 and 11.1);
// this is the one place that folds it. Non-ASCII bytes are left alone, so no
// locale can change what matches.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgelab {

inline char asciiLowerChar(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
inline char asciiUpperChar(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string asciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = asciiLowerChar(c);
    return out;
}

inline std::string asciiUpper(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = asciiUpperChar(c);
    return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (asciiLowerChar(a[i]) != asciiLowerChar(b[i])) return false;
    return true;
}

inline bool istartsWith(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

inline bool icontains(std::string_view text, std::string_view needle) {
    return asciiLower(text).find(asciiLower(needle)) != std::string::npos;
}

// "a, b, c": the parts with the separator between them, none at the ends.
inline std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += separator;
        out += parts[i];
    }
    return out;
}

}  // namespace edgelab
