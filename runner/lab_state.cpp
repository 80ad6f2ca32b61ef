#include "runner/lab_state.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "runner/supervisor.hpp"

namespace edgelab::runner {

using nlohmann::json;

std::string stateJson(const LabState& s) {
    json plan = {{"subnet", s.addressPlan.subnet},
                 {"proxyAddress", s.addressPlan.proxyAddress},
                 {"proxyPort", s.addressPlan.proxyPort},
                 {"backends", json::array()}};
    for (const auto& b : s.addressPlan.backends) {
        plan["backends"].push_back({{"name", b.name},
                                    {"address", b.address},
                                    {"labPort", b.labPort},
                                    {"listenPort", b.listenPort},
                                    {"names", b.names}});
    }
    json procs = json::array();
    for (const auto& p : s.processes) {
        procs.push_back({{"name", p.name},
                         {"pid", p.pid},
                         {"address", p.address},
                         {"exe", p.exe},
                         {"log", p.log},
                         {"sni", p.sni}});
    }
    json doc = {{"lab", s.lab},
                {"labFile", s.labFile},
                {"workDir", s.workDir},
                {"startedAt", s.startedAt},
                {"connectTo", s.connectTo},
                {"caBundle", s.caBundle},
                {"bindingStore", s.bindingStore},
                {"proxyConfig", s.proxyConfig},
                {"proxyAddress", s.proxyAddress},
                {"addressPlan", plan},
                {"internalDns", s.internalDns},
                {"processes", procs},
                {"hostsLines", s.hostsLines}};
    return doc.dump(2) + "\n";
}

LabState parseState(const std::string& text, const std::string& source) {
    try {
        json d = json::parse(text);
        LabState s;
        s.lab = d.at("lab").get<std::string>();
        s.labFile = d.value("labFile", "");
        s.workDir = d.value("workDir", "");
        s.startedAt = d.value("startedAt", "");
        s.connectTo = d.at("connectTo").get<std::vector<std::string>>();
        s.caBundle = d.at("caBundle").get<std::string>();
        s.bindingStore = d.at("bindingStore").get<std::string>();
        s.proxyConfig = d.value("proxyConfig", "");
        s.proxyAddress = d.value("proxyAddress", "");
        if (d.contains("addressPlan")) {
            const auto& p = d["addressPlan"];
            s.addressPlan.subnet = p.value("subnet", "");
            s.addressPlan.proxyAddress = p.value("proxyAddress", "");
            s.addressPlan.proxyPort = p.value("proxyPort", 0);
            for (const auto& b : p.value("backends", json::array())) {
                s.addressPlan.backends.push_back(
                    {b.value("name", ""), b.value("address", ""),
                     static_cast<std::uint16_t>(b.value("labPort", 0)),
                     static_cast<std::uint16_t>(b.value("listenPort", 0)),
                     b.value("names", std::vector<std::string>{})});
            }
        }
        s.internalDns = d.value("internalDns", std::map<std::string, std::string>{});
        for (const auto& p : d.at("processes")) {
            s.processes.push_back({p.at("name").get<std::string>(), p.at("pid").get<int>(),
                                   p.value("address", ""), p.value("exe", ""), p.value("log", ""),
                                   p.value("sni", "")});
        }
        s.hostsLines = d.value("hostsLines", std::vector<std::string>{});
        return s;
    } catch (const json::exception& e) {
        throw std::runtime_error(source + ": not a lab state file: " + e.what());
    }
}

std::filesystem::path stateFile(const std::filesystem::path& workDir) {
    return workDir / "state.json";
}

void writeState(const std::filesystem::path& workDir, const LabState& s) {
    writeFileAtomic(stateFile(workDir), stateJson(s));
}

std::optional<LabState> readState(const std::filesystem::path& workDir) {
    auto file = stateFile(workDir);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::nullopt;
    return parseState(readFile(file), file.string());
}

std::vector<ProcessRecord> aliveProcesses(const LabState& s) {
    std::vector<ProcessRecord> alive;
    for (const auto& p : s.processes) {
        if (pidRuns(p.pid, p.exe)) alive.push_back(p);
    }
    return alive;
}

}  // namespace edgelab::runner
