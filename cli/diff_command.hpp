// `edgelab diff BASE.json NEW.json`: what changed between two runs' JSON
// reports (diff/), as console text, JSON, JUnit or Markdown.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "diff/diff.hpp"

namespace edgelab::cli {

void addDiffCommand(CLI::App& app);

// Reads a JSON report for a diff; on a file that cannot be read or is not a
// report of this schema version, says so naming the file (and the JSON
// path) and throws CLI::RuntimeError(kExitBadInput).
diff::Snapshot readReportOrExit(const std::string& file, const std::string& command,
                                const std::string& format = "console");

}  // namespace edgelab::cli
