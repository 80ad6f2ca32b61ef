// The diff four ways: console, JSON, JUnit (regressions as failures) and
// Markdown for a merge request comment. diff/README.md shows each.
#include <nlohmann/json.hpp>

#include "common/markup.hpp"
#include "diff/diff.hpp"

namespace edgelab::diff {

namespace {

std::string orNone(const std::string& v) { return v.empty() ? "(none)" : v; }
std::string verdictOrAbsent(const std::string& v) { return v.empty() ? "(absent)" : v; }

std::string headline(const ReportDiff& d) {
    return std::to_string(d.newlyFailing.size()) + " newly failing, " +
           std::to_string(d.fixed.size()) + " fixed, " + std::to_string(d.stillFailing.size()) +
           " still failing, " + std::to_string(d.changed.size()) + " changed, " +
           std::to_string(d.added.size()) + " new, " + std::to_string(d.gone.size()) + " gone; " +
           std::to_string(d.evidence.size()) + " evidence change(s)";
}

struct Section {
    const char* title;
    const std::vector<VerdictChange>* rows;
};
std::vector<Section> sectionsOf(const ReportDiff& d) {
    return {{"Newly failing", &d.newlyFailing}, {"Fixed", &d.fixed},
            {"Still failing", &d.stillFailing}, {"Changed", &d.changed},
            {"New checks", &d.added},           {"Gone checks", &d.gone}};
}

std::string markdownCell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else if (c == '`')
            out += '\'';
        else
            out += c;
    }
    return out;
}

// "" is null in the JSON: absent, not an empty value.
nlohmann::ordered_json nullable(const std::string& v) {
    return v.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(v);
}

nlohmann::ordered_json changesJson(const std::vector<VerdictChange>& rows) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& c : rows)
        a.push_back(nlohmann::ordered_json{{"id", c.id},
                                           {"title", c.title},
                                           {"namespace", c.ns},
                                           {"before", nullable(c.before)},
                                           {"after", nullable(c.after)},
                                           {"evidence", c.evidence},
                                           {"remedy", c.remedy}});
    return a;
}

}  // namespace

std::string consoleText(const ReportDiff& d) {
    std::string out = d.lab + ": " + orNone(d.baseStartedAt) + " -> " + orNone(d.newStartedAt) +
                      ": " + (d.regressed() ? "REGRESSED" : "no regression") + "\n" + headline(d) +
                      "\n";
    for (const auto& s : sectionsOf(d)) {
        if (s.rows->empty()) continue;
        out += "\n" + std::string(s.title) + " (" + std::to_string(s.rows->size()) + "):\n";
        for (const auto& c : *s.rows) {
            out += "  " + c.id + "  " + verdictOrAbsent(c.before) + " -> " +
                   verdictOrAbsent(c.after) + "  " + c.evidence + "\n";
            if (s.rows == &d.newlyFailing && !c.remedy.empty())
                out += "    remedy: " + c.remedy + "\n";
        }
    }
    if (!d.evidence.empty()) {
        out += "\nEvidence changed (" + std::to_string(d.evidence.size()) + "):\n";
        for (const auto& f : d.evidence)
            out += "  " + f.subject + "  " + f.field + ": " + orNone(f.before) + " -> " +
                   orNone(f.after) + "\n";
    }
    return out;
}

std::string jsonText(const ReportDiff& d) {
    nlohmann::ordered_json doc;
    doc["schemaVersion"] = 1;
    doc["kind"] = "edgelab-diff";
    doc["lab"] = d.lab;
    doc["base"] = {{"startedAt", d.baseStartedAt}, {"outcome", d.baseOutcome}};
    doc["new"] = {{"startedAt", d.newStartedAt}, {"outcome", d.newOutcome}};
    doc["regressed"] = d.regressed();
    doc["newlyFailing"] = changesJson(d.newlyFailing);
    doc["fixed"] = changesJson(d.fixed);
    doc["stillFailing"] = changesJson(d.stillFailing);
    doc["changed"] = changesJson(d.changed);
    doc["added"] = changesJson(d.added);
    doc["gone"] = changesJson(d.gone);
    auto ev = nlohmann::ordered_json::array();
    for (const auto& f : d.evidence)
        ev.push_back(nlohmann::ordered_json{{"subject", f.subject},
                                            {"field", f.field},
                                            {"before", nullable(f.before)},
                                            {"after", nullable(f.after)}});
    doc["evidenceChanges"] = std::move(ev);
    return doc.dump(2) + "\n";
}

namespace {

// One <testcase>: a regression fails, a gone check is skipped, the rest
// pass; what changed goes to the suite's system-out (the Ant schema has no
// output inside a testcase).
std::string junitCase(const ReportDiff& d, const Section& s, const VerdictChange& c,
                      std::string& out) {
    const std::string change = verdictOrAbsent(c.before) + " -> " + verdictOrAbsent(c.after);
    out += std::string(s.title) + ": " + c.id + " " + change + "\n";
    std::string x = "    <testcase name=\"" + escapeXmlAttribute(c.id) + "\" classname=\"" +
                    escapeXmlAttribute(c.ns.empty() ? d.lab : c.ns) + "\" time=\"0\"";
    if (s.rows == &d.newlyFailing)
        return x + ">\n      <failure message=\"" + escapeXmlAttribute(change + ": " + c.evidence) +
               "\" type=\"regression\">" +
               escapeMarkup(c.title + "\n" + c.evidence + "\nremedy: " + c.remedy) +
               "</failure>\n    </testcase>\n";
    if (s.rows == &d.gone)
        return x + ">\n      <skipped message=\"gone: not in the new report\"/>\n    </testcase>\n";
    return x + "/>\n";
}

// The Ant schema's timestamp has no zone designator.
std::string antTimestamp(std::string t) {
    if (t.empty()) return "1970-01-01T00:00:00";
    if (t.back() == 'Z') t.pop_back();
    return t;
}

}  // namespace

std::string junitText(const ReportDiff& d) {
    std::string cases, out = headline(d) + "\n";
    std::size_t tests = 0;
    for (const auto& s : sectionsOf(d))
        for (const auto& c : *s.rows) {
            // A new check that fails is in newly failing already.
            if (s.rows == &d.added && c.after == "FAIL") continue;
            ++tests;
            cases += junitCase(d, s, c, out);
        }
    for (const auto& f : d.evidence)
        out += "evidence: " + f.subject + " " + f.field + ": " + orNone(f.before) + " -> " +
               orNone(f.after) + "\n";
    const std::string counts = "tests=\"" + std::to_string(tests) + "\" failures=\"" +
                               std::to_string(d.newlyFailing.size()) + "\" errors=\"0\"";
    return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n") +
           "  <testsuite name=\"" + escapeXmlAttribute(d.lab + " diff") + "\" package=\"" +
           escapeXmlAttribute("edgelab." + d.lab + ".diff") + "\" id=\"0\" timestamp=\"" +
           escapeXmlAttribute(antTimestamp(d.newStartedAt)) + "\" hostname=\"localhost\" " +
           counts + " skipped=\"" + std::to_string(d.gone.size()) + "\" time=\"0\">\n" +
           "    <properties>\n      <property name=\"base.startedAt\" value=\"" +
           escapeXmlAttribute(d.baseStartedAt) + "\"/>\n      <property name=\"new.startedAt\" " +
           "value=\"" + escapeXmlAttribute(d.newStartedAt) + "\"/>\n    </properties>\n" + cases +
           "    <system-out>" + escapeMarkup(out) + "</system-out>\n    <system-err/>\n" +
           "  </testsuite>\n</testsuites>\n";
}

std::string markdownText(const ReportDiff& d) {
    std::string out =
        "### edgelab diff: " + markdownCell(d.lab) + " — " +
        (d.regressed() ? "**" + std::to_string(d.newlyFailing.size()) + " regression(s)**"
                       : std::string("no regression")) +
        "\n\nBase " + markdownCell(orNone(d.baseStartedAt)) + " (" +
        markdownCell(orNone(d.baseOutcome)) + ") → new " + markdownCell(orNone(d.newStartedAt)) +
        " (" + markdownCell(orNone(d.newOutcome)) + "): " + headline(d) + ".\n";
    for (const auto& s : sectionsOf(d)) {
        if (s.rows->empty()) continue;
        out += "\n#### " + std::string(s.title) +
               "\n\n| check | was | now | evidence |\n|---|---|---|---|\n";
        for (const auto& c : *s.rows)
            out += "| `" + markdownCell(c.id) + "` | " + verdictOrAbsent(c.before) + " | " +
                   verdictOrAbsent(c.after) + " | " + markdownCell(c.evidence) + " |\n";
    }
    if (!d.evidence.empty()) {
        out += "\n#### Evidence changed\n\n| probe | field | was | now |\n|---|---|---|---|\n";
        for (const auto& f : d.evidence)
            out += "| `" + markdownCell(f.subject) + "` | " + markdownCell(f.field) + " | " +
                   markdownCell(orNone(f.before)) + " | " + markdownCell(orNone(f.after)) + " |\n";
    }
    return out;
}

}  // namespace edgelab::diff
