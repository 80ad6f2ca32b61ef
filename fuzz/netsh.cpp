// The netsh reader on any bytes: decode as Windows saved it, parse, turn
// every entry into a binding; never a crash, and each problem names a line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/binding_store.hpp"
#include "proxy/netsh_show.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
#ifdef EDGELAB_FUZZ_PLANTED_CRASH
    if (bytes.starts_with("PLANTED-CRASH")) std::abort();
#endif
    const auto decoded = edgelab::proxy::decodeCapturedText(bytes);
    const auto show = edgelab::proxy::parseNetshText(decoded.utf8);
    for (const auto& p : show.problems)
        if (p.message.empty()) std::abort();  // a problem always says what was expected
    for (const auto& e : show.entries) {
        const auto b = edgelab::proxy::bindingOf(e);
        if (!b && b.error().empty()) std::abort();  // a refusal always says why
    }
    (void)edgelab::proxy::parseNetshShow(bytes);
    return 0;
}
