#include "runner/expectations.hpp"

#include "common/matching.hpp"

#include <algorithm>

namespace edgelab::runner {

ExpectationReport evaluateExpectations(const std::vector<std::string>& expectFail,
                                       const std::vector<Judged>& verdicts) {
    ExpectationReport report;
    std::vector<bool> globUsed(expectFail.size(), false);
    for (const auto& v : verdicts) {
        bool named = false;
        for (std::size_t i = 0; i < expectFail.size(); ++i) {
            if (globMatches(expectFail[i], v.id)) {
                named = true;
                if (v.verdict == Verdict::Fail || v.verdict == Verdict::Blocked) globUsed[i] = true;
            }
        }
        if (v.verdict == Verdict::Fail) {
            (named ? report.expectedFailures : report.unexpectedFailures).push_back(v.id);
        } else if ((v.verdict == Verdict::Pass || v.verdict == Verdict::Warn) && named) {
            report.unexpectedPasses.push_back(v.id);
        }
    }
    for (std::size_t i = 0; i < expectFail.size(); ++i) {
        if (!globUsed[i]) report.unmatchedGlobs.push_back(expectFail[i]);
    }
    report.met = report.unexpectedFailures.empty() && report.unexpectedPasses.empty() &&
                 report.unmatchedGlobs.empty();
    return report;
}

std::vector<std::string> ExpectationReport::problems() const {
    std::vector<std::string> lines;
    for (const auto& id : unexpectedFailures) lines.push_back(id + " failed, not expected to");
    for (const auto& id : unexpectedPasses)
        lines.push_back(id + " passed, the lab expects it to fail");
    for (const auto& g : unmatchedGlobs)
        lines.push_back("expect.fail \"" + g + "\" names no failed check");
    return lines;
}

}  // namespace edgelab::runner
