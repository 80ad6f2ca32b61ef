// The edgelab-backend program: command line, TLS context, server, signals.
// main.cpp only calls runBackend, so tests link everything else.
#pragma once

namespace edgelab::cli {

// Returns the process exit code: 0 after SIGINT/SIGTERM, 2 for bad flags or
// an unreadable certificate or key, 3 when an address cannot be bound.
int runBackend(int argc, char** argv);

}  // namespace edgelab::cli
