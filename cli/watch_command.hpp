// `edgelab watch LAB.json --every 60s --listen ADDR:PORT`: the checks on a
// schedule, served to Prometheus (watch/).
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::cli {

void addWatchCommand(CLI::App& app);

}  // namespace edgelab::cli
