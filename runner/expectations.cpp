#include "runner/expectations.hpp"

#include <algorithm>

namespace edgelab::runner {

bool matchesGlob(std::string_view glob, std::string_view id) {
    // Iterative wildcard match with single-star backtracking: linear enough for
    // check ids, and no fnmatch flags to get wrong about dots.
    std::size_t g = 0, s = 0, starG = std::string_view::npos, starS = 0;
    while (s < id.size()) {
        if (g < glob.size() && (glob[g] == '?' || glob[g] == id[s])) {
            ++g;
            ++s;
        } else if (g < glob.size() && glob[g] == '*') {
            starG = g++;
            starS = s;
        } else if (starG != std::string_view::npos) {
            g = starG + 1;
            s = ++starS;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') ++g;
    return g == glob.size();
}

ExpectationReport evaluateExpectations(const std::vector<std::string>& expectFail,
                                       const std::vector<Verdict>& verdicts) {
    ExpectationReport report;
    std::vector<bool> globUsed(expectFail.size(), false);
    for (const auto& v : verdicts) {
        bool named = false;
        for (std::size_t i = 0; i < expectFail.size(); ++i) {
            if (matchesGlob(expectFail[i], v.id)) {
                named = true;
                if (v.outcome == Outcome::Fail) globUsed[i] = true;
            }
        }
        if (v.outcome == Outcome::Fail) {
            (named ? report.expectedFailures : report.unexpectedFailures).push_back(v.id);
        } else if (v.outcome == Outcome::Pass && named) {
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
