#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <sstream>

#include <unistd.h>

#include "report/report.hpp"

namespace edgelab::report {

using checks::Verdict;

bool colorWanted(int fd) {
    const char* noColor = std::getenv("NO_COLOR");
    if (noColor && *noColor) return false;
    return isatty(fd) == 1;
}

namespace {

const char* colorOf(Verdict v) {
    switch (v) {
        case Verdict::Pass:
            return "\033[32m";
        case Verdict::Fail:
            return "\033[1;31m";
        case Verdict::Skip:
            return "\033[2m";
        case Verdict::Warn:
            return "\033[33m";
        case Verdict::Blocked:
            return "\033[35m";
    }
    return "";
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

}  // namespace

namespace {

void resultLine(std::ostringstream& out, const Report& r, const checks::CheckResult& x,
                std::size_t width, bool color) {
    std::string v = checks::to_string(x.verdict);
    if (color)
        out << colorOf(x.verdict) << v << "\033[0m";
    else
        out << v;
    out << "  " << x.id << std::string(width - x.id.size() + 2, ' ');
    if (isExpected(r, x)) out << "(expected) ";
    if (x.verdict == Verdict::Blocked) out << "blocked by " << x.blockedBy << ": ";
    out << x.evidence << "\n";
    if (!x.remedy.empty()) {
        // A remedy of several lines (a script to paste) keeps them indented
        // under its first, each as written.
        std::string remedy = x.remedy;
        for (std::size_t at = 0; (at = remedy.find('\n', at)) != std::string::npos; at += 15)
            remedy.insert(at + 1, "              ");
        out << "      remedy: " << remedy << "\n";
    }
    if (x.verdict == Verdict::Fail)
        if (auto n = blockedBy(r, x.id))
            out << "      " << n << (n == 1 ? " check follows" : " checks follow")
                << " from it (BLOCKED until this is fixed)\n";
}

// The first line says what to do: nothing, nothing new, or fix N things.
std::string verdictLine(const Report& r, const Counts& c) {
    const std::string outcome = outcomeOf(r);
    if (outcome == "passed") return r.labName + ": PASSED";
    if (outcome == "failed-as-expected")
        return r.labName + ": PASSED with " + std::to_string(c.expected) +
               " expected failure(s), as the lab's expect.fail says";
    (void)c;
    return r.labName + ": FAILED, " + fixesLine(r);
}

}  // namespace

std::string consoleText(const Report& r, bool color, bool quiet) {
    std::ostringstream out;
    std::size_t width = 0;
    for (auto& x : r.results) width = std::max(width, x.id.size());
    Counts c = countOf(r);
    ReportSections s = sectionsOf(r);
    out << verdictLine(r, c) << "\n";
    if (!s.failures.empty()) {
        out << "\nFailures, with what to do:\n";
        for (auto* x : s.failures) resultLine(out, r, *x, width, color);
    }
    if (!quiet)
        for (auto& [family, members] : s.families) {
            out << "\n" << family << ":\n";
            for (auto* x : members) resultLine(out, r, *x, width, color);
        }
    out << "\n"
        << r.labName << ": " << c.total << " checks, " << c.passed << " passed, " << c.failed
        << " failed";
    if (c.expected) out << " (" << c.expected << " expected)";
    out << ", " << c.skipped << " skipped";
    if (c.blocked) out << ", " << c.blocked << " blocked";
    if (c.warned) out << ", " << c.warned << " warnings";
    out << " in " << fixed(r.seconds, 2) << " s\n";
    return out.str();
}

ConsoleProgress::ConsoleProgress(std::ostream& out, bool live) : out_(out), live_(live) {}

void ConsoleProgress::probeDone(const std::string& probeId, std::size_t done, std::size_t total) {
    if (!live_) return;
    std::lock_guard lock(m_);
    // \r and erase-to-end-of-line keep one line updating in place.
    out_ << "\r\033[K[" << done << "/" << total << "] " << probeId << std::flush;
    shown_ = true;
}

void ConsoleProgress::clear() {
    std::lock_guard lock(m_);
    if (shown_) out_ << "\r\033[K" << std::flush;
    shown_ = false;
}

}  // namespace edgelab::report
