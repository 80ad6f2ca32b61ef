#include "proxy/netsh_show.hpp"

#include "common/ascii.hpp"
#include "common/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>

namespace edgelab::proxy {

namespace {

constexpr std::size_t kLabelColumns = 29;
constexpr std::size_t kMaxProblems = 200;

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

std::string utf16ToUtf8(std::string_view bytes, bool littleEndian) {
    constexpr char32_t kReplacement = 0xFFFD;
    auto unit = [&](std::size_t i) -> char16_t {
        const auto lo = static_cast<unsigned char>(bytes[littleEndian ? i : i + 1]);
        const auto hi = static_cast<unsigned char>(bytes[littleEndian ? i + 1 : i]);
        return static_cast<char16_t>(lo | (hi << 8));
    };
    std::string out;
    out.reserve(bytes.size() / 2);
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        const char16_t u = unit(i);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < bytes.size()) {
            const char16_t low = unit(i + 2);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                appendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
                i += 2;
                continue;
            }
        }
        appendUtf8(out, (u >= 0xD800 && u <= 0xDFFF) ? kReplacement : u);
    }
    if (i < bytes.size()) appendUtf8(out, kReplacement);  // an odd byte: cut mid-unit
    return out;
}

// Without a byte order mark, ASCII text in UTF-16 has a zero in every other
// byte: high bytes after (LE) or before (BE) the letters.
std::optional<bool> sniffUtf16(std::string_view bytes) {
    const std::size_t n = std::min<std::size_t>(bytes.size() & ~std::size_t{1}, 4096);
    if (n < 2) return std::nullopt;
    std::size_t zeroEven = 0, zeroOdd = 0;
    for (std::size_t i = 0; i < n; i += 2) {
        zeroEven += bytes[i] == '\0';
        zeroOdd += bytes[i + 1] == '\0';
    }
    const std::size_t pairs = n / 2;
    if (zeroOdd * 2 > pairs && zeroEven * 8 < pairs) return true;
    if (zeroEven * 2 > pairs && zeroOdd * 8 < pairs) return false;
    return std::nullopt;
}

// Windows-1252 and code page 850, bytes 0x80..0xFF (Unicode's mapping files
// for both, as Python's codecs carry them); U+FFFD where 1252 has nothing.
constexpr char16_t kCp1252[128] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178, 0x00A0, 0x00A1, 0x00A2, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x00BA, 0x00BB,
    0x00BC, 0x00BD, 0x00BE, 0x00BF, 0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x00D0, 0x00D1, 0x00D2, 0x00D3,
    0x00D4, 0x00D5, 0x00D6, 0x00D7, 0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB,
    0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF};
constexpr char16_t kCp850[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF,
    0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA,
    0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0, 0x00A9, 0x2563, 0x2551, 0x2557,
    0x255D, 0x00A2, 0x00A5, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, 0x00F0, 0x00D0, 0x00CA, 0x00CB,
    0x00C8, 0x0131, 0x00CD, 0x00CE, 0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580,
    0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE, 0x00DE, 0x00DA, 0x00DB, 0x00D9,
    0x00FD, 0x00DD, 0x00AF, 0x00B4, 0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8,
    0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0};

bool validUtf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80                   ? 1
                                : (c >= 0xC2 && c <= 0xDF) ? 2
                                : (c >> 4) == 0xE          ? 3
                                : (c >= 0xF0 && c <= 0xF4) ? 4
                                                           : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::string singleByteToUtf8(std::string_view bytes, const char16_t (&table)[128]) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 4);
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        appendUtf8(out, c < 0x80 ? c : table[c - 0x80]);
    }
    return out;
}

bool isAsciiLetter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

// How much a single-byte reading looks like words: a non-ASCII byte between
// ASCII letters should be a lower-case letter (ü, é, ç, ã inside a label);
// a symbol, box-drawing piece or nothing there says the code page is wrong.
int wordScore(std::string_view bytes, const char16_t (&table)[128]) {
    int score = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x80) continue;
        const char16_t u = table[c - 0x80];
        const bool lower =
            (u >= 0xDF && u <= 0xFF && u != 0xF7) || u == 0x0153 || u == 0x0161 || u == 0x017E;
        const bool upper = (u >= 0xC0 && u <= 0xDE && u != 0xD7);
        const bool inWord =
            (i > 0 && isAsciiLetter(static_cast<unsigned char>(bytes[i - 1]))) ||
            (i + 1 < bytes.size() && isAsciiLetter(static_cast<unsigned char>(bytes[i + 1])));
        score += lower ? 2 : upper ? (inWord ? 0 : 1) : -2;
    }
    return score;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// "Certificate Hash" -> "certificatehash": labels compared without case and
// spacing, so a reflowed or differently padded capture still reads.
std::string labelKey(std::string_view label) {
    std::string key;
    for (char c : label) {
        if (c == ' ' || c == '\t') continue;
        key += asciiLowerChar(c);
    }
    return key;
}

constexpr std::string_view kEnglishSource =
    "Microsoft Learn, netsh http (show sslcert); captures in public issues, e.g. "
    "chrisbrownie/AdfsAnalyzer issue 41";
constexpr std::string_view kIssue23 = "edgelab issue 23 (captures administrators pasted)";
constexpr std::string_view kUnverified =
    "a third-party script's fixture of German netsh output; no Microsoft source found";

// The canonical (English) label of a printed one, and its language.
struct Canonical {
    std::string_view canonical;
    std::string_view language;
};

std::optional<Canonical> canonicalOf(std::string_view label) {
    // The table's labels as keys, made once: this runs for every line.
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const auto& l : netshLabels()) k.push_back(labelKey(l.label));
        return k;
    }();
    const std::string key = labelKey(label);
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i] == key) return Canonical{netshLabels()[i].canonical, netshLabels()[i].language};
    return std::nullopt;
}

std::optional<NetshKeyKind> keyKindOf(std::string_view label) {
    const std::string key = labelKey(label);
    if (key == "ip:port") return NetshKeyKind::IpPort;
    if (key == "hostname:port") return NetshKeyKind::HostnamePort;
    if (key == "centralcertificatestore") return NetshKeyKind::CentralCertificateStore;
    return std::nullopt;
}

bool isPort(std::string_view text) { return static_cast<bool>(parsePort(text)); }

// What a key's value must look like; empty when it does.
std::string keyProblem(NetshKeyKind kind, std::string_view value) {
    if (kind == NetshKeyKind::CentralCertificateStore)
        return isPort(value) ? "" : "expected a port number after 'Central Certificate Store'";
    const auto colon = value.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || !isPort(value.substr(colon + 1)))
        return "expected HOST:PORT (a port from 1 to 65535) after '" +
               std::string(netshKeyLabel(kind)) + "'";
    return "";
}

bool isHash(std::string_view v) {
    std::size_t digits = 0;
    for (char c : v) {
        if (c == ' ') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        ++digits;
    }
    return digits == 40;
}

bool isGuid(std::string_view s) {
    if (s.size() != 38 || s.front() != '{' || s.back() != '}') return false;
    for (std::size_t i = 1; i < 37; ++i) {
        const bool dash = (i == 9 || i == 14 || i == 19 || i == 24);
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// The value problems worth naming: the fields a binding is judged by.
std::string fieldProblem(NetshKeyKind kind, std::string_view label, std::string_view value) {
    const std::string key = labelKey(label);
    if (key == "certificatehash" && !isHash(value) &&
        !(kind == NetshKeyKind::CentralCertificateStore && (value.empty() || value == "(null)")))
        return "expected 40 hex digits after 'Certificate Hash'";
    if (key == "applicationid" && !isGuid(value))
        return "expected a GUID in braces after 'Application ID'";
    return "";
}

// A line quoted in a message: control bytes and invalid UTF-8 become '?', so
// a garbage capture never writes raw bytes to a terminal.
std::string printable(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80         ? 1
                                : (c >> 5) == 6  ? 2
                                : (c >> 4) == 14 ? 3
                                : (c >> 3) == 30 ? 4
                                                 : 0;
        bool valid = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; valid && k < len; ++k)
            valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (!valid || (len == 1 && (c < 0x20 || c == 0x7F) && c != '\t')) {
            out += '?';
            ++i;
            continue;
        }
        out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

class Reader {
  public:
    NetshShow result;

    void line(std::size_t number, std::string_view raw) {
        const std::string_view text = trim(raw);
        if (text.empty() || labelKey(text) == "sslcertificatebindings:") return;
        if (std::all_of(text.begin(), text.end(), [](char c) { return c == '-'; })) return;
        const auto sep = separator(text);
        if (!sep) {
            // "Extended Properties:" opens a section inside a block; a heading
            // ending in ':' outside one (a localized title) says nothing.
            if (text.back() == ':') {
                if (current_)
                    current_->fields.push_back(
                        {std::string(trim(text.substr(0, text.size() - 1))), "", number});
                return;
            }
            problem(number, raw, "expected 'Label : value'");
            return;
        }
        const std::string_view label = trim(text.substr(0, *sep));
        const std::string_view value = trim(text.substr(*sep + 1));
        const auto canonical = canonicalOf(label);
        if (canonical && canonical->language != "en") languages_.emplace(canonical->language);
        std::optional<NetshKeyKind> kind = keyKindOf(canonical ? canonical->canonical : label);
        if (!kind && !canonical) kind = keyByShape(value);
        if (kind) return startEntry(number, raw, *kind, value);
        if (!current_) {
            // "Liaisons de certificat SSL :": a localized title, spaced as French is.
            if (!skipping_ && !value.empty())
                problem(number, raw, "a field before any binding's key line");
            return;
        }
        std::string name = canonical ? std::string(canonical->canonical) : fieldByShape(value);
        if (auto why = fieldProblem(current_->kind, name.empty() ? label : name, value);
            !why.empty())
            problem(number, raw, why);
        current_->fields.push_back(
            {std::string(label), std::string(value), number, std::move(name)});
    }

    void finish() {
        flush();
        result.languages.assign(languages_.begin(), languages_.end());
        if (dropped_ > 0)
            result.problems.push_back(
                {0, "", std::to_string(dropped_) + " more unreadable lines not listed"});
    }

  private:
    // The colon that ends a label: the first one with a space or tab before
    // it ("IP:port   : 0.0.0.0:443"), as netsh pads every label; in a
    // reflowed line without that space ("Certificate Hash: 3a1f..."), the
    // first colon followed by a space or the end after a label without a
    // colon of its own, or after a known label.
    static std::optional<std::size_t> separator(std::string_view text) {
        for (std::size_t i = 1; i < text.size(); ++i)
            if (text[i] == ':' && (text[i - 1] == ' ' || text[i - 1] == '\t')) return i;
        for (std::size_t i = 1; i < text.size(); ++i) {
            if (text[i] != ':') continue;
            // A value must follow: "Title:" alone is a heading.
            if (trim(text.substr(i + 1)).empty()) return std::nullopt;
            if (text[i + 1] != ' ' && text[i + 1] != '\t') continue;
            const std::string_view label = text.substr(0, i);
            if (label.find(':') == std::string_view::npos || keyKindOf(label) || canonicalOf(label))
                return i;
        }
        return std::nullopt;
    }

    // A line whose label is not known starts a block when its value is a
    // binding's key (an address or a name, a colon, a port) and no block is
    // open, or the open one already has its hash and application id.
    std::optional<NetshKeyKind> keyByShape(std::string_view value) {
        if (current_ && !(current_->field("Certificate Hash") && current_->field("Application ID")))
            return std::nullopt;
        const auto colon = value.rfind(':');
        if (colon == std::string_view::npos || colon == 0 || !isPort(value.substr(colon + 1)))
            return std::nullopt;
        const std::string_view host = value.substr(0, colon);
        const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']' &&
                        isIpv6Address(host.substr(1, host.size() - 2));
        if (v6 || isIpv4Address(host)) return shaped(NetshKeyKind::IpPort);
        if (isDnsName(host)) return shaped(NetshKeyKind::HostnamePort);
        return std::nullopt;
    }

    // A field whose label is not known, named by its value: the block's
    // first 40 hex digits are its certificate hash, its first GUID in braces
    // its application id.
    std::string fieldByShape(std::string_view value) {
        if (isHash(value) && !current_->field("Certificate Hash"))
            return shaped(std::string("Certificate Hash"));
        if (isGuid(value) && !current_->field("Application ID"))
            return shaped(std::string("Application ID"));
        return "";
    }

    template <typename T>
    T shaped(T what) {
        result.readByShape = true;
        return what;
    }

    void startEntry(std::size_t number, std::string_view raw, NetshKeyKind kind,
                    std::string_view value) {
        flush();
        if (auto why = keyProblem(kind, value); !why.empty()) {
            problem(number, raw, why);
            skipping_ = true;  // the block's fields belong to a key that was not read
            return;
        }
        skipping_ = false;
        current_ = NetshEntry{kind, std::string(value), number, {}};
    }

    void flush() {
        if (!current_) return;
        const bool ccs = current_->kind == NetshKeyKind::CentralCertificateStore;
        std::string missing;
        if (!ccs && !current_->field("Certificate Hash")) missing = "Certificate Hash";
        if (!current_->field("Application ID"))
            missing += (missing.empty() ? "" : " and ") + std::string("Application ID");
        if (!missing.empty())
            problem(current_->line, "",
                    "the binding " + current_->key + " has no " + missing +
                        " (a truncated capture?); it is left out");
        else
            result.entries.push_back(std::move(*current_));
        current_.reset();
    }

    void problem(std::size_t number, std::string_view raw, std::string message) {
        if (result.problems.size() >= kMaxProblems) {
            ++dropped_;
            return;
        }
        std::string text = printable(trim(raw).substr(0, 120));
        result.problems.push_back({number, std::move(text), std::move(message)});
    }

    std::optional<NetshEntry> current_;
    std::set<std::string> languages_;
    bool skipping_ = false;
    std::size_t dropped_ = 0;
};

// One line's wide spaces, full-width colon and stray byte order marks, and
// its carriage return.
std::string normaliseLine(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (std::size_t i = 0; i < line.size();) {
        const std::string_view rest = line.substr(i);
        if (rest.starts_with("\xC2\xA0")) {
            out += ' ';
            i += 2;
        } else if (rest.starts_with("\xE2\x80\xAF") || rest.starts_with("\xE2\x80\x87") ||
                   rest.starts_with("\xE3\x80\x80")) {
            out += ' ';
            i += 3;
        } else if (rest.starts_with("\xEF\xBC\x9A")) {
            out += ':';
            i += 3;
        } else if (rest.starts_with("\xEF\xBB\xBF")) {
            i += 3;
        } else {
            if (line[i] != '\r') out += line[i];
            ++i;
        }
    }
    return out;
}

// Quoting as pasted in issues and mail: `> `, `>> `, `> > `; true when the
// line had some. The rest of the line keeps its indentation.
bool unquote(std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] != '>') return false;
    while (i < line.size() && line[i] == '>') {
        ++i;
        if (i < line.size() && line[i] == ' ') ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] == ' ') ++j;
        if (j < line.size() && line[j] == '>') i = j;
    }
    line.erase(0, i);
    return true;
}

// A shell prompt (`C:\Users\Administrator>...`, `PS C:\> ...`, `PS>`) or a
// command the capture echoes (netsh, the WAP cmdlets, ConvertTo-Json).
bool isPromptOrCommand(std::string_view t) {
    if (t.starts_with("PS>") || (t.starts_with("PS ") && t.find('>') != std::string_view::npos))
        return true;
    if (t.size() >= 3 && isAsciiLetter(static_cast<unsigned char>(t[0])) && t[1] == ':' &&
        (t[2] == '\\' || t[2] == '>') && t.find('>') != std::string_view::npos)
        return true;
    const std::string word = asciiLower(t.substr(0, t.find_first_of(" \t|")));
    return word == "netsh" || word == "netsh.exe" || word == "convertto-json" ||
           word.starts_with("get-webapplicationproxyapplication");
}

}  // namespace

CapturedText normaliseCapture(std::string_view bytes) {
    CapturedText out;
    out.bytes = bytes.size();
    DecodedText decoded = decodeCapturedText(bytes);
    out.encoding = std::move(decoded.encoding);
    const std::string_view text = decoded.utf8;
    out.utf8.reserve(text.size());
    for (std::size_t pos = 0; pos <= text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string line = normaliseLine(text.substr(pos, nl - pos));
        if (unquote(line)) ++out.quotedLines;
        const std::string_view t = trim(line);
        if (!t.empty() && isPromptOrCommand(t)) {
            ++out.promptLines;
            line.clear();
        }
        if (!trim(line).empty()) ++out.lines;
        out.utf8 += line;
        if (nl < text.size()) out.utf8 += '\n';
        pos = nl + 1;
    }
    return out;
}

std::string CapturedText::describe() const {
    std::string s = std::to_string(bytes) + " bytes, " + encoding + ", " + std::to_string(lines) +
                    (lines == 1 ? " line with text" : " lines with text");
    if (promptLines > 0)
        s += "; " + std::to_string(promptLines) + " prompt or command line" +
             (promptLines == 1 ? "" : "s") + " left out";
    if (quotedLines > 0)
        s += "; '> ' quoting removed from " + std::to_string(quotedLines) + " line" +
             (quotedLines == 1 ? "" : "s");
    return s;
}

DecodedText decodeCapturedText(std::string_view bytes) {
    if (bytes.size() >= 2 && bytes[0] == '\xFF' && bytes[1] == '\xFE')
        return {utf16ToUtf8(bytes.substr(2), true), "utf-16le"};
    if (bytes.size() >= 2 && bytes[0] == '\xFE' && bytes[1] == '\xFF')
        return {utf16ToUtf8(bytes.substr(2), false), "utf-16be"};
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF")
        return {std::string(bytes.substr(3)), "utf-8"};
    if (auto little = sniffUtf16(bytes))
        return {utf16ToUtf8(bytes, *little), *little ? "utf-16le" : "utf-16be"};
    if (validUtf8(bytes)) return {std::string(bytes), "utf-8"};
    if (wordScore(bytes, kCp850) > wordScore(bytes, kCp1252))
        return {singleByteToUtf8(bytes, kCp850), "cp850"};
    return {singleByteToUtf8(bytes, kCp1252), "cp1252"};
}

const std::vector<NetshLabel>& netshLabels() {
    static const std::vector<NetshLabel> labels = {
        {"en", "IP:port", "IP:port", kEnglishSource},
        {"en", "Hostname:port", "Hostname:port", kEnglishSource},
        {"en", "Central Certificate Store", "Central Certificate Store", kEnglishSource},
        {"en", "Certificate Hash", "Certificate Hash", kEnglishSource},
        {"en", "Application ID", "Application ID", kEnglishSource},
        {"en", "Certificate Store Name", "Certificate Store Name", kEnglishSource},
        {"de", "Certificate Hash", "Zertifikathash", kIssue23},
        {"de", "Application ID", "Anwendungs-ID", kUnverified},
        {"de", "Certificate Store Name", "Zertifikatspeichername", kUnverified},
        {"pt", "Hostname:port", "Nome do host:porta", kIssue23},
        // fr, es, it, nl, ja: no verbatim label text found in public Microsoft
        // material or captures; their blocks are read by the values' shape.
    };
    return labels;
}

std::string_view netshKeyLabel(NetshKeyKind kind) {
    switch (kind) {
        case NetshKeyKind::IpPort:
            return "IP:port";
        case NetshKeyKind::HostnamePort:
            return "Hostname:port";
        case NetshKeyKind::CentralCertificateStore:
            return "Central Certificate Store";
    }
    return "IP:port";
}

const std::string* NetshEntry::field(std::string_view label) const {
    const std::string key = labelKey(label);
    for (const auto& f : fields)
        if (labelKey(f.label) == key || (!f.canonical.empty() && labelKey(f.canonical) == key))
            return &f.value;
    return nullptr;
}

std::string NetshProblem::str() const {
    std::string s = line ? "line " + std::to_string(line) + ": " + message : message;
    if (!text.empty()) s += ", got \"" + text + "\"";
    return s;
}

NetshShow parseNetshText(std::string_view text) {
    Reader reader;
    std::size_t number = 0, pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        reader.line(++number, text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    reader.finish();
    return std::move(reader.result);
}

std::string formatNetshField(std::string_view label, std::string_view value) {
    std::string line = "    " + std::string(label);
    if (label.size() < kLabelColumns)
        line.append(kLabelColumns - label.size(), ' ');
    else
        line += ' ';
    line += ": ";
    line += value;
    return line;
}

}  // namespace edgelab::proxy
