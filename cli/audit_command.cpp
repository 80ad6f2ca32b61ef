#include "cli/audit_command.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "audit/audit.hpp"
#include "audit/certificates.hpp"
#include "cli/provision_commands.hpp"
#include "cli/report_options.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "proxy/netsh_show.hpp"
#include "report/report.hpp"

namespace edgelab::cli {

using namespace edgelab::audit;

namespace fs = std::filesystem;

namespace {

struct AuditArgs {
    std::string netsh, wap, lab, emitLab, matchHost;
    std::vector<std::string> certs;
    std::string format = "console";
    report::ReportFiles reports;
    bool quiet = false;
};

[[noreturn]] void badInput(const std::string& message) {
    std::cerr << "edgelab audit: " << message << "\n";
    throw CLI::RuntimeError(kExitBadInput);
}

std::string readInput(const std::string& option, const std::string& file) {
    try {
        return readFile(file);
    } catch (const std::exception& e) {
        badInput(option + " " + file + ": " + e.what());
    }
}

void readCaptures(const AuditArgs& a, AuditInput& in) {
    try {
        if (!a.netsh.empty()) readNetshCapture(in, readInput("--netsh", a.netsh), a.netsh);
        if (!a.wap.empty()) readWapCapture(in, readInput("--wap", a.wap), a.wap);
    } catch (const CaptureError& e) {
        badInput(e.what());
    } catch (const WapInputError& e) {
        badInput(e.what());
    }
    if (a.netsh.empty() && in.applications && in.applications->empty())
        badInput("--wap " + a.wap + ": nothing to audit: no application (" + in.wapFormat +
                 ") and no --netsh capture");
}

AuditInput gatherInput(const AuditArgs& a) {
    if (!a.lab.empty() && (!a.netsh.empty() || !a.wap.empty()))
        badInput("--lab audits a lab description; give it alone, or --netsh/--wap");
    if (a.lab.empty() && a.netsh.empty() && a.wap.empty())
        badInput("give --netsh FILE and/or --wap FILE (what the proxy prints), or --lab LAB.json");
    if (!a.lab.empty() && !a.emitLab.empty())
        badInput("--emit-lab writes a lab from a capture; --lab already is one");
    AuditInput in;
    if (!a.lab.empty()) in = auditInputOf(loadLabOrExit(a.lab));
    readCaptures(a, in);
    for (const auto& file : a.certs) {
        try {
            for (auto& c : readCertificates(readInput("--cert", file), file))
                in.certificates.push_back(std::move(c));
        } catch (const std::runtime_error& e) {
            badInput(std::string("--cert ") + e.what());
        }
    }
    if (!a.matchHost.empty()) in.webServicesName = a.matchHost;
    return in;
}

// The lab is checked by the lab parser before it is written, so a file that
// `edgelab run` would refuse is never left behind.
void writeLab(const AuditArgs& a, const AuditInput& in, const std::vector<checks::CheckResult>& r) {
    std::string name;
    for (char c : fs::path(a.emitLab).stem().string())
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '-';
    const auto lab = emitLab(in, r, name.empty() ? "audit" : name);
    const std::string text = lab.dump(2) + "\n";
    try {
        provision::parseLabText(text, a.emitLab);
    } catch (const provision::LabParseError& e) {
        std::string all;
        for (const auto& err : e.errors()) all += "\n  " + err.str();
        badInput("the capture does not make a lab edgelab can run:" + all);
    }
    try {
        writeFileAtomic(a.emitLab, text);
    } catch (const std::exception& e) {
        badInput(e.what());
    }
    std::cerr << "edgelab audit: wrote " << a.emitLab << "; replay it with: edgelab run "
              << a.emitLab << "\n";
    // From netsh alone the lab says what it had to assume.
    if (!in.applications)
        std::cerr << "edgelab audit: " << lab.value("description", std::string()) << "\n";
}

void run(const AuditArgs& a) {
    if (a.format != "console" && a.format != "json")
        badInput("--format " + a.format + ": expected console or json");
    const auto started = std::chrono::system_clock::now();
    const AuditInput in = gatherInput(a);
    const auto results = evaluateAudit(in);
    if (!a.emitLab.empty()) writeLab(a, in, results);
    report::Report rep{in.name, started, 0, results, {}};
    rep.command = "audit";
    if (!a.lab.empty()) rep.drawing = report::drawingOf(loadLabOrExit(a.lab));
    try {
        report::writeReports(a.reports, rep);
    } catch (const std::exception& e) {
        badInput(e.what());
    }
    if (a.format == "console")
        std::cout << report::consoleText(rep, report::colorWanted(1), a.quiet) << std::flush;
    else
        std::cout << report::jsonText(rep) << std::flush;
    for (const auto& r : results)
        if (r.verdict == checks::Verdict::Fail) throw CLI::RuntimeError(kExitCheckFailed);
}

}  // namespace

void addAuditCommand(CLI::App& app) {
    auto args = std::make_shared<AuditArgs>();
    CLI::App* cmd = app.add_subcommand(
        "audit",
        "Audit a Web Application Proxy from what it prints (netsh http show sslcert, "
        "Get-WebApplicationProxyApplication | ConvertTo-Json), offline; or a lab's publishing");
    cmd->add_option("--netsh", args->netsh,
                    "netsh http show sslcert output as saved or pasted (UTF-16, UTF-8, cp1252, "
                    "cp850; prompt lines and '> ' quoting are left out)");
    cmd->add_option("--wap", args->wap,
                    "Get-WebApplicationProxyApplication output: | ConvertTo-Json or | Format-List");
    cmd->add_option("--cert", args->certs,
                    "A certificate in use, PEM or DER, matched by thumbprint (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--lab", args->lab, "Audit a lab description's publishing instead");
    cmd->add_option("--match-host", args->matchHost,
                    "The web services name whose binding the default binding copies "
                    "(default: guessed from the Lync applications)");
    cmd->add_option("--emit-lab", args->emitLab,
                    "Write a lab description that replays the capture (edgelab run FILE)");
    cmd->add_option("--format", args->format, "Standard output: console or json");
    addReportFileOptions(*cmd, args->reports);
    cmd->add_flag("--quiet,-q", args->quiet,
                  "Console: only the failures (with their remedies) and the summary");
    cmd->callback([args] { run(*args); });
}

}  // namespace edgelab::cli
