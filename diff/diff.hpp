// `edgelab diff`: what changed between two runs, from their JSON reports.
// Pure logic over two report values (no I/O): which checks newly fail, were
// fixed, still fail, are new or gone, and which observed facts changed in
// ways that matter (a certificate's thumbprint, issuer or expiry, the
// certificate served without SNI and the binding that served it, a backend
// URL, a redirect target). diff/README.md has the formats.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/parsed.hpp"

namespace edgelab::diff {

// One check of a report, as the diff reads it.
struct CheckRow {
    std::string id;
    std::string title;
    std::string ns;
    std::string verdict;  // PASS | FAIL | SKIP | WARN | BLOCKED
    std::string evidence;
    std::string remedy;
    std::string blockedBy;
};

// A report reduced to what a diff compares. `facts` holds, for each probe id
// ("tls.no-sni.lync-mobile") or application ("application:Lync Meet"), the
// fields that matter ("certificate.thumbprint" -> "3A1F...").
struct Snapshot {
    int schemaVersion = 0;
    std::string lab;
    std::string startedAt;
    std::string outcome;
    std::vector<CheckRow> results;
    std::map<std::string, std::map<std::string, std::string>> facts;
};

// Reads a JSON report (report/README.md). Refuses a report of another
// schemaVersion naming both versions, and a document that is not a report
// naming the JSON path.
Parsed<Snapshot> parseReport(std::string_view jsonText);

struct VerdictChange {
    std::string id;
    std::string title;
    std::string ns;
    std::string before;    // "" when the check was not in the base report
    std::string after;     // "" when the check is not in the new report
    std::string evidence;  // the new report's (the base's for a gone check)
    std::string remedy;
};

struct FactChange {
    std::string subject;  // probe id or "application:NAME"
    std::string field;    // "certificate.thumbprint", "outcome", "location", "backendUrl", ...
    std::string before;   // "" when absent
    std::string after;
};

struct ReportDiff {
    std::string lab;
    std::string baseStartedAt, newStartedAt;
    std::string baseOutcome, newOutcome;
    std::vector<VerdictChange> newlyFailing;  // FAIL now, not FAIL (or absent) before: regressions
    std::vector<VerdictChange> fixed;         // FAIL before, present and not FAIL now
    std::vector<VerdictChange> stillFailing;  // FAIL in both
    std::vector<VerdictChange> changed;       // any other verdict change (PASS -> BLOCKED, ...)
    std::vector<VerdictChange> added;         // only in the new report
    std::vector<VerdictChange> gone;          // only in the base report
    std::vector<FactChange> evidence;         // facts that changed, in subject order
    bool regressed() const { return !newlyFailing.empty(); }
};

// The fields compared for each kind of subject; durations and status lines
// are not among them (the checks judge those), nor the address a handshake
// reached (a lab built by `edgelab run` is on a /24 of its own each time).
const std::vector<std::string>& comparedFields();

// Checks in the new report's order, then gone checks in the base's order.
ReportDiff diffReports(const Snapshot& base, const Snapshot& next);

// Writers.
std::string consoleText(const ReportDiff&);
std::string jsonText(const ReportDiff&);
std::string junitText(const ReportDiff&);  // regressions are failures
std::string markdownText(const ReportDiff&);

}  // namespace edgelab::diff
