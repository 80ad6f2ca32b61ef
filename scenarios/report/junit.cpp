#include <cstdio>
#include <ctime>

#include <unistd.h>

#include "provision/atomic_file.hpp"
#include "scenarios/report/report.hpp"

namespace edgelab::report {

namespace {

std::string xmlEscape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\n':
                out += "&#10;";
                break;
            default:
                // Control characters are not allowed in XML 1.0.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t') break;
                out += c;
        }
    }
    return out;
}

std::string seconds3(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

// The Ant schema's timestamp has no zone designator.
std::string antTimestamp(std::chrono::system_clock::time_point t) {
    std::string s = isoTime(t);
    if (!s.empty() && s.back() == 'Z') s.pop_back();
    return s;
}

}  // namespace

// Ant's JUnit schema (what Jenkins and GitLab read): a <testsuites> holding
// one <testsuite> per lab, with properties, system-out and system-err
// present even when empty.
std::string junitText(const Report& r, const std::string& hostname) {
    Counts c = countOf(r);
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    x += "  <testsuite name=\"" + xmlEscape(r.labName) + "\" package=\"edgelab." +
         xmlEscape(r.labName) + "\" id=\"0\" tests=\"" + std::to_string(c.total) +
         "\" failures=\"" + std::to_string(c.failed) + "\" errors=\"0\" skipped=\"" +
         std::to_string(c.skipped) + "\" time=\"" + seconds3(r.seconds) + "\" timestamp=\"" +
         antTimestamp(r.started) + "\" hostname=\"" +
         xmlEscape(hostname.empty() ? "localhost" : hostname) + "\">\n";
    x += "    <properties>\n      <property name=\"lab\" value=\"" + xmlEscape(r.labName) +
         "\"/>\n      <property name=\"startedAt\" value=\"" + isoTime(r.started) +
         "\"/>\n    </properties>\n";
    std::string warnings;
    for (auto& t : r.results) {
        x += "    <testcase name=\"" + xmlEscape(t.id) + "\" classname=\"" +
             xmlEscape(t.ns.empty() ? r.labName : t.ns) + "\" time=\"" + seconds3(t.seconds) + "\"";
        switch (t.verdict) {
            case checks::Verdict::Pass:
                x += "/>\n";
                break;
            case checks::Verdict::Warn:
                // JUnit has no warning: a pass, with the warning in system-out.
                x += "/>\n";
                warnings += "WARN " + t.id + ": " + t.evidence + "\n";
                break;
            case checks::Verdict::Skip:
                x += ">\n      <skipped message=\"" + xmlEscape(t.evidence) +
                     "\"/>\n    </testcase>\n";
                break;
            case checks::Verdict::Fail:
                x += ">\n      <failure message=\"" + xmlEscape(t.evidence) + "\" type=\"" +
                     xmlEscape(t.id) + "\">" + xmlEscape(t.title) +
                     "&#10;evidence: " + xmlEscape(t.evidence) +
                     "&#10;remedy: " + xmlEscape(t.remedy) + "</failure>\n    </testcase>\n";
                break;
        }
    }
    x += "    <system-out>" +
         xmlEscape(std::to_string(c.passed) + " passed, " + std::to_string(c.failed) + " failed, " +
                   std::to_string(c.skipped) + " skipped\n" + warnings) +
         "</system-out>\n    <system-err></system-err>\n  </testsuite>\n</testsuites>\n";
    return x;
}

void writeJUnit(const std::filesystem::path& file, const Report& r) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    provision::writeFileAtomic(file, junitText(r, host));
}

}  // namespace edgelab::report
