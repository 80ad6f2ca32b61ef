#include "runner/lab_state.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/json_reader.hpp"
#include "common/json_text.hpp"
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
                {"proxyWorkers", s.proxyWorkers},
                {"addressPlan", plan},
                {"internalDns", s.internalDns},
                {"processes", procs},
                {"hostsLines", s.hostsLines}};
    return doc.dump(2) + "\n";
}

namespace {

std::uint16_t readPort(JsonObjectReader& r, std::string_view key) {
    return static_cast<std::uint16_t>(r.integer(key, 0, 65535).value_or(0));
}

// The map of internal names to "ADDR:PORT".
std::map<std::string, std::string> readStringMap(JsonObjectReader& r, std::string_view key) {
    std::map<std::string, std::string> out;
    const json* v = r.object(key);
    if (!v) return out;
    JsonObjectReader entries(*v, r.at(key), r.errors());
    for (const auto& item : v->items())
        if (auto value = entries.string(item.key())) out[item.key()] = *value;
    return out;
}

AddressPlan readAddressPlan(JsonObjectReader& root) {
    AddressPlan plan;
    const json* v = root.object("addressPlan");
    if (!v) return plan;
    JsonObjectReader r(*v, root.at("addressPlan"), root.errors());
    plan.subnet = r.string("subnet").value_or("");
    plan.proxyAddress = r.string("proxyAddress").value_or("");
    plan.proxyPort = readPort(r, "proxyPort");
    const json* backends = r.array("backends");
    for (std::size_t i = 0; backends && i < backends->size(); ++i) {
        const std::string at = r.at("backends") + "/" + std::to_string(i);
        if (!isJsonObject((*backends)[i], at, r.errors())) continue;
        JsonObjectReader b((*backends)[i], at, r.errors());
        plan.backends.push_back({b.string("name").value_or(""), b.string("address").value_or(""),
                                 readPort(b, "labPort"), readPort(b, "listenPort"),
                                 b.strings("names")});
        b.finish();
    }
    r.finish();
    return plan;
}

std::vector<ProcessRecord> readProcesses(JsonObjectReader& root) {
    std::vector<ProcessRecord> out;
    const json* v = root.array("processes", true);
    for (std::size_t i = 0; v && i < v->size(); ++i) {
        const std::string at = root.at("processes") + "/" + std::to_string(i);
        if (!isJsonObject((*v)[i], at, root.errors())) continue;
        JsonObjectReader p((*v)[i], at, root.errors());
        out.push_back({p.string("name", true).value_or(""),
                       p.integer("pid", 0, std::numeric_limits<int>::max(), true).value_or(0),
                       p.string("address").value_or(""), p.string("exe").value_or(""),
                       p.string("log").value_or(""), p.string("sni").value_or("")});
        p.finish();
    }
    return out;
}

}  // namespace

// Every key a state file has carried since the first version is read here;
// a key an older version wrote and this one no longer reads would be
// accepted with JsonObjectReader::accept (none so far).
LabState parseState(const std::string& text, const std::string& source) {
    const std::string where = source + ": not a lab state file";
    auto parsed = readJsonText(text);
    if (!parsed) throw LabStateError(where + ": " + parsed.error());
    std::vector<JsonError> errors;
    LabState s;
    if (isJsonObject(*parsed, "", errors)) {
        JsonObjectReader r(*parsed, "", errors);
        s.lab = r.string("lab", true).value_or("");
        s.labFile = r.string("labFile").value_or("");
        s.workDir = r.string("workDir").value_or("");
        s.startedAt = r.string("startedAt").value_or("");
        if (!r.get("connectTo")) r.error("connectTo", "required, expected an array of strings");
        s.connectTo = r.strings("connectTo");
        s.caBundle = r.string("caBundle", true).value_or("");
        s.bindingStore = r.string("bindingStore", true).value_or("");
        s.proxyConfig = r.string("proxyConfig").value_or("");
        s.proxyAddress = r.string("proxyAddress").value_or("");
        s.proxyWorkers = static_cast<int>(r.integer("proxyWorkers", 0, 1024).value_or(0));
        s.addressPlan = readAddressPlan(r);
        s.internalDns = readStringMap(r, "internalDns");
        s.processes = readProcesses(r);
        s.hostsLines = r.strings("hostsLines");
        r.finish();
    }
    if (!errors.empty()) throw LabStateError(describeJsonErrors(where, errors));
    return s;
}

std::filesystem::path stateFile(const std::filesystem::path& workDir) {
    return workDir / "state.json";
}

void writeState(const std::filesystem::path& workDir, const LabState& s) {
    // It names processes a power cut ends: atomic, never torn, and not
    // synced (common/atomic_file.hpp, Durability).
    writeFileAtomic(stateFile(workDir), stateJson(s), kPublicFile, Durability::ProcessLifetime);
}

std::optional<LabState> readState(const std::filesystem::path& workDir) {
    auto file = stateFile(workDir);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::nullopt;
    const std::string text = readFile(file);
    // What a power cut can leave of a state file written without sync
    // (writeState): an empty file. It names no process, as none would.
    if (text.empty()) return std::nullopt;
    return parseState(text, file.string());
}

std::vector<ProcessRecord> aliveProcesses(const LabState& s) {
    std::vector<ProcessRecord> alive;
    for (const auto& p : s.processes) {
        if (pidRuns(p.pid, p.exe)) alive.push_back(p);
    }
    return alive;
}

namespace {

namespace fs = std::filesystem;

fs::path canonicalOrAbsolute(const fs::path& p) {
    std::error_code ec;
    auto c = fs::weakly_canonical(fs::absolute(p), ec);
    return ec ? fs::absolute(p) : c;
}

// FNV-1a, written out: the entry's name must not change between builds.
std::string entryName(const std::string& labFile, const std::string& workDir) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : labFile + "\n" + workDir) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx.json", static_cast<unsigned long long>(h));
    return buf;
}

// The folder, made owner-only when missing; a folder someone else owns is
// not used (another user could plant entries in a shared /tmp).
std::optional<fs::path> usableRegistry(bool create) {
    fs::path dir = registryDir();
    std::error_code ec;
    if (create) {
        fs::create_directories(dir, ec);
        ::chmod(dir.c_str(), 0700);
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid())
        return std::nullopt;
    return dir;
}

}  // namespace

fs::path registryDir() {
    if (const char* d = std::getenv("EDGELAB_RUNTIME_DIR"); d && *d) return fs::path(d);
    if (const char* d = std::getenv("XDG_RUNTIME_DIR"); d && *d) return fs::path(d) / "edgelab";
    return fs::path("/tmp") / ("edgelab-" + std::to_string(::getuid()));
}

void registerRunningLab(const LabState& s) {
    auto dir = usableRegistry(true);
    if (!dir || s.labFile.empty() || s.workDir.empty()) return;
    const std::string lab = canonicalOrAbsolute(s.labFile).string();
    const std::string work = canonicalOrAbsolute(s.workDir).string();
    try {
        writeFileAtomic(
            *dir / entryName(lab, work), json{{"labFile", lab}, {"workDir", work}}.dump(2) + "\n",
            fs::perms::owner_read | fs::perms::owner_write, Durability::ProcessLifetime);
    } catch (const std::exception&) {
        // Best effort: the lab runs, only the lookup from elsewhere is lost.
    }
}

void unregisterRunningLab(const LabState& s) {
    auto dir = usableRegistry(false);
    if (!dir) return;
    std::error_code ec;
    fs::remove(*dir / entryName(canonicalOrAbsolute(s.labFile).string(),
                                canonicalOrAbsolute(s.workDir).string()),
               ec);
}

std::vector<fs::path> registeredWorkDirs(const fs::path& labFile) {
    std::vector<fs::path> out;
    auto dir = usableRegistry(false);
    if (!dir) return out;
    const std::string lab = labFile.empty() ? "" : canonicalOrAbsolute(labFile).string();
    std::error_code ec;
    for (fs::directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() != ".json") continue;
        try {
            json e = json::parse(readFile(it->path()));
            if (!lab.empty() && e.value("labFile", "") != lab) continue;
            fs::path work = e.value("workDir", "");
            std::error_code exists;
            if (!work.empty() && fs::exists(stateFile(work), exists)) out.push_back(work);
        } catch (const std::exception&) {
            continue;  // torn or foreign: not an entry
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

StateSearch findLabState(const fs::path& labFile, const std::string& labName) {
    StateSearch s;
    std::error_code ec;
    auto look = [&](const fs::path& work) {
        if (std::find(s.looked.begin(), s.looked.end(), work) == s.looked.end())
            s.looked.push_back(work);
        if (!s.found && fs::exists(stateFile(work), ec)) s.found = work;
    };
    look(fs::absolute(fs::path(".edgelab") / labName));
    auto registered = registeredWorkDirs(labFile);
    if (registered.empty()) s.looked.push_back(registryDir());
    if (!s.found && registered.size() > 1)
        s.alsoRegistered.assign(registered.begin() + 1, registered.end());
    for (const auto& w : registered) look(w);
    look(canonicalOrAbsolute(labFile).parent_path() / ".edgelab" / labName);
    return s;
}

}  // namespace edgelab::runner
