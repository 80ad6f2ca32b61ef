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
// "utf-16le", "utf-16be" (with or without a byte order mark), "utf-8", or,
// for bytes that are neither, "cp1252" (the ANSI code page of Western
// Windows: Windows PowerShell 5.1's Set-Content and Out-File -Encoding
// Default) or "cp850" (the console's OEM code page: cmd.exe's `>`), told
// apart by which of the two reads the non-ASCII bytes as letters inside
// words. Unpaired surrogates become U+FFFD.
struct DecodedText {
    std::string utf8;
    std::string encoding;
};
DecodedText decodeCapturedText(std::string_view bytes);

// The normalising front every capture goes through (netsh and WAP alike):
// decoded as above, then line by line, keeping one line for each line of
// the capture so that every message names the line the user sees:
//   - no-break and other wide spaces (U+00A0, U+202F, U+2007, U+3000) become
//     spaces, a full-width colon (U+FF1A) a colon, a stray U+FEFF goes;
//   - quoting as pasted in issues and mail (`> `, `>> `) is removed;
//   - prompt lines (`C:\Users\Administrator>netsh http show sslcert`,
//     `PS C:\> ...`) and echoed commands (`netsh ...`,
//     `Get-WebApplicationProxyApplication ...`) become empty lines.
struct CapturedText {
    std::string utf8;
    std::string encoding;
    std::size_t bytes = 0;
    std::size_t lines = 0;        // lines with anything on them after normalising
    std::size_t promptLines = 0;  // prompt and command lines emptied
    std::size_t quotedLines = 0;  // lines that had `> ` quoting
    // "1234 bytes, utf-16le, 40 lines; 2 prompt or command lines left out"
    std::string describe() const;
};
CapturedText normaliseCapture(std::string_view bytes);

// netsh's label for each key kind, exactly as it prints it.
enum class NetshKeyKind { IpPort, HostnamePort, CentralCertificateStore };
std::string_view netshKeyLabel(NetshKeyKind);  // "IP:port", "Hostname:port", ...

struct NetshField {
    std::string label;  // as printed, e.g. "Certificate Hash", "Zertifikathash"
    std::string value;  // as printed, trimmed; "" for a section line ("Extended Properties:")
    std::size_t line = 0;
    // The English label when the printed one is a known translation or the
    // value's shape says which field it is ("Certificate Hash"); else "".
    std::string canonical = {};
};

// netsh's labels in the display languages administrators use most, with the
// English one each stands for and where the text was found. Labels not in
// the table are still read: a block's key, hash and application id are
// recognised by the shape of their values (HOST:PORT, 40 hex digits, a GUID
// in braces). audit/README.md shows the table.
struct NetshLabel {
    std::string_view language;   // "de"
    std::string_view canonical;  // "Certificate Hash"
    std::string_view label;      // "Zertifikathash"
    std::string_view source;
};
const std::vector<NetshLabel>& netshLabels();

// One binding block: its key line and every field after it, in order, the
// ones edgelab does not know kept too.
struct NetshEntry {
    NetshKeyKind kind = NetshKeyKind::IpPort;
    std::string key;  // the key's value as printed: "0.0.0.0:443", "[::]:443", "443"
    std::size_t line = 0;
    std::vector<NetshField> fields;

    // The value of the first field with this label or canonical label
    // (ASCII case-insensitive, spaces ignored), or nullptr.
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
    // The languages of the translated labels met ("de", "pt"), and whether
    // a field was recognised by its value alone.
    std::vector<std::string> languages;
    bool readByShape = false;
};

// Reads UTF-8 text (decodeCapturedText first for raw bytes).
NetshShow parseNetshText(std::string_view utf8);

// The field layout netsh prints: four spaces, the label padded to 29 columns
// (a longer label gets one space), " : ", the value.
std::string formatNetshField(std::string_view label, std::string_view value);

}  // namespace edgelab::proxy
