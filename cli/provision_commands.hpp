// `edgelab validate` and `edgelab emit`: the commands that need the lab
// description only.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "provision/lab.hpp"

namespace edgelab::cli {

void addValidateCommand(CLI::App& app);
void addEmitCommand(CLI::App& app);

// The values every command's --format takes: people or scripts.
inline const std::vector<std::string> kFormats{"console", "json"};

// Refuses bad input: with --format json a JSON error object on stdout
// ({"error": {"command", "message", "file", "problems": [{"path", "message"}]}}),
// else the message on stderr; throws CLI::RuntimeError(kExitBadInput).
[[noreturn]] void refuseInput(const std::string& command, const std::string& message,
                              const std::string& format, const std::string& file = {},
                              const std::vector<provision::LabError>& problems = {});

// Loads a lab for a command: on a bad file reports every error (as JSON
// with --format json) and throws CLI::RuntimeError(kExitBadInput).
provision::Lab loadLabOrExit(const std::string& file, const std::string& format = "console",
                             const std::string& command = "edgelab");

}  // namespace edgelab::cli
