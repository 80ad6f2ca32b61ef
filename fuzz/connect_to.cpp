// `--connect-to HOST:PORT:ADDR:PORT` as the checks read it: any text gives
// an address or nothing, never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "checks/gather.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string entry(reinterpret_cast<const char*>(data), size);
    (void)edgelab::checks::connectToFor({entry}, "lyncws.contoso.com", 443);
    (void)edgelab::checks::connectToFor({entry}, "", 0);
    return 0;
}
