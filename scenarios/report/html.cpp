#include <algorithm>
#include <cstdio>
#include <map>

#include "provision/atomic_file.hpp"
#include "provision/markup.hpp"
#include "scenarios/report/report.hpp"

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
             colorOf(v) + "\" stroke-width=\"2.5\"><title>" + provision::escapeMarkup(checks) + ": " +
             checks::to_string(v) + "</title></path>\n";
    }
    for (auto& n : r.drawing.nodes) {
        auto [x, y] = pos[n.id];
        s += "<g class=\"node " + provision::escapeMarkup(n.column) + "\"><rect x=\"" + std::to_string(x) + "\" y=\"" +
             std::to_string(y) + "\" width=\"" + std::to_string(colW) + "\" height=\"" +
             std::to_string(boxH) + "\" rx=\"5\" fill=\"#f4f6f8\" stroke=\"#607d8b\"/><text x=\"" +
             std::to_string(x + 8) + "\" y=\"" + std::to_string(y + 21) + "\">" + provision::escapeMarkup(n.label) +
             "</text></g>\n";
    }
    return s + "</svg>\n";
}

}  // namespace

std::string htmlText(const Report& r) {
    Counts c = countOf(r);
    std::string h =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>edgelab "
        "check: " +
        provision::escapeMarkup(r.labName) +
        "</title>\n<style>\n"
        "body{font-family:sans-serif;margin:20px;color:#222}\n"
        "table{border-collapse:collapse;width:100%;font-size:13px}\n"
        "th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\n"
        "th{background:#eceff1}\n"
        ".verdict{font-weight:bold;color:#fff;text-align:center;width:48px}\n"
        ".PASS .verdict{background:#2e7d32}.FAIL .verdict{background:#c62828}\n"
        ".SKIP .verdict{background:#9e9e9e}.WARN .verdict{background:#ef8f00}"
        ".BLOCKED .verdict{background:#6a1b9a}\n"
        ".remedy{color:#555;font-size:12px}\n"
        ".summary span{margin-right:16px;font-weight:bold}\n"
        "</style>\n</head>\n<body>\n<h1>edgelab check: " +
        provision::escapeMarkup(r.labName) + "</h1>\n<p class=\"summary\" id=\"summary\"><span>" +
        std::to_string(c.total) + " checks</span><span style=\"color:#2e7d32\">" +
        std::to_string(c.passed) + " passed</span><span style=\"color:#c62828\">" +
        std::to_string(c.failed) + " failed</span><span style=\"color:#9e9e9e\">" +
        std::to_string(c.skipped) + " skipped</span><span style=\"color:#ef8f00\">" +
        std::to_string(c.warned) + " warnings</span> started " + isoTime(r.started) + ", " +
        num(r.seconds) + " s</p>\n<h2>Lab</h2>\n" + svgOf(r) +
        "<h2>Checks</h2>\n<table id=\"checks\">\n<thead><tr><th>Verdict</th><th>Check</th>"
        "<th>Namespace</th><th>Evidence</th></tr></thead>\n<tbody>\n";
    for (auto& x : r.results) {
        std::string v = checks::to_string(x.verdict);
        h += "<tr class=\"check " + v + "\"><td class=\"verdict\">" + v + "</td><td><code>" +
             provision::escapeMarkup(x.id) + "</code><br>" + provision::escapeMarkup(x.title) + "</td><td>" + provision::escapeMarkup(x.ns) + "</td><td>" +
             provision::escapeMarkup(x.evidence);
        if (!x.remedy.empty()) h += "<div class=\"remedy\">Remedy: " + provision::escapeMarkup(x.remedy) + "</div>";
        h += "</td></tr>\n";
    }
    h += "</tbody>\n</table>\n</body>\n</html>\n";
    return h;
}

void writeHtml(const std::filesystem::path& file, const Report& r) {
    provision::writeFileAtomic(file, htmlText(r));
}

}  // namespace edgelab::report
