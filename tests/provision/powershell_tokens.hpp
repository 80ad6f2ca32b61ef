// A small PowerShell tokenizer for the emitter's tests, written from the
// quoting rules of the PowerShell Language Specification 3.0, section 2.3
// (comments 2.2.3, strings 2.3.5.2, variables 2.3.2, punctuators 2.3.8), in
// argument mode, where a script's command arguments are read:
//   - '...': a single-quoted string; a single-quote character (' or one of
//     U+2018..U+201B) doubled stands for one; nothing is expanded;
//   - "...": a double-quoted string; a backtick escapes the next character,
//     a doubled quote stands for one, $name and $(...) are expanded;
//   - # to the end of the line, <# ... #>: comments;
//   - $name, ${name}: variables; { } ( ) ; , |: punctuators;
//   - a word: anything else up to white space or a punctuator, in which a
//     quoted part may stand (netsh's key='value' is one argument).
// No real PowerShell parser installs from Debian or npm for offline use
// (the npm grammar for tree-sitter rejects `appid='{...}'` and `1GB`, both
// valid), hence this one. It does not nest strings inside $( ) and does not
// know here-strings; the emitter writes neither.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgelab::provision::pstest {

enum class Kind { Newline, Comment, Punctuator, Variable, Word };
enum class Part { Bare, SingleQuoted, DoubleQuoted };

struct Token {
    Kind kind;
    std::string text;                                 // as written
    std::vector<std::pair<Part, std::string>> parts;  // a Word's parts, decoded
};

// The length of the single-quote character at `i` (1 or 3 bytes), 0 if none.
inline std::size_t singleQuoteAt(std::string_view s, std::size_t i) {
    if (s[i] == '\'') return 1;
    if (i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 &&
        static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        static_cast<unsigned char>(s[i + 2]) >= 0x98 &&
        static_cast<unsigned char>(s[i + 2]) <= 0x9B)
        return 3;
    return 0;
}

// Reads a single-quoted string starting at `i` (on its opening quote);
// returns the decoded value and moves `i` past the closing quote.
inline std::string readSingleQuoted(std::string_view s, std::size_t& i) {
    i += singleQuoteAt(s, i);
    std::string value;
    while (i < s.size()) {
        if (const std::size_t q = singleQuoteAt(s, i)) {
            if (i + q < s.size() && singleQuoteAt(s, i + q)) {  // doubled: one quote
                value.append(s.substr(i, q));
                i += q + singleQuoteAt(s, i + q);
                continue;
            }
            i += q;
            return value;
        }
        value += s[i++];
    }
    throw std::runtime_error("unterminated single-quoted string");
}

inline std::string readDoubleQuoted(std::string_view s, std::size_t& i) {
    ++i;
    std::string value;
    int depth = 0;  // inside $( )
    while (i < s.size()) {
        const char c = s[i];
        if (c == '`' && i + 1 < s.size()) {
            value += s[i + 1];
            i += 2;
        } else if (c == '"' && depth == 0) {
            if (i + 1 < s.size() && s[i + 1] == '"') {
                value += '"';
                i += 2;
            } else {
                ++i;
                return value;
            }
        } else {
            if (c == '$' && i + 1 < s.size() && s[i + 1] == '(') ++depth;
            if (c == ')' && depth > 0) --depth;
            value += c;
            ++i;
        }
    }
    throw std::runtime_error("unterminated double-quoted string");
}

inline bool isPunctuator(char c) {
    return c == '{' || c == '}' || c == '(' || c == ')' || c == ';' || c == ',' || c == '|';
}

inline bool isVariableChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '?' || c == ':';
}

// A word, with its quoted parts.
inline Token readWord(std::string_view s, std::size_t& i) {
    Token t{Kind::Word, "", {}};
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && !isPunctuator(s[i])) {
        if (singleQuoteAt(s, i)) {
            t.parts.push_back({Part::SingleQuoted, readSingleQuoted(s, i)});
        } else if (s[i] == '"') {
            t.parts.push_back({Part::DoubleQuoted, readDoubleQuoted(s, i)});
        } else {
            if (t.parts.empty() || t.parts.back().first != Part::Bare)
                t.parts.push_back({Part::Bare, ""});
            t.parts.back().second += s[i++];
        }
    }
    t.text = std::string(s.substr(start, i - start));
    return t;
}

inline std::vector<Token> tokenize(std::string_view s) {
    std::vector<Token> tokens;
    std::vector<char> open;  // braces and parentheses not yet closed
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (c == '`' && i + 1 < s.size() && s[i + 1] == '\n') {
            i += 2;  // line continuation
        } else if (c == '\n') {
            tokens.push_back({Kind::Newline, "\n", {}});
            ++i;
        } else if (c == '<' && s.substr(i, 2) == "<#") {
            const auto end = s.find("#>", i + 2);
            if (end == std::string_view::npos) throw std::runtime_error("unterminated <# comment");
            tokens.push_back({Kind::Comment, std::string(s.substr(i, end + 2 - i)), {}});
            i = end + 2;
        } else if (c == '#') {
            const auto end = std::min(s.find('\n', i), s.size());
            tokens.push_back({Kind::Comment, std::string(s.substr(i, end - i)), {}});
            i = end;
        } else if (isPunctuator(c)) {
            if (c == '{' || c == '(') open.push_back(c);
            if (c == '}' || c == ')') {
                if (open.empty() || open.back() != (c == '}' ? '{' : '('))
                    throw std::runtime_error(std::string("unbalanced ") + c);
                open.pop_back();
            }
            tokens.push_back({Kind::Punctuator, std::string(1, c), {}});
            ++i;
        } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '(') {
            open.push_back('(');
            tokens.push_back({Kind::Punctuator, "$(", {}});
            i += 2;
        } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
            const auto end = s.find('}', i);
            if (end == std::string_view::npos) throw std::runtime_error("unterminated ${");
            tokens.push_back({Kind::Variable, std::string(s.substr(i, end + 1 - i)), {}});
            i = end + 1;
        } else if (c == '$') {
            std::size_t end = i + 1;
            while (end < s.size() && isVariableChar(s[end])) ++end;
            tokens.push_back({Kind::Variable, std::string(s.substr(i, end - i)), {}});
            i = end;
        } else {
            tokens.push_back(readWord(s, i));
        }
    }
    if (!open.empty()) throw std::runtime_error(std::string("unclosed ") + open.back());
    return tokens;
}

// The token kinds in order, a word by its parts' kinds: two scripts that
// differ only in the values inside their quoted strings have the same shape.
inline std::string shape(const std::vector<Token>& tokens) {
    std::string out;
    for (const auto& t : tokens) {
        switch (t.kind) {
            case Kind::Newline:
                out += "\n";
                break;
            case Kind::Comment:
                out += "# ";
                break;
            case Kind::Punctuator:
                out += t.text + " ";
                break;
            case Kind::Variable:
                out += t.text + " ";
                break;
            case Kind::Word:
                for (const auto& [part, value] : t.parts)
                    out += part == Part::Bare           ? value
                           : part == Part::SingleQuoted ? std::string("'S'")
                                                        : std::string("\"D\"");
                out += " ";
                break;
        }
    }
    return out;
}

// Every line of `text` that adds or deletes a binding with netsh (edgelab's
// fix lines; comments and prose around them are left alone) must
// be one native command as PowerShell reads it: words only, no punctuator
// (an unquoted { } ( ) ; | would make a script block, a group or a second
// command), no bare < or > (redirection), and an appid argument that is
// one word holding the GUID in a single-quoted part. What is wrong, or "".
inline std::string netshLineProblems(std::string_view text) {
    std::string problems;
    std::size_t lines = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (line.rfind("netsh http add sslcert", 0) != 0 &&
            line.rfind("netsh http delete sslcert", 0) != 0)
            continue;
        ++lines;
        std::vector<Token> tokens;
        try {
            tokens = tokenize(line);
        } catch (const std::exception& e) {
            problems += std::string(line) + ": " + e.what() + "\n";
            continue;
        }
        bool appid = line.find("appid") == std::string_view::npos;
        for (const auto& t : tokens) {
            if (t.kind == Kind::Comment) break;
            if (t.kind != Kind::Word) {
                problems += std::string(line) + ": not a word: " + t.text + "\n";
                continue;
            }
            for (const auto& [part, value] : t.parts)
                if (part == Part::Bare && value.find_first_of("<>") != std::string::npos)
                    problems += std::string(line) + ": bare redirection in " + t.text + "\n";
            if (t.text.rfind("appid=", 0) == 0)
                appid = t.parts.size() == 2 && t.parts[1].first == Part::SingleQuoted &&
                        t.parts[1].second.size() == 38 && t.parts[1].second.front() == '{' &&
                        t.parts[1].second.back() == '}';
        }
        if (!appid) problems += std::string(line) + ": appid is not one quoted GUID\n";
    }
    return lines == 0 ? "no netsh line in: " + std::string(text) : problems;
}

}  // namespace edgelab::provision::pstest
