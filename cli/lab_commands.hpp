// `edgelab run`, `up`, `status`, `down`: the runner's subcommands.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace edgelab::cli {

void addRunCommands(CLI::App& app);

// `--shard I/N` (I from 1): the labs whose position in name order is I-1
// modulo N. Throws std::invalid_argument on a malformed shard.
std::vector<std::string> selectShard(std::vector<std::string> labFiles, const std::string& shard);

}  // namespace edgelab::cli
