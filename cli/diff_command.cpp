#include "cli/diff_command.hpp"

#include <iostream>
#include <memory>

#include "cli/provision_commands.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"

namespace edgelab::cli {

namespace {

struct DiffArgs {
    std::string base, next;
    std::string format = "console";
    std::string json, junit, markdown;
};

std::string formatted(const diff::ReportDiff& d, const std::string& format) {
    if (format == "json") return diff::jsonText(d);
    if (format == "junit") return diff::junitText(d);
    if (format == "markdown") return diff::markdownText(d);
    return diff::consoleText(d);
}

void run(const DiffArgs& a) {
    // JSON errors only for --format json; the other formats are for people or CI files.
    const std::string errors = a.format == "json" ? "json" : "console";
    if (a.format != "console" && a.format != "json" && a.format != "junit" &&
        a.format != "markdown")
        refuseInput("edgelab diff",
                    "--format " + a.format + ": expected console, json, junit or markdown",
                    "console");
    const diff::Snapshot base = readReportOrExit(a.base, "edgelab diff", errors);
    const diff::Snapshot next = readReportOrExit(a.next, "edgelab diff", errors);
    if (base.lab != next.lab)
        refuseInput("edgelab diff",
                    "the reports are of two labs (" + a.base + ": " + base.lab + ", " + a.next +
                        ": " + next.lab + "); a diff compares two runs of one lab",
                    errors);
    const diff::ReportDiff d = diff::diffReports(base, next);
    try {
        if (!a.json.empty()) writeFileAtomic(a.json, diff::jsonText(d));
        if (!a.junit.empty()) writeFileAtomic(a.junit, diff::junitText(d));
        if (!a.markdown.empty()) writeFileAtomic(a.markdown, diff::markdownText(d));
    } catch (const std::exception& e) {
        refuseInput("edgelab diff", e.what(), errors);
    }
    std::cout << formatted(d, a.format) << std::flush;
    if (d.regressed()) throw CLI::RuntimeError(kExitCheckFailed);
}

}  // namespace

diff::Snapshot readReportOrExit(const std::string& file, const std::string& command,
                                const std::string& format) {
    std::string text;
    try {
        text = readFile(file);
    } catch (const std::exception& e) {
        refuseInput(command, e.what(), format, file);
    }
    auto parsed = diff::parseReport(text);
    if (!parsed) refuseInput(command, file + ": " + parsed.error(), format, file);
    return *parsed;
}

void addDiffCommand(CLI::App& app) {
    auto args = std::make_shared<DiffArgs>();
    CLI::App* cmd = app.add_subcommand(
        "diff",
        "What changed between two runs' JSON reports: checks newly failing, fixed, still "
        "failing, new and gone, and evidence that changed (certificates, bindings, backend "
        "URLs, redirects). Exit 1 only on a regression (a check newly failing)");
    cmd->add_option("base", args->base, "The earlier run's JSON report (--report-json)")
        ->required();
    cmd->add_option("new", args->next, "The later run's JSON report")->required();
    cmd->add_option("--format", args->format,
                    "Standard output: console, json, junit or markdown (a merge request "
                    "comment)");
    cmd->add_option("--report-json", args->json, "Also write the diff as JSON to FILE");
    cmd->add_option("--report-junit", args->junit,
                    "Also write the diff as JUnit XML to FILE (regressions are failures)");
    cmd->add_option("--report-markdown", args->markdown, "Also write the diff as Markdown to FILE");
    cmd->callback([args] { run(*args); });
}

}  // namespace edgelab::cli
