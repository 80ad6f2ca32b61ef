// `edgelab bindings show|add|delete|set-default`: the proxy's binding store,
// with netsh's layout and argument syntax (docs/design.md S7).
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::cli {

// Registers `bindings` and its subcommands on `app`. Changes are written
// atomically; when a running lab's proxy serves the store (--store, or
// --lab LAB.json), it gets SIGHUP and the command returns once the proxy's
// binding-store-loaded line says the change is in force (exit 3 when it
// cannot be confirmed); with no proxy running, the command says so.
void addBindingsCommand(CLI::App& app);

}  // namespace edgelab::cli
