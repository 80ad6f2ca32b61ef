// One mapping from the exception that ended a program to its exit code, for
// every program's main (edgelab, edgelab-proxy; CONTRIBUTING.md, One error
// policy). A typed error of bad input at a boundary is 2; anything else is
// 3: a ListenError, a file system or OpenSSL failure, and an exception of
// no type the boundaries know (a bug, out of memory) alike. Never 2 for
// those: 2 tells the user to mend the input, and the input was read and
// accepted; the program could not bring up or reach what it was asked to.
#pragma once

#include <exception>
#include <iostream>
#include <string_view>

#include "common/exit_code.hpp"
#include "provision/lab.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/config.hpp"
#include "runner/lab_state.hpp"

namespace edgelab::cli {

inline ExitCode exitCodeFor(const std::exception& e) {
    const bool badInput = dynamic_cast<const provision::LabParseError*>(&e) ||
                          dynamic_cast<const proxy::ConfigError*>(&e) ||
                          dynamic_cast<const proxy::BindingStoreError*>(&e) ||
                          dynamic_cast<const runner::LabStateError*>(&e);
    return badInput ? kExitBadInput : kExitLabDown;
}

// Says what ended `program` on stderr and gives its exit code.
inline int exitOn(std::string_view program, const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return exitCodeFor(e);
}

}  // namespace edgelab::cli
