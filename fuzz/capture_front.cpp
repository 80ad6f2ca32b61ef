// The normalising front every capture goes through (proxy::normaliseCapture:
// encodings, wide spaces, quoting, prompt lines), then the netsh reader and
// the WAP reader on what it gives, as `edgelab audit` does. What must hold:
// no crash, no exception from the front or the netsh reader; the text is
// UTF-8 with exactly one line for each line of the input (so that messages
// name the line the user sees); the counts agree with the text; the WAP
// reader gives applications or WapInputError.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/wap.hpp"
#include "proxy/netsh_show.hpp"

namespace {

std::size_t lineCount(std::string_view text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

bool validUtf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80         ? 1
                                : (c >> 5) == 6  ? 2
                                : (c >> 4) == 14 ? 3
                                : (c >> 3) == 30 ? 4
                                                 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto text = edgelab::proxy::normaliseCapture(bytes);
    const auto decoded = edgelab::proxy::decodeCapturedText(bytes);
    if (text.encoding != decoded.encoding) std::abort();
    // One output line per decoded line (a lone CR is kept inside its line).
    if (lineCount(text.utf8) != lineCount(decoded.utf8)) std::abort();
    if (decoded.encoding != "utf-8" && !validUtf8(text.utf8)) std::abort();
    if (text.lines > lineCount(text.utf8)) std::abort();
    if (text.describe().empty()) std::abort();
    const auto show = edgelab::proxy::parseNetshText(text.utf8);
    for (const auto& p : show.problems)
        if (p.message.empty() || p.line > lineCount(text.utf8)) std::abort();
    try {
        (void)edgelab::audit::parseWapCapture(text.utf8, "fuzz.json");
    } catch (const edgelab::audit::WapInputError&) {
    }
    return 0;
}
