// Reports of a check run. Every writer reads only a Report value, so the
// console, JSON, JUnit and HTML say the same thing.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "checks/catalogue.hpp"
#include "checks/gather.hpp"
#include "provision/lab.hpp"
#include "report/facts.hpp"

namespace edgelab::report {

// The lab as a flow from clients to backends, for the HTML drawing.
struct DrawingNode {
    std::string id;
    std::string label;
    std::string column;  // "client", "binding", "application", "backend"
};

struct DrawingEdge {
    std::string from;
    std::string to;
    std::vector<std::string> checks;  // check id globs whose verdicts colour the edge
};

struct LabDrawing {
    std::vector<DrawingNode> nodes;
    std::vector<DrawingEdge> edges;
};

struct Report {
    std::string labName;
    std::chrono::system_clock::time_point started;
    double seconds = 0;
    std::vector<checks::CheckResult> results;
    LabDrawing drawing;
    std::vector<std::string> expectFail;  // the lab's expect.fail globs (edgelab run)
    std::optional<bool> expectationsMet;  // the runner's judgement of them, when it ran
    // A lab that never reached its checks (a bad lab file, not brought up):
    // why. JUnit shows it as one test in error, so that CI still gets a report.
    std::string error = {};
    std::string command = "check";  // "check", "run" or "audit": the HTML title says which
    ReportFacts facts;              // what the probes saw, structured (empty: not gathered)
};

// The JSON report's schemaVersion (report/README.md): fields are only added
// within a version; anything else bumps it, and `edgelab diff` refuses a
// report of another version.
inline constexpr int kSchemaVersion = 1;

// A FAIL that the lab's expect.fail names.
bool isExpected(const Report&, const checks::CheckResult&);

// The run as a whole: "passed" (no failure), "failed-as-expected" (every
// failure expected and the expectations met) or "failed".
std::string outcomeOf(const Report&);

// Results in the order reports show them: failures first (unexpected before
// expected), then the rest grouped by family in familyOrder().
struct ReportSections {
    std::vector<const checks::CheckResult*> failures;
    std::vector<std::pair<std::string, std::vector<const checks::CheckResult*>>> families;
};
ReportSections sectionsOf(const Report&);

// How many results each root-cause check blocks.
std::size_t blockedBy(const Report&, const std::string& checkId);

// The headline of a failed run, failures grouped under their root cause:
// "1 fix: backend.up.fe1 — 24 checks follow from it", "3 fixes: a (2 checks
// follow from it), b, c"; for a run whose only problem is its expectations,
// "the lab's expectations are not met" (never "0 failures to fix").
std::string fixesLine(const Report&);

struct Counts {
    std::size_t total = 0, passed = 0, failed = 0, skipped = 0, warned = 0, blocked = 0;
    std::size_t expected = 0;  // of the failed, those the lab expects
};
Counts countOf(const Report&);

// Client profiles -> proxy bindings -> applications -> backends.
LabDrawing drawingOf(const provision::Lab&);

// The worst verdict among results matching any glob (FAIL > WARN > PASS >
// SKIP); Skip when none match.
checks::Verdict edgeVerdict(const Report&, const DrawingEdge&);

// Writers: text, then files written atomically.
// `quiet`: the failures and the summary only.
std::string consoleText(const Report&, bool color, bool quiet = false);
std::string jsonText(const Report&);
std::string junitText(const Report&, const std::string& hostname);
// One JUnit document, a <testsuite> per lab (ids from 0), for a run of many.
std::string junitText(const std::vector<Report>&, const std::string& hostname);
std::string htmlText(const Report&);

void writeJson(const std::filesystem::path&, const Report&);
void writeJUnit(const std::filesystem::path&, const Report&);
void writeJUnit(const std::filesystem::path&, const std::vector<Report>&);
void writeHtml(const std::filesystem::path&, const Report&);

// The report files a command was asked for (empty: not wanted).
struct ReportFiles {
    std::string json, junit, html;
};
void writeReports(const ReportFiles&, const Report&);

// Colour on a terminal unless NO_COLOR is set (https://no-color.org).
bool colorWanted(int fd);

// A live progress line on a terminal while probes run; silent otherwise.
class ConsoleProgress : public checks::ProgressSink {
  public:
    ConsoleProgress(std::ostream& out, bool live);
    void probeDone(const std::string& probeId, std::size_t done, std::size_t total) override;
    void clear();  // erase the line before results are printed

  private:
    std::ostream& out_;
    bool live_;
    bool shown_ = false;
    std::mutex m_;
};

}  // namespace edgelab::report
