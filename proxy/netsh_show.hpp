// What `netsh http show sslcert` prints, read back: the one netsh parser of
// edgelab (the binding store, `edgelab bindings` and `edgelab audit` use it).
//
// Captures come from Windows as they were saved: UTF-16LE from a PowerShell 5
// redirect (`>`), UTF-8 from `Out-File -Encoding utf8`, with or without a
// byte order mark, CRLF or LF. The reader never throws and never gives up on
// the whole text: what it cannot read it names by line, and keeps the rest.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace edgelab::proxy {

// Bytes as saved on Windows, as UTF-8. `encoding` says what was found:
// "utf-16le", "utf-16be" (with or without a byte order mark) or "utf-8".
// Unpaired surrogates and invalid bytes become U+FFFD.
struct DecodedText {
    std::string utf8;
    std::string encoding;
};
DecodedText decodeCapturedText(std::string_view bytes);

// netsh's label for each key kind, exactly as it prints it.
enum class NetshKeyKind { IpPort, HostnamePort, CentralCertificateStore };
std::string_view netshKeyLabel(NetshKeyKind);  // "IP:port", "Hostname:port", ...

struct NetshField {
    std::string label;  // as printed, e.g. "Certificate Hash"
    std::string value;  // as printed, trimmed; "" for a section line ("Extended Properties:")
    std::size_t line = 0;
};

// One binding block: its key line and every field after it, in order, the
// ones edgelab does not know kept too.
struct NetshEntry {
    NetshKeyKind kind = NetshKeyKind::IpPort;
    std::string key;  // the key's value as printed: "0.0.0.0:443", "[::]:443", "443"
    std::size_t line = 0;
    std::vector<NetshField> fields;

    // The value of the first field with this label (ASCII case-insensitive,
    // spaces ignored), or nullptr.
    const std::string* field(std::string_view label) const;
};

// A line that could not be read, or a block that is not whole.
struct NetshProblem {
    std::size_t line = 0;     // 1-based
    std::string text;         // the line as read (cut to 120 characters)
    std::string message;      // what was expected
    std::string str() const;  // "line 7: expected 'Label : value', got \"...\""
};

struct NetshShow {
    std::vector<NetshEntry> entries;
    std::vector<NetshProblem> problems;
};

// Reads UTF-8 text (decodeCapturedText first for raw bytes).
NetshShow parseNetshText(std::string_view utf8);

// The field layout netsh prints: four spaces, the label padded to 29 columns
// (a longer label gets one space), " : ", the value.
std::string formatNetshField(std::string_view label, std::string_view value);

}  // namespace edgelab::proxy
