#include "cli/running_lab.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "runner/supervisor.hpp"

namespace edgelab::cli {

namespace fs = std::filesystem;

namespace {

fs::path canonicalPath(const fs::path& p) {
    std::error_code ec;
    auto c = fs::weakly_canonical(fs::absolute(p), ec);
    return ec ? fs::absolute(p) : c;
}

std::uintmax_t sizeOf(const fs::path& file) {
    std::error_code ec;
    auto n = fs::file_size(file, ec);
    return ec ? 0 : n;
}

// The first binding-store line the proxy wrote after `offset` for a SIGHUP.
std::optional<nlohmann::json> reloadLine(const fs::path& log, std::uintmax_t offset) {
    std::ifstream in(log, std::ios::binary);
    if (!in) return std::nullopt;
    in.seekg(static_cast<std::streamoff>(offset));
    for (std::string line; std::getline(in, line);) {
        auto brace = line.find('{');
        if (brace == std::string::npos) continue;
        auto event = nlohmann::json::parse(line.substr(brace), nullptr, false);
        if (event.is_discarded() || !event.is_object()) continue;
        const std::string name = event.value("event", "");
        if ((name == "binding-store-loaded" || name == "binding-store-refused") &&
            event.value("trigger", "") == "SIGHUP")
            return event;
    }
    return std::nullopt;
}

}  // namespace

LabLocation locateLab(const std::string& labFile, const std::string& labName,
                      const std::string& workDir) {
    LabLocation l;
    if (!workDir.empty()) {
        l.looked.push_back(fs::absolute(workDir));
        if (fs::exists(runner::stateFile(workDir))) l.workDir = fs::absolute(workDir);
        return l;
    }
    auto search = runner::findLabState(labFile, labName);
    l.workDir = search.found;
    l.looked = search.looked;
    l.alsoRunning = search.alsoRegistered;
    return l;
}

std::string whereLooked(const LabLocation& l) {
    std::string text = "no state.json in ";
    for (std::size_t i = 0; i < l.looked.size(); ++i) {
        if (i) text += i + 1 == l.looked.size() ? " or " : ", ";
        text += l.looked[i].string();
        if (l.looked[i] == runner::registryDir()) text += " (the registry of running labs)";
    }
    return text;
}

std::optional<runner::LabState> labServingStore(const fs::path& store) {
    const fs::path wanted = canonicalPath(store);
    std::vector<fs::path> candidates = runner::registeredWorkDirs({});
    // A lab started before the registry existed: its folder holds the store.
    candidates.push_back(wanted.parent_path().parent_path());
    for (const auto& work : candidates) {
        std::optional<runner::LabState> s;
        try {
            s = runner::readState(work);
        } catch (const std::exception&) {
            continue;
        }
        if (!s || canonicalPath(s->bindingStore) != wanted) continue;
        if (!runner::aliveProcesses(*s).empty()) return s;
    }
    return std::nullopt;
}

std::string reloadAndConfirm(const runner::LabState& s, std::chrono::milliseconds deadline) {
    const runner::ProcessRecord* proxy = nullptr;
    for (const auto& p : s.processes)
        if (p.name == "proxy") proxy = &p;
    if (!proxy || !runner::pidRuns(proxy->pid, proxy->exe))
        throw std::runtime_error("lab " + s.lab + " has no running proxy (" + s.workDir + ")");
    const std::uintmax_t offset = sizeOf(proxy->log);
    if (::kill(proxy->pid, SIGHUP) != 0)
        throw std::runtime_error("cannot signal the proxy of lab " + s.lab + " (pid " +
                                 std::to_string(proxy->pid) + ")");
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        if (auto line = reloadLine(proxy->log, offset)) {
            if (line->value("event", "") == "binding-store-refused")
                throw std::runtime_error("the proxy of lab " + s.lab + " refused the store: " +
                                         line->value("reason", std::string("?")));
            return "in force: the proxy of lab " + s.lab + " (pid " + std::to_string(proxy->pid) +
                   ") loaded the store, " + std::to_string(line->value("bindings", 0)) +
                   " bindings";
        }
        if (!runner::pidRuns(proxy->pid, proxy->exe))
            throw std::runtime_error("the proxy of lab " + s.lab + " stopped (see " + proxy->log +
                                     ")");
        if (std::chrono::steady_clock::now() >= until)
            throw std::runtime_error("the proxy of lab " + s.lab + " did not say it loaded the " +
                                     "store within " + std::to_string(deadline.count()) +
                                     " ms (see " + proxy->log + ")");
        // The proxy answers a SIGHUP in well under a millisecond when idle.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace edgelab::cli
