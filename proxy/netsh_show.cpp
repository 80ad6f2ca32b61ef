#include "proxy/netsh_show.hpp"

#include "common/ascii.hpp"
#include "common/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

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
        if (auto kind = keyKindOf(label)) return startEntry(number, raw, *kind, value);
        if (!current_) {
            if (!skipping_) problem(number, raw, "a field before any binding's key line");
            return;
        }
        if (auto why = fieldProblem(current_->kind, label, value); !why.empty())
            problem(number, raw, why);
        current_->fields.push_back({std::string(label), std::string(value), number});
    }

    void finish() {
        flush();
        if (dropped_ > 0)
            result.problems.push_back(
                {0, "", std::to_string(dropped_) + " more unreadable lines not listed"});
    }

  private:
    // The colon that ends a label: the first one with a space or tab before
    // it ("IP:port   : 0.0.0.0:443"), as netsh pads every label.
    static std::optional<std::size_t> separator(std::string_view text) {
        for (std::size_t i = 1; i < text.size(); ++i)
            if (text[i] == ':' && (text[i - 1] == ' ' || text[i - 1] == '\t')) return i;
        return std::nullopt;
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
    bool skipping_ = false;
    std::size_t dropped_ = 0;
};

}  // namespace

DecodedText decodeCapturedText(std::string_view bytes) {
    if (bytes.size() >= 2 && bytes[0] == '\xFF' && bytes[1] == '\xFE')
        return {utf16ToUtf8(bytes.substr(2), true), "utf-16le"};
    if (bytes.size() >= 2 && bytes[0] == '\xFE' && bytes[1] == '\xFF')
        return {utf16ToUtf8(bytes.substr(2), false), "utf-16be"};
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF")
        return {std::string(bytes.substr(3)), "utf-8"};
    if (auto little = sniffUtf16(bytes))
        return {utf16ToUtf8(bytes, *little), *little ? "utf-16le" : "utf-16be"};
    return {std::string(bytes), "utf-8"};
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
        if (labelKey(f.label) == key) return &f.value;
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
