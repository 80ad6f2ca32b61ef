#include <algorithm>
#include <cstdio>
#include <map>

#include "common/atomic_file.hpp"
#include "common/markup.hpp"
#include "common/utc_time.hpp"
#include "report/report.hpp"

namespace edgelab::report {

namespace {

using checks::Verdict;

const char* colorOf(Verdict v) {
    switch (v) {
        case Verdict::Pass:
            return "#2e7d32";
        case Verdict::Fail:
            return "#c62828";
        case Verdict::Warn:
            return "#ef8f00";
        case Verdict::Skip:
            return "#9e9e9e";
        case Verdict::Blocked:
            return "#6a1b9a";
    }
    return "#9e9e9e";
}

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

// Four columns, one box per node, a curve per edge coloured by the worst
// verdict of the checks that exercise that hop.
std::string svgOf(const Report& r) {
    static const std::vector<std::pair<std::string, std::string>> columns{
        {"client", "Client profiles"},
        {"binding", "Proxy bindings"},
        {"application", "Applications"},
        {"backend", "Backends"}};
    const int colW = 230, gap = 60, boxH = 34, rowH = 48, top = 44, left = 10;
    std::map<std::string, std::pair<int, int>> pos;  // node id -> x, y
    std::map<std::string, int> rows;
    for (auto& n : r.drawing.nodes) {
        auto it = std::find_if(columns.begin(), columns.end(),
                               [&](auto& c) { return c.first == n.column; });
        int col = static_cast<int>(it - columns.begin());
        int row = rows[n.column]++;
        pos[n.id] = {left + col * (colW + gap), top + row * rowH};
    }
    int maxRows = 1;
    for (auto& [c, n] : rows) maxRows = std::max(maxRows, n);
    int width = left * 2 + 4 * colW + 3 * gap;
    int height = top + maxRows * rowH + 10;
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"lab-drawing\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) +
                    "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    for (std::size_t i = 0; i < columns.size(); ++i)
        s += "<text x=\"" + std::to_string(left + static_cast<int>(i) * (colW + gap)) +
             "\" y=\"20\" font-weight=\"bold\">" + columns[i].second + "</text>\n";
    for (auto& e : r.drawing.edges) {
        if (!pos.count(e.from) || !pos.count(e.to)) continue;
        auto [x1, y1] = pos[e.from];
        auto [x2, y2] = pos[e.to];
        x1 += colW;
        y1 += boxH / 2;
        y2 += boxH / 2;
        Verdict v = edgeVerdict(r, e);
        std::string checks;
        for (auto& c : e.checks) checks += (checks.empty() ? "" : " ") + c;
        s += "<path class=\"edge " + checks::to_string(v) + "\" d=\"M" + std::to_string(x1) + "," +
             std::to_string(y1) + " C" + std::to_string(x1 + gap / 2) + "," + std::to_string(y1) +
             " " + std::to_string(x2 - gap / 2) + "," + std::to_string(y2) + " " +
             std::to_string(x2) + "," + std::to_string(y2) + "\" fill=\"none\" stroke=\"" +
             colorOf(v) + "\" stroke-width=\"2.5\"><title>" + escapeMarkup(checks) + ": " +
             checks::to_string(v) + "</title></path>\n";
    }
    for (auto& n : r.drawing.nodes) {
        auto [x, y] = pos[n.id];
        s += "<g class=\"node " + escapeMarkup(n.column) + "\"><rect x=\"" + std::to_string(x) +
             "\" y=\"" + std::to_string(y) + "\" width=\"" + std::to_string(colW) + "\" height=\"" +
             std::to_string(boxH) + "\" rx=\"5\" fill=\"#f4f6f8\" stroke=\"#607d8b\"/><text x=\"" +
             std::to_string(x + 8) + "\" y=\"" + std::to_string(y + 21) + "\">" +
             escapeMarkup(n.label) + "</text></g>\n";
    }
    return s + "</svg>\n";
}

}  // namespace

namespace {

std::string esc(const std::string& s) { return escapeMarkup(s); }

const char* kStyle =
    "body{font-family:sans-serif;margin:16px auto;max-width:1400px;padding:0 12px;color:#222}\n"
    "h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:16px 0 6px}\n"
    "#verdict{font-size:18px;font-weight:bold;padding:8px 12px;border-radius:4px;color:#fff}\n"
    "#verdict.passed{background:#2e7d32}#verdict.failed-as-expected{background:#546e7a}\n"
    "#verdict.failed{background:#b71c1c}\n"
    ".summary{font-size:13px;margin:6px 0}.summary span{margin-right:14px;font-weight:bold}\n"
    ".failure{border:1px solid #e0e0e0;border-left:6px solid #c62828;margin:6px 0;"
    "padding:6px 10px;font-size:13px}\n"
    ".failure.expected{border-left-color:#90a4ae}\n"
    ".failure .head{font-weight:bold}.tag{font-weight:normal;color:#fff;background:#546e7a;"
    "padding:0 6px;border-radius:3px;margin-left:6px;font-size:12px}\n"
    ".evidence,.remedy{overflow-wrap:anywhere;word-break:break-word}\n"
    ".remedy{background:#fff3e0;padding:3px 6px;margin-top:4px}\n"
    "details{margin:4px 0}summary{cursor:pointer;font-weight:bold;font-size:14px;padding:3px 0}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;table-layout:fixed}\n"
    "th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere;word-break:break-word}\n"
    "th{background:#eceff1}col.v{width:80px}col.id{width:32%}\n"
    ".verdict{font-weight:bold;color:#fff;text-align:center}\n"
    ".PASS .verdict{background:#2e7d32}.FAIL .verdict{background:#c62828}\n"
    ".SKIP .verdict{background:#9e9e9e}.WARN .verdict{background:#ef8f00}\n"
    ".BLOCKED .verdict{background:#6a1b9a}\n"
    "#lab-drawing{max-width:100%;height:auto}\n";

std::string verdictBanner(const Report& r, const Counts& c) {
    const std::string outcome = outcomeOf(r);
    std::string text;
    if (outcome == "passed")
        text = "PASSED: " + std::to_string(c.passed + c.warned) + " checks passed";
    else if (outcome == "failed-as-expected")
        text = "PASSED: " + std::to_string(c.expected) +
               " expected failure(s), as the lab's expect.fail says";
    else
        text = "FAILED: " + fixesLine(r);
    return "<div id=\"verdict\" class=\"" + outcome + "\">" + esc(text) + "</div>\n";
}

std::string failureCard(const Report& r, const checks::CheckResult& x) {
    const bool expected = isExpected(r, x);
    std::string h = "<div class=\"check failure FAIL" + std::string(expected ? " expected" : "") +
                    "\"><div class=\"head\"><code>" + esc(x.id) + "</code> " + esc(x.title);
    if (expected) h += "<span class=\"tag\">expected</span>";
    if (auto n = blockedBy(r, x.id))
        h += "<span class=\"tag\">blocks " + std::to_string(n) + " check(s)</span>";
    h += "</div><div class=\"evidence\">" + esc(x.evidence) + "</div>";
    if (!x.remedy.empty()) h += "<div class=\"remedy\">Remedy: " + esc(x.remedy) + "</div>";
    return h + "</div>\n";
}

std::string familyTable(const Report& r, const std::string& family,
                        const std::vector<const checks::CheckResult*>& members) {
    Counts c;
    for (auto* x : members) {
        c.passed += x->verdict == Verdict::Pass;
        c.blocked += x->verdict == Verdict::Blocked;
        c.skipped += x->verdict == Verdict::Skip;
        c.warned += x->verdict == Verdict::Warn;
    }
    std::string sum = std::to_string(c.passed) + " passed";
    if (c.warned) sum += ", " + std::to_string(c.warned) + " warnings";
    if (c.blocked) sum += ", " + std::to_string(c.blocked) + " blocked";
    if (c.skipped) sum += ", " + std::to_string(c.skipped) + " skipped";
    // Open when something in it needs a look.
    std::string h = "<details class=\"family\"" +
                    std::string(c.warned || c.blocked ? " open" : "") + "><summary>" + esc(family) +
                    " &#8212; " + sum +
                    "</summary>\n<table><colgroup><col class=\"v\"><col class=\"id\"><col>"
                    "</colgroup>\n<thead><tr><th>Verdict</th><th>Check</th><th>Evidence</th>"
                    "</tr></thead>\n<tbody>\n";
    for (auto* x : members) {
        std::string v = checks::to_string(x->verdict);
        h += "<tr class=\"check " + v + "\"><td class=\"verdict\">" + v + "</td><td><code>" +
             esc(x->id) + "</code><br>" + esc(x->title) + "</td><td class=\"evidence\">";
        if (x->verdict == Verdict::Blocked)
            h += "blocked by <code>" + esc(x->blockedBy) + "</code>: ";
        h += esc(x->evidence);
        if (!x->remedy.empty()) h += "<div class=\"remedy\">Remedy: " + esc(x->remedy) + "</div>";
        h += "</td></tr>\n";
    }
    (void)r;
    return h + "</tbody>\n</table>\n</details>\n";
}

}  // namespace

// The first screen answers "what do I fix": the verdict, then each failure
// with its evidence and remedy; the drawing and the rest, by family, follow.
std::string htmlText(const Report& r) {
    Counts c = countOf(r);
    ReportSections s = sectionsOf(r);
    std::string h =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>edgelab " +
        esc(r.command) + ": " + esc(r.labName) + "</title>\n<style>\n" + kStyle +
        "</style>\n</head>\n<body>\n<h1>edgelab " + esc(r.command) + ": " + esc(r.labName) +
        "</h1>\n" + verdictBanner(r, c);
    h += "<p class=\"summary\" id=\"summary\"><span>" + std::to_string(c.total) +
         " checks</span><span style=\"color:#2e7d32\">" + std::to_string(c.passed) +
         " passed</span><span style=\"color:#c62828\">" + std::to_string(c.failed) + " failed" +
         (c.expected ? " (" + std::to_string(c.expected) + " expected)" : "") +
         "</span><span style=\"color:#6a1b9a\">" + std::to_string(c.blocked) +
         " blocked</span><span style=\"color:#9e9e9e\">" + std::to_string(c.skipped) +
         " skipped</span><span style=\"color:#ef8f00\">" + std::to_string(c.warned) +
         " warnings</span> started " + utcSeconds(r.started) + ", " + num(r.seconds) + " s</p>\n";
    if (!s.failures.empty()) {
        h += "<section id=\"failures\"><h2>What to fix</h2>\n";
        for (auto* x : s.failures) h += failureCard(r, *x);
        h += "</section>\n";
    }
    h += "<h2>Lab</h2>\n" + svgOf(r) + "<h2>Checks by family</h2>\n<div id=\"checks\">\n";
    for (auto& [family, members] : s.families) h += familyTable(r, family, members);
    h += "</div>\n</body>\n</html>\n";
    return h;
}

void writeReports(const ReportFiles& files, const Report& r) {
    if (!files.json.empty()) writeJson(files.json, r);
    if (!files.junit.empty()) writeJUnit(files.junit, r);
    if (!files.html.empty()) writeHtml(files.html, r);
}

void writeHtml(const std::filesystem::path& file, const Report& r) {
    writeFileAtomic(file, htmlText(r));
}

}  // namespace edgelab::report
