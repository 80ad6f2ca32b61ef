#include "cli/check_command.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checks/gather.hpp"
#include "checks/run_checks.hpp"
#include "cli/diff_command.hpp"
#include "cli/provision_commands.hpp"
#include "cli/report_options.hpp"
#include "cli/running_lab.hpp"
#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "report/report.hpp"
#include "runner/supervisor.hpp"

namespace edgelab::cli {

using namespace edgelab::checks;
using namespace edgelab::provision;

namespace fs = std::filesystem;

namespace {

struct CheckArgs : TargetArgs {
    report::ReportFiles reports;
    std::string baseline;  // a JSON report: exit 1 only on checks newly failing since it
    std::string format = "console";
    bool quiet = false;
};

[[noreturn]] void badInput(const std::string& message, const std::string& format) {
    refuseInput("edgelab check", message, format);
}

// A running lab's state file (written by `edgelab up`) says where its proxy
// listens and which root it trusts.
void applyLabState(const fs::path& stateFile, const provision::Lab& lab, Target& target,
                   const std::string& format, const std::string& command) {
    nlohmann::json state;
    try {
        state = nlohmann::json::parse(readFile(stateFile));
    } catch (const std::exception& e) {
        refuseInput(command, stateFile.string() + ": " + e.what(), format);
    }
    if (!state.contains("connectTo") || !state["connectTo"].is_array())
        refuseInput(command,
                    stateFile.string() + ": /connectTo: expected an array of HOST:PORT:ADDR:PORT",
                    format);
    for (auto& c : state["connectTo"]) {
        if (!c.is_string())
            refuseInput(command, stateFile.string() + ": /connectTo: expected strings", format);
        target.connectTo.push_back(c.get<std::string>());
    }
    if (!target.caFile && state.contains("caBundle") && state["caBundle"].is_string())
        target.caFile = state["caBundle"].get<std::string>();
    if (state.contains("proxyWorkers") && state["proxyWorkers"].is_number_integer())
        target.proxyWorkers = std::max(0, state["proxyWorkers"].get<int>());
    // Backend processes named as the lab's backends: their addresses allow
    // the backend checks (lab mode), and one the supervisor's record shows
    // not running is its backend.up root cause.
    if (state.contains("processes") && state["processes"].is_array())
        for (auto& p : state["processes"]) {
            if (!p.is_object() || !p.contains("name") || !p.contains("address")) continue;
            if (!p["name"].is_string() || !p["address"].is_string()) continue;
            std::string name = p["name"].get<std::string>();
            if (name.rfind("backend-", 0) == 0) name = name.substr(8);
            for (auto& b : lab.backends) {
                if (b.name != name) continue;
                target.backendAddresses[b.name] = p["address"].get<std::string>();
                const int pid = p.value("pid", 0);
                if (!runner::pidRuns(pid, p.value("exe", std::string())))
                    target.backendsDown[b.name] =
                        "its process (pid " + std::to_string(pid) +
                        ") is not running; its log: " + p.value("log", std::string("?"));
            }
        }
}

// The test user: --user with --password-file, or --user alone naming one of
// the lab's users, or (lab mode, a running lab's state) the lab's first user. The password is read
// from a file only: never from the command line, where `ps` would show it.
std::optional<SignInCredentials> signInUser(const TargetArgs& a, const provision::Lab& lab,
                                            bool labMode, const std::string& format,
                                            const std::string& command) {
    if (a.user.empty()) {
        if (!a.passwordFile.empty()) refuseInput(command, "--password-file needs --user", format);
        // The lab's users exist in the lab's front end only.
        return labMode ? signInUserOf(lab) : std::nullopt;
    }
    if (a.passwordFile.empty()) {
        auto fromLab = signInUserOf(lab, a.user);
        if (!fromLab)
            refuseInput(command,
                        "--user " + a.user + ": not in the lab's users; give --password-file",
                        format);
        return fromLab;
    }
    SignInCredentials user;
    user.sipUri = a.user.rfind("sip:", 0) == 0 ? a.user.substr(4) : a.user;
    if (user.sipUri.find('@') == std::string::npos)
        refuseInput(command,
                    "--user " + a.user + ": expected a SIP address such as alice@contoso.com",
                    format);
    if (const provision::TestUser* known = lab.user(user.sipUri))
        user.account = known->account;
    else
        user.account = user.sipUri;  // a UPN, as Lync clients sign in by default
    try {
        user.password = provision::readPasswordFile(a.passwordFile);
    } catch (const std::exception& e) {
        refuseInput(command, std::string("--password-file: ") + e.what(), format);
    }
    return user;
}

}  // namespace

PreparedTarget prepareTarget(const TargetArgs& a, const std::string& format,
                             const std::string& commandName) {
    const std::string& command = commandName;
    provision::Lab lab = loadLabOrExit(a.labFile, format, commandName);
    Target target;
    for (auto& c : a.connectTo) {
        if (auto why = connectToError(c))
            refuseInput(command, "--connect-to " + c + ": " + *why, format);
        target.connectTo.push_back(c);
    }
    if (!a.cacert.empty()) {
        if (!fs::is_regular_file(a.cacert))
            refuseInput(command, "--cacert " + a.cacert + ": no such file", format);
        target.caFile = fs::absolute(a.cacert);
    }
    bool labMode = false;
    if (target.connectTo.empty()) {
        // A running lab is found from any directory (cli/running_lab.hpp).
        const LabLocation where = locateLab(a.labFile, lab.name, a.workDir);
        labMode = where.workDir.has_value();
        if (labMode) {
            applyLabState(*where.workDir / "state.json", lab, target, format, command);
        } else if (!lab.backends.empty()) {
            // A lab built on loopback is checked where it runs; the system
            // resolver would only time out on its names.
            std::cerr << command << ": lab " << lab.name << " is not up: " << whereLooked(where)
                      << ". Start it with `edgelab up " << a.labFile
                      << "`, or check a real deployment with --connect-to\n";
            throw CLI::RuntimeError(kExitLabDown);
        }
    }
    target.user = signInUser(a, lab, labMode, format, command);
    if (a.longPoll > 0) target.longPollSeconds = a.longPoll;

    RunOptions opt;
    opt.only = a.only;
    opt.skip = a.skip;
    opt.gather.retries = a.retry;
    opt.gather.retryDelay = std::chrono::milliseconds(a.retryDelayMs);
    opt.gather.affinityClients = a.affinityClients;
    if (a.timeoutSeconds != 0) {
        if (!(a.timeoutSeconds > 0) || a.timeoutSeconds > 3600)
            refuseInput(command,
                        "--timeout " + (std::ostringstream() << a.timeoutSeconds).str() +
                            ": expected seconds above 0 and at most 3600",
                        format);
        const std::chrono::milliseconds t(static_cast<long>(a.timeoutSeconds * 1000 + 0.5));
        opt.gather.connectTimeout = opt.gather.handshakeTimeout = opt.gather.requestTimeout = t;
    }
    return {std::move(lab), std::move(target), std::move(opt)};
}

namespace {

void run(const CheckArgs& a) {
    // First, so that every later refusal speaks the format asked for.
    if (a.format != "console" && a.format != "json")
        badInput("--format " + a.format + ": expected console or json", "console");
    auto [lab, target, opt] = prepareTarget(a, a.format, "edgelab check");
    std::optional<diff::Snapshot> baseline;
    if (!a.baseline.empty()) baseline = readReportOrExit(a.baseline, "edgelab check", a.format);

    bool console = a.format == "console";
    report::ConsoleProgress progress(std::cerr, console && report::colorWanted(2));
    CheckRun result = runChecks(lab, target, opt, &progress);
    progress.clear();

    report::Report rep{lab.name, result.started, result.seconds, result.results,
                       report::drawingOf(lab)};
    rep.facts = report::factsOf(lab, result.evidence);
    try {
        report::writeReports(a.reports, rep);
    } catch (const std::exception& e) {
        badInput(e.what(), a.format);
    }
    if (console)
        std::cout << report::consoleText(rep, report::colorWanted(1), a.quiet) << std::flush;
    else
        std::cout << report::jsonText(rep) << std::flush;

    if (result.targetUnreachable) {
        std::cerr << "edgelab check: the target could not be reached or did not answer (see the "
                     "reach.* results)"
                  << (target.connectTo.empty() ? "; names went through the system resolver" : "")
                  << "\n";
        throw CLI::RuntimeError(kExitLabDown);
    }
    if (auto down = backendsDown(result.results); !down.empty()) {
        std::cerr << "edgelab check: a backend is down or does not answer (" << join(down, ", ")
                  << "); the checks that need it are BLOCKED\n";
        throw CLI::RuntimeError(kExitLabDown);
    }
    if (baseline) {
        // The report just written, read back as a diff reads any report.
        const auto d =
            diff::diffReports(*baseline, diff::parseReport(report::jsonText(rep)).value());
        if (console)
            std::cout << "\nSince " << a.baseline << ":\n" << diff::consoleText(d) << std::flush;
        if (d.regressed()) throw CLI::RuntimeError(kExitCheckFailed);
        return;
    }
    if (anyFailed(result.results)) throw CLI::RuntimeError(kExitCheckFailed);
}

}  // namespace

void addTargetOptions(CLI::App& cmd, TargetArgs& args) {
    cmd.add_option("lab", args.labFile, "Lab description (JSON)")->required();
    cmd.add_option("--connect-to", args.connectTo,
                   "HOST:PORT:ADDR:PORT, as curl's --connect-to (repeatable); ::ADDR:PORT sends "
                   "every public name to ADDR:PORT")
        ->allow_extra_args(false);
    cmd.add_option("--cacert", args.cacert, "Trusted root(s) in PEM (default: the system's)");
    cmd.add_option("--only", args.only, "Run only checks whose id matches GLOB (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--skip", args.skip, "Skip checks whose id matches GLOB (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--retry", args.retry, "Retry probes that could not connect N times")
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("--retry-delay", args.retryDelayMs, "Milliseconds between retries")
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("--timeout", args.timeoutSeconds,
                   "Seconds to wait for a connection, a TLS handshake or an HTTP answer "
                   "(default 5 for connections and handshakes, 15 for answers)");
    cmd.add_option("--work-dir", args.workDir,
                   "Running lab's folder with state.json (default: where `edgelab up` left "
                   "it, found from any directory)");
    cmd.add_option("--user", args.user,
                   "Test user's SIP address for the sign-in checks (default: the lab's first "
                   "user)");
    cmd.add_option("--password-file", args.passwordFile,
                   "File whose first line is the test user's password (never on the command "
                   "line)");
    cmd.add_option("--long-poll", args.longPoll,
                   "Hold the UCWA event channel this many seconds through the publishing "
                   "(webservices.long-poll measured; default: only in a lab)")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--affinity-clients", args.affinityClients,
                   "Other clients, each on a new connection, that start NTLM while the "
                   "signin.ntlm-affinity check's client is between its legs (default " +
                       std::to_string(checks::kDefaultAffinityClients) +
                       "; 4 in a lab, whose proxy runs one worker; behind a proxy with many "
                       "worker processes or threads, more: checks/README.md)")
        ->check(CLI::Range(1, checks::kMaxAffinityClients));
}

void addCheckCommand(CLI::App& app) {
    auto args = std::make_shared<CheckArgs>();
    CLI::App* cmd = app.add_subcommand(
        "check", "Run the checks against the lab's running proxy or any deployment");
    addTargetOptions(*cmd, *args);
    addReportFileOptions(*cmd, args->reports);
    cmd->add_option("--baseline", args->baseline,
                    "A JSON report of an earlier run: print what changed since it, and exit 1 "
                    "only on checks newly failing (edgelab diff)");
    cmd->add_option("--format", args->format, "Standard output: console or json");
    cmd->add_flag("--quiet,-q", args->quiet,
                  "Console: only the failures (with their remedies) and the summary");
    cmd->callback([args] { run(*args); });
}

}  // namespace edgelab::cli
