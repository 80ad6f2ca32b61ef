#include <cstdio>
#include <ctime>

#include <unistd.h>

#include "common/atomic_file.hpp"
#include "common/markup.hpp"
#include "common/utc_time.hpp"
#include "report/report.hpp"

namespace edgelab::report {

namespace {

std::string seconds3(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

// The Ant schema's timestamp has no zone designator.
std::string antTimestamp(std::chrono::system_clock::time_point t) {
    std::string s = utcSeconds(t);
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
    x += "  <testsuite name=\"" + escapeXmlAttribute(r.labName) + "\" package=\"edgelab." +
         escapeXmlAttribute(r.labName) + "\" id=\"0\" tests=\"" + std::to_string(c.total) +
         "\" failures=\"" + std::to_string(c.failed) + "\" errors=\"0\" skipped=\"" +
         std::to_string(c.skipped) + "\" time=\"" + seconds3(r.seconds) + "\" timestamp=\"" +
         antTimestamp(r.started) + "\" hostname=\"" +
         escapeXmlAttribute(hostname.empty() ? "localhost" : hostname) + "\">\n";
    x += "    <properties>\n      <property name=\"lab\" value=\"" + escapeXmlAttribute(r.labName) +
         "\"/>\n      <property name=\"startedAt\" value=\"" + utcSeconds(r.started) +
         "\"/>\n    </properties>\n";
    std::string warnings;
    for (auto& t : r.results) {
        x += "    <testcase name=\"" + escapeXmlAttribute(t.id) + "\" classname=\"" +
             escapeXmlAttribute(t.ns.empty() ? r.labName : t.ns) + "\" time=\"" +
             seconds3(t.seconds) + "\"";
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
                x += ">\n      <skipped message=\"" + escapeXmlAttribute(t.evidence) +
                     "\"/>\n    </testcase>\n";
                break;
            case checks::Verdict::Blocked:
                // Not judged: the root cause is the one failure to fix.
                x += ">\n      <skipped message=\"" +
                     escapeXmlAttribute("blocked by " + t.blockedBy + ": " + t.evidence) +
                     "\"/>\n    </testcase>\n";
                break;
            case checks::Verdict::Fail:
                x += ">\n      <failure message=\"" + escapeXmlAttribute(t.evidence) +
                     "\" type=\"" + escapeXmlAttribute(t.id) + "\">" + escapeXmlAttribute(t.title) +
                     "&#10;evidence: " + escapeXmlAttribute(t.evidence) +
                     "&#10;remedy: " + escapeXmlAttribute(t.remedy) +
                     "</failure>\n    </testcase>\n";
                break;
        }
    }
    x += "    <system-out>" +
         escapeXmlAttribute(std::to_string(c.passed) + " passed, " + std::to_string(c.failed) +
                            " failed, " + std::to_string(c.skipped) + " skipped\n" + warnings) +
         "</system-out>\n    <system-err></system-err>\n  </testsuite>\n</testsuites>\n";
    return x;
}

void writeJUnit(const std::filesystem::path& file, const Report& r) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    writeFileAtomic(file, junitText(r, host));
}

}  // namespace edgelab::report
