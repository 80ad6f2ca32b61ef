// A lab's expectations (`"expect": {"fail": [globs]}`) against what its run
// found. Pure: the runner passes the verdicts in, the report reads the result.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/finding.hpp"

namespace edgelab::runner {

// One result as the expectations see it: a check id (or a static rule's id)
// and its verdict. A WARN is not a failure; a BLOCKED one was not judged
// because a root cause failed (checks/README.md).
struct Judged {
    std::string id;
    Verdict verdict = Verdict::Pass;
};

struct ExpectationReport {
    bool met = true;
    std::vector<std::string> unexpectedFailures;  // failed, no glob names it
    std::vector<std::string> unexpectedPasses;    // a glob names it, it passed
    std::vector<std::string> unmatchedGlobs;      // a glob that names no failed check
    std::vector<std::string> expectedFailures;    // failed as the lab says

    // One line per problem, for the console and the report.
    std::vector<std::string> problems() const;
};

// The run meets its expectations when exactly the checks the globs name fail:
// every failure is named, nothing named passes, and every glob names at least
// one failure (a glob that names nothing is a lab that no longer shows what it
// was written to show). Skipped checks neither meet nor break a glob. A
// BLOCKED check meets a glob that names it: the failure the lab expects is
// there, reported once, as the root cause it follows from (which must itself
// be expected, or it is an unexpected failure).
ExpectationReport evaluateExpectations(const std::vector<std::string>& expectFail,
                                       const std::vector<Judged>& verdicts);

}  // namespace edgelab::runner
