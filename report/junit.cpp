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

// One <testcase>; a warning is a pass in JUnit and goes to `warnings`.
std::string testcase(const Report& r, const checks::CheckResult& t, std::string& warnings) {
    std::string x = "    <testcase name=\"" + escapeXmlAttribute(t.id) + "\" classname=\"" +
                    escapeXmlAttribute(t.ns.empty() ? r.labName : t.ns) + "\" time=\"" +
                    seconds3(t.seconds) + "\"";
    switch (t.verdict) {
        case checks::Verdict::Pass:
            return x + "/>\n";
        case checks::Verdict::Warn:
            // JUnit has no warning: a pass, with the warning in system-out.
            warnings += "WARN " + t.id + ": " + t.evidence + "\n";
            return x + "/>\n";
        case checks::Verdict::Skip:
            return x + ">\n      <skipped message=\"" + escapeXmlAttribute(t.evidence) +
                   "\"/>\n    </testcase>\n";
        case checks::Verdict::Blocked:
            // Not judged: the root cause is the one failure to fix.
            return x + ">\n      <skipped message=\"" +
                   escapeXmlAttribute("blocked by " + t.blockedBy + ": " + t.evidence) +
                   "\"/>\n    </testcase>\n";
        case checks::Verdict::Fail:
            return x + ">\n      <failure message=\"" + escapeXmlAttribute(t.evidence) +
                   "\" type=\"" + escapeXmlAttribute(t.id) + "\">" + escapeXmlAttribute(t.title) +
                   "&#10;evidence: " + escapeXmlAttribute(t.evidence) +
                   "&#10;remedy: " + escapeXmlAttribute(t.remedy) + "</failure>\n    </testcase>\n";
    }
    return x + "/>\n";
}

// One lab's <testsuite>, with properties, system-out and system-err present
// even when empty, as the schema wants them.
std::string testsuite(const Report& r, std::size_t id, const std::string& hostname) {
    Counts c = countOf(r);
    const bool error = !r.error.empty();
    // BLOCKED is a <skipped> test too: the counts say what the cases say.
    std::string x = "  <testsuite name=\"" + escapeXmlAttribute(r.labName) +
                    "\" package=\"edgelab." + escapeXmlAttribute(r.labName) + "\" id=\"" +
                    std::to_string(id) + "\" tests=\"" + std::to_string(c.total + error) +
                    "\" failures=\"" + std::to_string(c.failed) + "\" errors=\"" +
                    std::to_string(error ? 1 : 0) + "\" skipped=\"" +
                    std::to_string(c.skipped + c.blocked) + "\" time=\"" + seconds3(r.seconds) +
                    "\" timestamp=\"" + antTimestamp(r.started) + "\" hostname=\"" +
                    escapeXmlAttribute(hostname.empty() ? "localhost" : hostname) + "\">\n";
    x += "    <properties>\n      <property name=\"lab\" value=\"" + escapeXmlAttribute(r.labName) +
         "\"/>\n      <property name=\"startedAt\" value=\"" + utcSeconds(r.started) +
         "\"/>\n    </properties>\n";
    std::string warnings;
    if (error)
        x += "    <testcase name=\"lab\" classname=\"" + escapeXmlAttribute(r.labName) +
             "\" time=\"" + seconds3(r.seconds) + "\">\n      <error message=\"" +
             escapeXmlAttribute(r.error) + "\" type=\"lab\">" + escapeXmlAttribute(r.error) +
             "</error>\n    </testcase>\n";
    for (const auto& t : r.results) x += testcase(r, t, warnings);
    x += "    <system-out>" +
         escapeXmlAttribute(std::to_string(c.passed) + " passed, " + std::to_string(c.failed) +
                            " failed, " + std::to_string(c.skipped) + " skipped\n" + warnings) +
         "</system-out>\n    <system-err></system-err>\n  </testsuite>\n";
    return x;
}

std::string hostName() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return host;
}

}  // namespace

// Ant's JUnit schema (what Jenkins and GitLab read): a <testsuites> holding
// one <testsuite> per lab, ids counted from 0.
std::string junitText(const std::vector<Report>& labs, const std::string& hostname) {
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    for (std::size_t i = 0; i < labs.size(); ++i) x += testsuite(labs[i], i, hostname);
    return x + "</testsuites>\n";
}

std::string junitText(const Report& r, const std::string& hostname) {
    return junitText(std::vector<Report>{r}, hostname);
}

void writeJUnit(const std::filesystem::path& file, const std::vector<Report>& labs) {
    writeFileAtomic(file, junitText(labs, hostName()));
}

void writeJUnit(const std::filesystem::path& file, const Report& r) {
    writeJUnit(file, std::vector<Report>{r});
}

}  // namespace edgelab::report
