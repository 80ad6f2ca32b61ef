// The lab-description loader on any bytes: a lab or LabParseError with
// every error's JSON path, nothing else; a parsed lab's rules evaluate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provision/lab.hpp"
#include "provision/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace edgelab::provision;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const Lab lab = parseLabText(text, "fuzz.json");
        (void)evaluateRules(lab);
    } catch (const LabParseError& e) {
        if (e.errors().empty()) std::abort();  // a refusal always says why
    }
    return 0;
}
