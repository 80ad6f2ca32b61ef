// `edgelab audit`: registered by the edgelab command (scenarios/main.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace edgelab::audit {

void addAuditCommand(CLI::App& app);

}  // namespace edgelab::audit
