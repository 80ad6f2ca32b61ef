// `edgelab bindings show|add|delete|set-default`: the proxy's binding store,
// with netsh's layout and argument syntax (docs/design.md S7).
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::cli {

// Registers `bindings` and its subcommands on `app`. Changes are written
// atomically; a running edgelab-proxy notices the new file by itself (it
// polls the store's inode, size and mtime) and also reloads on SIGHUP.
void addBindingsCommand(CLI::App& app);

}  // namespace edgelab::cli
