#include "common/finding.hpp"

namespace edgelab {

std::string to_string(Verdict v) {
    switch (v) {
        case Verdict::Pass:
            return "PASS";
        case Verdict::Fail:
            return "FAIL";
        case Verdict::Skip:
            return "SKIP";
        case Verdict::Warn:
            return "WARN";
        case Verdict::Blocked:
            return "BLOCKED";
    }
    return "?";
}

}  // namespace edgelab
