// The WAP JSON reader (Get-WebApplicationProxyApplication | ConvertTo-Json)
// on any bytes, decoded as Windows saved them: applications or
// WapInputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/wap.hpp"
#include "proxy/netsh_show.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        (void)edgelab::audit::parseWapApplications(edgelab::proxy::decodeCapturedText(bytes).utf8,
                                                   "fuzz.json");
    } catch (const edgelab::audit::WapInputError&) {
    }
    return 0;
}
