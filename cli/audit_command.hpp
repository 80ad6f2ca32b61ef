// `edgelab audit`: registered by the edgelab command (cli/main.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::cli {

void addAuditCommand(CLI::App& app);

}  // namespace edgelab::cli
