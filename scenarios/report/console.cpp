#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <sstream>

#include <unistd.h>

#include "scenarios/report/report.hpp"

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

std::string consoleText(const Report& r, bool color) {
    std::ostringstream out;
    std::size_t width = 0;
    for (auto& x : r.results) width = std::max(width, x.id.size());
    for (auto& x : r.results) {
        std::string v = checks::to_string(x.verdict);
        if (color)
            out << colorOf(x.verdict) << v << "\033[0m";
        else
            out << v;
        out << "  " << x.id << std::string(width - x.id.size() + 2, ' ');
        if (x.verdict == Verdict::Blocked) out << "blocked by " << x.blockedBy << ": ";
        out << x.evidence << "\n";
        if (!x.remedy.empty()) out << "      remedy: " << x.remedy << "\n";
    }
    Counts c = countOf(r);
    out << "\n"
        << r.labName << ": " << c.total << " checks, " << c.passed << " passed, " << c.failed
        << " failed, " << c.skipped << " skipped";
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
