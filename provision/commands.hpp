// `edgelab validate` and `edgelab emit`: the commands that need the lab
// description only.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "provision/lab.hpp"

namespace edgelab::provision {

void addValidateCommand(CLI::App& app);
void addEmitCommand(CLI::App& app);

// Loads a lab for a command: on a bad file prints every error to stderr and
// throws CLI::RuntimeError(kExitBadInput).
Lab loadLabOrExit(const std::string& file);

}  // namespace edgelab::provision
