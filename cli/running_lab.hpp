// Finding a running lab from any directory (its lab file, the registry of
// running labs, or --work-dir), and making a binding store change be in
// force in the proxy that serves it before a command returns.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/lab_state.hpp"

namespace edgelab::cli {

// Where a running lab's state.json is: --work-dir as given, else the first
// of runner::findLabState's places that holds one. A lab that is not up is
// nullopt, with every place looked in, for the message.
struct LabLocation {
    std::optional<std::filesystem::path> workDir;
    std::vector<std::filesystem::path> looked;
    std::vector<std::filesystem::path> alsoRunning;  // the lab is up in these folders too
};
LabLocation locateLab(const std::string& labFile, const std::string& labName,
                      const std::string& workDir);

// "no state.json in A, B or C" for a lab that is not up.
std::string whereLooked(const LabLocation&);

// The running lab whose proxy serves this binding store, if any.
std::optional<runner::LabState> labServingStore(const std::filesystem::path& store);

// SIGHUP to the lab's proxy, then wait (up to `deadline`) for its
// binding-store-loaded line: the store as written is then in force for
// every new handshake. Returns what the proxy said, or throws
// std::runtime_error saying why it could not be confirmed.
std::string reloadAndConfirm(const runner::LabState&,
                             std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace edgelab::cli
