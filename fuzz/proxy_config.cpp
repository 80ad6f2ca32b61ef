// The proxy's configuration reader (edgelab-proxy --config) on any bytes: a
// configuration, or a ConfigError naming the JSON path, nothing else; what
// parses serialises (toJson) and parses back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/json_text.hpp"
#include "proxy/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace edgelab::proxy;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto doc = edgelab::readJsonText(text, {.refuseDuplicateKeys = true});
    if (!doc) return 0;
    ProxyConfig cfg;
    try {
        cfg = parseProxyConfig(*doc, "/nonexistent");
    } catch (const ConfigError&) {
        return 0;
    }
    if (!(parseProxyConfig(toJson(cfg), "/nonexistent") == cfg)) std::abort();
    return 0;
}
