// `edgelab help [COMMAND]`, and "did you mean" for a mistyped subcommand or
// option: what main() asks before and after CLI11 parses.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace edgelab::cli {

// Handles `edgelab help [COMMAND...]` and a first word that names no
// subcommand (with the nearest one suggested). Returns the exit code when
// it handled the command line, nullopt to let CLI11 parse it.
std::optional<int> helpOrUnknownCommand(CLI::App& app, int argc, char** argv);

// After a parse error: "did you mean --work-dir?" for an option of the
// subcommand given that is near the mistyped one; "" when none is.
std::string optionSuggestion(CLI::App& app, int argc, char** argv);

}  // namespace edgelab::cli
