// `edgelab check LAB.json`: the catalogue against the lab's running proxy or
// any deployment, with console, JSON, JUnit and HTML reports.
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::cli {

void addCheckCommand(CLI::App& app);

}  // namespace edgelab::cli
