#include "cli/lab_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "checks/gather.hpp"
#include "cli/provision_commands.hpp"
#include "cli/running_lab.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "runner/runner.hpp"
#include "runner/supervisor.hpp"

namespace edgelab::cli {

using namespace edgelab::runner;
using namespace edgelab::provision;

namespace {

struct RunArgs {
    std::vector<std::string> labs;
    std::string reportDir;
    std::string workDir;
    bool keep = false;
    bool quiet = false;
    bool list = false;
    int jobs = 1;
    std::string shard;
    double diskSampleMiB = 16;
    std::optional<double> diskRateMBps;
};

[[noreturn]] void exitWith(int code) { throw CLI::RuntimeError(code); }

[[noreturn]] void badInput(const std::string& command, const std::string& message) {
    std::cerr << "edgelab " << command << ": " << message << "\n";
    exitWith(kExitBadInput);
}

RunnerOptions baseOptions(const RunArgs& a) {
    RunnerOptions o;
    o.binDir = executableDir();
    o.diskSample.maxBytes = static_cast<std::uint64_t>(a.diskSampleMiB * (1 << 20));
    o.diskRateMBps = a.diskRateMBps;
    if (const char* pause = std::getenv("EDGELAB_PAUSE_FILE"); pause && *pause)
        o.pauseFile = fs::absolute(pause);
    return o;
}

// How a real client reaches a lab left running.
void printReach(Console& console, const LabState& s) {
    std::string text = "\n" + s.lab + " is running (" + s.workDir + "/state.json).\n";
    std::string connect;
    for (const auto& c : s.connectTo) connect += " --connect-to " + c;
    text += "  curl:\n    curl --cacert " + s.caBundle + connect + " https://" +
            (s.connectTo.empty() ? std::string("HOST")
                                 : s.connectTo[0].substr(0, s.connectTo[0].find(':'))) +
            "/\n";
    text += "  hosts file (and trust " + s.caBundle + "):\n";
    for (const auto& h : s.hostsLines) text += "    " + h + "\n";
    if (s.addressPlan.proxyPort != 443 && s.proxyAddress.find(":443") == std::string::npos)
        text += "    (the proxy is on " + s.proxyAddress +
                ", not 443: run as root or with CAP_NET_BIND_SERVICE for hosts-file clients)\n";
    // The folder is named: without it `down` looks in the default one.
    text += "  stop it with: edgelab down " + s.labFile + " --work-dir " + s.workDir + "\n";
    console.block(text);
}

void printOutcome(Console& console, const LabOutcome& o, bool quiet) {
    std::string text;
    if (o.report) {
        text += report::consoleText(*o.report, report::colorWanted(1), quiet);
        if (o.expectations.met) {
            std::string ids;
            for (const auto& id : o.expectations.expectedFailures)
                ids += (ids.empty() ? "" : ", ") + id;
            text += "expectations met: " + std::to_string(o.expectations.expectedFailures.size()) +
                    " expected failure(s)" + (ids.empty() ? "" : " (" + ids + ")") + "\n";
        } else {
            text += "expectations NOT met:\n";
            for (const auto& p : o.expectations.problems()) text += "  " + p + "\n";
        }
    }
    if (!o.error.empty()) console.error("edgelab: " + o.error + "\n");
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s: exit %d in %.2f s\n", o.labName.c_str(), o.exitCode,
                  o.seconds);
    text += buf;
    console.block(text);
}

int combinedExit(const std::vector<LabOutcome>& outcomes) {
    int worst = kExitOk;
    auto rank = [](int code) {
        switch (code) {
            case kExitOk:
                return 0;
            case kExitCheckFailed:
                return 1;
            case kExitLabDown:
                return 2;
            case kExitBadInput:
                return 3;
            default:
                return 4;  // a signal
        }
    };
    for (const auto& o : outcomes) {
        if (rank(o.exitCode) > rank(worst)) worst = o.exitCode;
    }
    return worst;
}

// The labs of this run (this shard's), each read and named. In a run of
// several labs a lab that cannot be read is not run: `errors` says why (""
// for a good lab), it becomes a test in error and the run exits 2 at the end.
struct LabSelection {
    std::vector<std::string> files;
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> expectFail;
    std::vector<std::string> errors;
};

// A folder stands for the lab descriptions in it (*.json, in name order), so
// `edgelab run scenarios/labs` runs the set, and shards split the same list
// that `scenarios/labs/*.json` gives.
std::vector<std::string> expandLabFolders(const std::vector<std::string>& args,
                                          const std::string& command) {
    std::vector<std::string> files;
    for (const auto& arg : args) {
        std::error_code ec;
        if (!fs::is_directory(arg, ec)) {
            files.push_back(arg);
            continue;
        }
        std::vector<std::string> inFolder;
        for (fs::directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
            if (it->path().extension() == ".json" && it->is_regular_file(ec))
                inFolder.push_back(it->path().string());
        }
        if (ec) badInput(command, arg + ": cannot list the folder: " + ec.message());
        if (inFolder.empty())
            badInput(command, arg + ": a folder with no lab descriptions (*.json) in it");
        std::sort(inFolder.begin(), inFolder.end());
        files.insert(files.end(), inFolder.begin(), inFolder.end());
    }
    return files;
}

LabSelection selectLabs(const RunArgs& a, const std::string& command) {
    LabSelection labs;
    try {
        labs.files = selectShard(expandLabFolders(a.labs, command), a.shard);
    } catch (const std::invalid_argument& e) {
        badInput(command, e.what());
    }
    if (a.jobs < 1) badInput(command, "--jobs " + std::to_string(a.jobs) + ": expected at least 1");
    // Every lab is read before any starts: a typo in the fifth file is said
    // before the first lab takes a minute. One lab alone is refused (exit 2);
    // among several, the others still run.
    const bool many = labs.files.size() > 1;
    std::set<std::string> seen;
    for (const auto& f : labs.files) {
        std::string error;
        provision::Lab lab;
        try {
            lab = provision::loadLab(f);
        } catch (const provision::LabParseError& e) {
            if (!many) loadLabOrExit(f);  // says every error, exit 2
            error = e.what();
        }
        if (auto problems = labModeProblems(lab); error.empty() && !problems.empty()) {
            error = f + ": cannot be built on loopback";
            for (const auto& p : problems) error += "\n  " + p.str();
        }
        if (error.empty() && !seen.insert(lab.name).second)
            error = "two labs are named \"" + lab.name + "\" and would share a work folder: " + f;
        if (!error.empty() && !many) badInput(command, error);
        labs.names.push_back(error.empty() ? lab.name : fs::path(f).stem().string());
        labs.expectFail.push_back(lab.expect.fail);
        labs.errors.push_back(error);
    }
    return labs;
}

// Where the reports go is checked before anything starts: a folder that
// cannot be written would lose the verdict after every check ran.
void checkReportDir(const fs::path& dir, const std::string& command) {
    try {
        fs::create_directories(dir);
        const fs::path probe = dir / ".edgelab-write-check";
        writeFileAtomic(probe, "");
        fs::remove(probe);
    } catch (const std::exception& e) {
        badInput(command,
                 "--report-dir " + dir.string() + ": cannot write reports there: " + e.what());
    }
}

// A run of many labs: the table on the console, one JUnit document with a
// suite per lab, and summary.json.
void writeRunSummary(const std::vector<LabOutcome>& outcomes, const LabSelection& labs,
                     const fs::path& reportRoot, Console& console) {
    std::vector<report::Report> reports;
    nlohmann::json summary = {{"labs", nlohmann::json::array()}};
    std::string table = "\nlab                               result                 time\n";
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const auto& o = outcomes[i];
        if (o.report) {
            reports.push_back(junitView(*o.report, labs.expectFail[i]));
        } else {
            // No checks ran: one test in error says why, so CI sees the lab.
            report::Report failed;
            failed.labName = o.labName.empty() ? labs.names[i] : o.labName;
            failed.started = std::chrono::system_clock::now();
            failed.seconds = o.seconds;
            failed.error = o.error.empty() ? "exit " + std::to_string(o.exitCode) : o.error;
            reports.push_back(std::move(failed));
        }
        std::string result = o.exitCode == 0   ? "expectations met"
                             : o.exitCode == 1 ? "expectations NOT met"
                             : o.exitCode == 2 ? "bad input"
                             : o.exitCode == 3 ? "not brought up"
                                               : "interrupted";
        char line[160];
        std::snprintf(line, sizeof line, "%-33s %-22s %6.2f s\n", o.labName.c_str(), result.c_str(),
                      o.seconds);
        table += line;
        summary["labs"].push_back({{"lab", o.labName},
                                   {"labFile", o.labFile.string()},
                                   {"exitCode", o.exitCode},
                                   {"result", result},
                                   {"seconds", o.seconds},
                                   {"problems", o.expectations.problems()},
                                   {"error", o.error},
                                   {"reportDir", o.reportDir.string()}});
    }
    fs::create_directories(reportRoot);
    report::writeJUnit(reportRoot / "report.xml", reports);
    writeFileAtomic(reportRoot / "summary.json", summary.dump(2) + "\n");
    table +=
        "reports: " + fs::absolute(reportRoot).string() + "/report.xml, summary.json, <lab>/\n";
    console.block(table);
}

void runCommand(const RunArgs& a, Mode mode) {
    const std::string command = mode == Mode::Up ? "up" : "run";
    const LabSelection labs = selectLabs(a, command);
    const auto& files = labs.files;
    const auto& names = labs.names;
    if (a.list) {
        // What this shard would run, read and checked, nothing started: a CI
        // matrix can be checked against the whole set without running it.
        for (const auto& f : files) std::cout << f << "\n";
        return;
    }
    const bool many = files.size() > 1;
    if (many && mode == Mode::Up) badInput(command, "one lab at a time");
    const fs::path reportRoot =
        a.reportDir.empty() ? fs::path(".edgelab") / "report" : fs::path(a.reportDir);
    if (!a.reportDir.empty() || many || files.empty()) checkReportDir(reportRoot, command);
    Console console(std::cout);
    if (files.empty()) {
        // CI's junit artifact must exist even for a shard with nothing to run.
        std::cout << "shard " << a.shard << ": no labs\n";
        writeRunSummary({}, labs, reportRoot, console);
        return;
    }

    Interrupt::install();
    console.tagged(many && a.jobs > 1);
    std::vector<LabOutcome> outcomes(files.size());

    auto runOne = [&](std::size_t i) {
        RunnerOptions o = baseOptions(a);
        if (many) {
            o.workDir =
                a.workDir.empty() ? defaultWorkDir(names[i]) : fs::path(a.workDir) / names[i];
            o.reportDir = reportRoot / names[i];
            // One root and issuing CA for every lab of the run, beside their
            // folders ('@' is not in any lab's name): made once, not per lab.
            o.runCaDir =
                (a.workDir.empty() ? fs::path(".edgelab") : fs::path(a.workDir)) / "@run-ca";
        } else {
            o.workDir = a.workDir;
            o.reportDir = a.reportDir;
        }
        outcomes[i] = runLab(files[i], mode, o, console);
        printOutcome(console, outcomes[i], a.quiet);
        if (outcomes[i].state) printReach(console, *outcomes[i].state);
    };

    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i; (i = next++) < files.size();) {
            if (!labs.errors[i].empty()) {
                outcomes[i].labName = names[i];
                outcomes[i].labFile = files[i];
                outcomes[i].exitCode = kExitBadInput;
                outcomes[i].error = labs.errors[i];
                printOutcome(console, outcomes[i], a.quiet);
                continue;
            }
            if (Interrupt::signal()) {
                outcomes[i].labName = names[i];
                outcomes[i].exitCode = 128 + Interrupt::signal();
                outcomes[i].error = "not started: interrupted";
                continue;
            }
            runOne(i);
        }
    };
    std::vector<std::thread> pool;
    for (int j = 1; j < std::min<int>(a.jobs, static_cast<int>(files.size())); ++j)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();

    if (many) writeRunSummary(outcomes, labs, reportRoot, console);
    int code = combinedExit(outcomes);
    if (code != 0) exitWith(code);
}

// The running lab's folder, found from any directory (cli/running_lab.hpp):
// --work-dir alone needs no lab file. A lab that is not up is said with
// every place looked in, exit 3.
fs::path workDirFor(const std::string& labFile, const std::string& workDir,
                    const std::string& command) {
    if (labFile.empty() && workDir.empty())
        badInput(command, "give the lab file (LAB.json) or the lab's folder (--work-dir DIR)");
    const std::string name = labFile.empty() ? std::string() : loadLabOrExit(labFile).name;
    const LabLocation where = locateLab(labFile, name, workDir);
    if (!where.alsoRunning.empty())
        badInput(command, "lab " + name + " is up in more than one folder (" +
                              where.workDir->string() + ", " + where.alsoRunning.front().string() +
                              "); name one with --work-dir");
    if (where.workDir) return *where.workDir;
    std::cerr << "edgelab " << command << ": " << (name.empty() ? "no lab" : "lab " + name)
              << " is not up: " << whereLooked(where) << "\n";
    exitWith(kExitLabDown);
}

// Alive (its pid runs its program) and answering a TLS handshake.
struct Health {
    bool alive = false;
    bool tls = false;
    std::string detail;
};

Health healthOf(const ProcessRecord& p) {
    Health h;
    h.alive = pidRuns(p.pid, p.exe);
    if (!h.alive) {
        h.detail = "not running";
        return h;
    }
    auto hs = handshakeOnce(p.address, p.sni.empty() ? std::nullopt : std::optional(p.sni),
                            std::chrono::milliseconds(2000));
    h.tls = hs.outcome == checks::HandshakeOutcome::Ok;
    h.detail = h.tls ? hs.protocol : checks::to_string(hs.outcome) + " " + hs.detail;
    return h;
}

// The lab's state.json, or none when the lab is not up; a torn or foreign
// file is bad input for `command`.
std::optional<LabState> readStateOrExit(const fs::path& work, const std::string& command) {
    try {
        return readState(work);
    } catch (const std::exception& e) {
        badInput(command, e.what());
    }
}

void statusCommand(const std::string& labFile, const std::string& workDir,
                   const std::string& format) {
    if (labFile.empty() && workDir.empty())
        badInput("status", "give the lab file (LAB.json) or the lab's folder (--work-dir DIR)");
    const std::string name = labFile.empty() ? std::string() : loadLabOrExit(labFile).name;
    const LabLocation where = locateLab(labFile, name, workDir);
    const std::optional<LabState> state =
        where.workDir ? readStateOrExit(*where.workDir, "status") : std::nullopt;
    if (!state) {
        std::vector<std::string> looked;
        for (const auto& l : where.looked) looked.push_back(l.string());
        if (format == "json")
            std::cout << nlohmann::json{{"up", false}, {"looked", looked}}.dump(2) << "\n";
        else
            std::cout << "not up: " << whereLooked(where) << "\n";
        exitWith(kExitLabDown);
    }
    bool healthy = true;
    nlohmann::json procs = nlohmann::json::array();
    std::string text = state->lab + " (started " + state->startedAt + ", " + state->workDir + ")\n";
    for (const auto& p : state->processes) {
        Health h = healthOf(p);
        healthy = healthy && h.alive && h.tls;
        procs.push_back({{"name", p.name},
                         {"pid", p.pid},
                         {"address", p.address},
                         {"log", p.log},
                         {"alive", h.alive},
                         {"tls", h.tls},
                         {"healthy", h.alive && h.tls},
                         {"detail", h.detail}});
        char line[256];
        std::snprintf(line, sizeof line, "  %-16s pid %-7d %-22s %s (%s)\n", p.name.c_str(), p.pid,
                      p.address.c_str(), h.alive && h.tls ? "healthy" : "UNHEALTHY",
                      h.detail.c_str());
        text += line;
    }
    nlohmann::json names = nlohmann::json::object();
    text += "  public names (external view):\n";
    for (const auto& c : state->connectTo) {
        auto first = c.find(':');
        auto second = c.find(':', first + 1);
        names[c.substr(0, first)] = c.substr(second + 1);
        text += "    " + c.substr(0, first) + " -> " + c.substr(second + 1) + "\n";
    }
    text +=
        "  lab CA:        " + state->caBundle + "\n  binding store: " + state->bindingStore + "\n";
    if (format == "json") {
        std::cout << nlohmann::json{{"up", true},
                                    {"healthy", healthy},
                                    {"lab", state->lab},
                                    {"workDir", state->workDir},
                                    {"names", names},
                                    {"connectTo", state->connectTo},
                                    {"caBundle", state->caBundle},
                                    {"bindingStore", state->bindingStore},
                                    {"processes", procs}}
                         .dump(2)
                  << "\n";
    } else {
        std::cout << text;
    }
    if (!healthy) exitWith(kExitLabDown);
}

void downCommand(const std::string& labFile, const std::string& workDir) {
    const fs::path work = workDirFor(labFile, workDir, "down");
    const std::optional<LabState> state = readStateOrExit(work, "down");
    if (!state) {
        std::cerr << "edgelab down: not up: no " << stateFile(work).string() << "\n";
        exitWith(kExitLabDown);
    }
    int stopped = 0;
    bool allGone = true;
    for (const auto& p : aliveProcesses(*state)) {
        bool gone = stopPid(p.pid);
        stopped += gone;
        allGone = allGone && gone;
        std::cout << "  " << p.name << " (pid " << p.pid << ") "
                  << (gone ? "stopped" : "STILL RUNNING") << "\n";
    }
    if (!allGone) {
        std::cerr << "edgelab down: some processes did not stop; state kept in "
                  << stateFile(work).string() << "\n";
        exitWith(kExitLabDown);
    }
    fs::remove(stateFile(work));
    unregisterRunningLab(*state);
    std::cout << state->lab << " is down: " << stopped << " processes stopped; " << state->workDir
              << " kept (PKI, logs, reports)\n";
}

}  // namespace

std::vector<std::string> selectShard(std::vector<std::string> labFiles, const std::string& shard) {
    std::sort(labFiles.begin(), labFiles.end(), [](const std::string& a, const std::string& b) {
        auto fa = fs::path(a).filename().string(), fb = fs::path(b).filename().string();
        return fa != fb ? fa < fb : a < b;
    });
    if (shard.empty()) return labFiles;
    unsigned i = 0, n = 0;
    char tail = 0;
    if (std::sscanf(shard.c_str(), "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i == 0 || i > n)
        throw std::invalid_argument("--shard " + shard + ": expected I/N with 1 <= I <= N");
    std::vector<std::string> mine;
    for (std::size_t k = 0; k < labFiles.size(); ++k) {
        if (k % n == i - 1) mine.push_back(labFiles[k]);
    }
    return mine;
}

void addStatusDownCommands(CLI::App& app);

void addRunCommands(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    auto* run = app.add_subcommand(
        "run",
        "Provision each lab, start its backends and the proxy, set the default binding, run the "
        "checks, write the reports and stop everything. Exit 0 when every lab's outcome matches "
        "its expectations (expect.fail), 1 when not, 2 bad input, 3 a lab could not be brought "
        "up.");
    run->add_option("labs", args->labs, "Lab descriptions (JSON files, or folders of them)")
        ->required();
    run->add_option("--report-dir", args->reportDir,
                    "Where report.json, report.xml (JUnit) and report.html go (default "
                    "WORKDIR/report; for several labs .edgelab/report, a folder per lab and one "
                    "combined report.xml)");
    run->add_option("--work-dir", args->workDir,
                    "The lab's folder (default .edgelab/<lab name>; for several labs a folder "
                    "per lab under it)");
    run->add_flag(
        "--keep", args->keep,
        "Leave the lab running and print how to reach it (curl --connect-to, hosts lines)");
    run->add_flag("--quiet,-q", args->quiet,
                  "Per lab only the failures (with their remedies) and the summary");
    // Checked in runCommand, where the refusal names the value.
    run->add_option("--jobs", args->jobs, "Labs run at the same time, each on its own addresses");
    run->add_option(
        "--shard", args->shard,
        "I/N: only the labs at positions I-1, I-1+N, ... in file-name order (CI matrix)");
    run->add_flag("--list", args->list,
                  "Print the lab files this run (this shard) would run, one a line, after reading "
                  "each; start nothing");
    run->add_option("--disk-sample-mib", args->diskSampleMiB,
                    "Write-through sample on the data disk image, MiB (bounded to 0.5 s)")
        ->check(CLI::PositiveNumber);
    run->add_option("--disk-rate-mbps", args->diskRateMBps,
                    "Model the data disk at this write-through rate (MB/s) instead of measuring "
                    "it: a verdict that does not depend on this machine's load")
        ->check(CLI::PositiveNumber);
    run->callback([args] { runCommand(*args, args->keep ? Mode::RunKeep : Mode::Run); });

    auto upArgs = std::make_shared<RunArgs>();
    auto* up = app.add_subcommand(
        "up",
        "Bring a lab up (steps 1-5 of run) and leave it running, with WORKDIR/state.json. A lab "
        "that is already up is refused (exit 2).");
    up->add_option("lab", upArgs->labs, "Lab description (JSON)")->required()->expected(1);
    up->add_option("--work-dir", upArgs->workDir, "The lab's folder (default .edgelab/<lab name>)");
    up->add_option("--disk-sample-mib", upArgs->diskSampleMiB, "Write-through sample, MiB")
        ->check(CLI::PositiveNumber);
    up->add_option("--disk-rate-mbps", upArgs->diskRateMBps,
                   "Model the data disk at this rate (MB/s) instead of measuring it")
        ->check(CLI::PositiveNumber);
    up->callback([upArgs] { runCommand(*upArgs, Mode::Up); });
    addStatusDownCommands(app);
}

// `status` and `down`: a lab left running, found from any directory.
void addStatusDownCommands(CLI::App& app) {
    auto statusLab = std::make_shared<std::string>();
    auto statusWork = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("console");
    auto* status = app.add_subcommand(
        "status",
        "What a lab from `edgelab up` runs, where, and whether each process is healthy (alive "
        "and answering a TLS handshake). Exit 0 healthy, 3 not up or unhealthy.");
    status->add_option("lab", *statusLab,
                       "Lab description (JSON); the running lab is found from any directory");
    status->add_option("--work-dir", *statusWork,
                       "The lab's folder (default: where `up` left it; then no lab file is "
                       "needed)");
    status->add_option("--format", *format, "console or json")
        ->check(CLI::IsMember({"console", "json"}));
    status->callback([=] { statusCommand(*statusLab, *statusWork, *format); });

    auto downLab = std::make_shared<std::string>();
    auto downWork = std::make_shared<std::string>();
    auto* down = app.add_subcommand(
        "down",
        "Stop a lab from `edgelab up` and remove its state file; the PKI, logs and "
        "reports stay. Exit 0 stopped, 3 not up (the message says where it looked) or a "
        "process did not stop.");
    down->add_option("lab", *downLab,
                     "Lab description (JSON); the running lab is found from any directory");
    down->add_option("--work-dir", *downWork,
                     "The lab's folder (default: where `up` left it; then no lab file is "
                     "needed)");
    down->callback([=] { downCommand(*downLab, *downWork); });
}

}  // namespace edgelab::cli
