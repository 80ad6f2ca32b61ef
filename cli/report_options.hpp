// --report-json / --report-junit / --report-html, the same for every command
// that writes a report.
#pragma once

#include <CLI/CLI.hpp>

#include "report/report.hpp"

namespace edgelab::cli {

inline void addReportFileOptions(CLI::App& cmd, report::ReportFiles& files) {
    cmd.add_option("--report-json", files.json, "Write the JSON report to FILE");
    cmd.add_option("--report-junit", files.junit, "Write the JUnit XML report to FILE");
    cmd.add_option("--report-html", files.html, "Write the HTML report to FILE");
}

}  // namespace edgelab::cli
