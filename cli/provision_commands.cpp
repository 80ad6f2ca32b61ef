#include "cli/provision_commands.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "provision/lab.hpp"
#include "provision/pki.hpp"
#include "provision/powershell.hpp"
#include "provision/rules.hpp"

namespace edgelab::cli {

using namespace edgelab::provision;

void refuseInput(const std::string& command, const std::string& message, const std::string& format,
                 const std::string& file, const std::vector<LabError>& problems) {
    if (format == "json") {
        nlohmann::ordered_json error{{"command", command}, {"message", message}};
        if (!file.empty()) error["file"] = file;
        auto list = nlohmann::ordered_json::array();
        for (const auto& p : problems) list.push_back({{"path", p.path}, {"message", p.message}});
        error["problems"] = list;
        error["exitCode"] = kExitBadInput;
        std::cout << nlohmann::ordered_json{{"error", error}}.dump(2) << "\n" << std::flush;
    } else {
        std::cerr << command << ": " << message << "\n";
    }
    throw CLI::RuntimeError(kExitBadInput);
}

Lab loadLabOrExit(const std::string& file, const std::string& format, const std::string& command) {
    try {
        return loadLab(file);
    } catch (const LabParseError& e) {
        refuseInput(command, e.what(), format, e.file(), e.errors());
    }
}

namespace {

void printRules(const Lab& lab, const std::vector<Finding>& results) {
    std::cout << "Lab " << lab.name << " (" << lab.domain << "): static rules\n";
    for (const auto& r : results) {
        std::cout << "  " << to_string(r.verdict) << "  " << r.id << " [" << r.lesson << "] "
                  << r.title << "\n        " << r.evidence << "\n";
        if (r.verdict == Verdict::Fail) std::cout << "        remedy: " << r.remedy << "\n";
    }
    int failed = 0, skipped = 0;
    for (const auto& r : results) {
        failed += r.verdict == Verdict::Fail;
        skipped += r.verdict == Verdict::Skip;
    }
    std::cout << results.size() - failed - skipped << " passed, " << failed << " failed, "
              << skipped << " skipped\n";
}

nlohmann::json rulesJson(const Lab& lab, const std::vector<Finding>& results) {
    int failed = 0, skipped = 0;
    for (const auto& r : results) {
        failed += r.verdict == Verdict::Fail;
        skipped += r.verdict == Verdict::Skip;
    }
    const int total = static_cast<int>(results.size());
    nlohmann::json out = {{"lab", lab.name},
                          {"domain", lab.domain},
                          {"summary",
                           {{"total", total},
                            {"passed", total - failed - skipped},
                            {"failed", failed},
                            {"skipped", skipped},
                            {"outcome", failed ? "failed" : "passed"}}},
                          {"rules", nlohmann::json::array()}};
    for (const auto& r : results)
        out["rules"].push_back({{"id", r.id},
                                {"lesson", r.lesson},
                                {"title", r.title},
                                {"verdict", to_string(r.verdict)},
                                {"evidence", r.evidence},
                                {"remedy", r.remedy}});
    return out;
}

}  // namespace

void addValidateCommand(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "validate",
        "Check a lab description against the static rules (the seed's lessons S1-S9), without "
        "starting anything. Exit 0 all rules pass, 1 a rule fails, 2 the file is malformed.");
    auto file = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("console");
    cmd->add_option("LAB.json", *file, "the lab description")->required();
    cmd->add_option("--format", *format, "console or json")
        ->check(CLI::IsMember(kFormats))
        ->capture_default_str();
    cmd->callback([file, format] {
        const Lab lab = loadLabOrExit(*file, *format, "edgelab validate");
        const auto results = evaluateRules(lab);
        if (*format == "json")
            std::cout << rulesJson(lab, results).dump(2) << "\n";
        else
            printRules(lab, results);
        const bool failed = std::any_of(results.begin(), results.end(), [](const Finding& r) {
            return r.verdict == Verdict::Fail;
        });
        if (failed) throw CLI::RuntimeError(kExitCheckFailed);
    });
}

namespace {

struct EmitOptions {
    std::string file, thumbprint, workDir, output, outDir;
    bool force = false;
};

// Windows PowerShell 5.1 reads a UTF-8 file without a byte order mark as
// the ANSI code page: every script file starts with one.
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The static rules, before any script is written: a script for a lab that
// breaks one would build the broken publishing on the real servers. The
// failures go to stderr; without --force nothing is written (exit 1). With
// it, the comment lines returned head every script.
std::string ruleGate(const Lab& lab, const EmitOptions& o) {
    std::string comments;
    int failed = 0;
    for (const auto& r : evaluateRules(lab)) {
        if (r.verdict != Verdict::Fail) continue;
        ++failed;
        std::cerr << "edgelab emit powershell: rule " << r.id << " [" << r.lesson
                  << "] failed: " << r.evidence << "\n  remedy: " << r.remedy << "\n";
        comments += "# WARNING: written with --force; lab rule " + r.id + " [" + r.lesson +
                    "] failed: " + r.evidence + "\n#   remedy: " + r.remedy + "\n";
    }
    if (failed && !o.force) {
        std::cerr << "edgelab emit powershell: " << failed
                  << " lab rule(s) failed: no script written (fix the lab, or give --force to "
                     "write the scripts anyway, each failure noted in them)\n";
        throw CLI::RuntimeError(kExitCheckFailed);
    }
    return comments;
}

// Each script with the rule comments after its first (heading) line.
std::vector<WindowsScript> withComments(std::vector<WindowsScript> scripts,
                                        const std::string& comments) {
    if (comments.empty()) return scripts;
    for (auto& s : scripts) {
        auto eol = s.text.find('\n');
        s.text.insert(eol == std::string::npos ? s.text.size() : eol + 1, comments);
    }
    return scripts;
}

// The thumbprint given, or the lab PKI's (made in the work folder when missing).
std::string proxyThumbprintFor(const Lab& lab, const EmitOptions& o) {
    const std::string& given = o.thumbprint;
    const auto dir = o.workDir.empty() ? std::filesystem::path(".edgelab") / lab.name
                                       : std::filesystem::path(o.workDir);
    if (!given.empty()) {
        if (given.size() != 40 || !std::all_of(given.begin(), given.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) != 0;
            })) {
            std::cerr << "edgelab emit powershell: --thumbprint " << given
                      << ": expected 40 hex digits (the certificate's SHA-1 thumbprint)\n";
            throw CLI::RuntimeError(kExitBadInput);
        }
        // Copied from a lab's output: a certificate no real server has.
        if (findInStore(dir / "pki" / "store", given))
            std::cerr << "edgelab emit powershell: WARNING: --thumbprint " << given
                      << " is a certificate of the lab PKI in " << dir.string()
                      << "/pki, not one your servers have\n";
        return given;
    }
    try {
        const std::string labPki = provisionPki(lab, dir).proxy.thumbprint;
        std::cerr << "edgelab emit powershell: WARNING: no --thumbprint: the scripts use " << labPki
                  << ", the lab PKI's proxy certificate (made by edgelab in " << dir.string()
                  << "/pki, not on your servers); give --thumbprint of the certificate the "
                     "proxy has\n";
        return labPki;
    } catch (const std::exception& e) {
        std::cerr << "edgelab: cannot make the lab PKI: " << e.what() << "\n";
        throw CLI::RuntimeError(kExitLabDown);
    }
}

// One file per server role in `dir`, each written atomically.
void writeScripts(const std::vector<WindowsScript>& scripts, const std::filesystem::path& dir) {
    try {
        std::filesystem::create_directories(dir);
        for (const auto& s : scripts) {
            writeFileAtomic(dir / s.fileName, std::string(kUtf8Bom) + s.text);
            std::cout << (dir / s.fileName).string() << ": run on " << s.server << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "edgelab emit powershell: --out-dir " << dir.string() << ": " << e.what()
                  << "\n";
        throw CLI::RuntimeError(kExitBadInput);
    }
}

void emitPowerShellCommand(const EmitOptions& o) {
    const Lab lab = loadLabOrExit(o.file, "console", "edgelab emit powershell");
    if (auto problems = windowsScriptProblems(lab); !problems.empty()) {
        std::string message = o.file + ": the scripts cannot be written as the lab stands";
        for (const auto& p : problems) message += "\n  " + p.str();
        refuseInput("edgelab emit powershell", message, "console", o.file, problems);
    }
    const std::string comments = ruleGate(lab, o);
    const std::string thumbprint = proxyThumbprintFor(lab, o);
    const auto scripts = withComments(emitWindowsScripts(lab, thumbprint), comments);
    if (!o.outDir.empty()) return writeScripts(scripts, o.outDir);
    std::string all;
    for (const auto& s : scripts) all += (all.empty() ? "" : "\n") + s.text;
    if (o.output.empty()) {
        std::cout << all;
        return;
    }
    try {
        writeFileAtomic(o.output, std::string(kUtf8Bom) + all);
    } catch (const std::exception& e) {
        std::cerr << "edgelab: " << e.what() << "\n";
        throw CLI::RuntimeError(kExitBadInput);
    }
}

}  // namespace

void addEmitCommand(CLI::App& app) {
    auto* emit = app.add_subcommand("emit", "Write what the lab describes for other systems");
    emit->require_subcommand(1);
    auto* ps = emit->add_subcommand(
        "powershell",
        "The Windows side of the lab, one script per server: the WAP server's "
        "(Add-WebApplicationProxyApplication per application, the default binding with netsh "
        "http add sslcert) and the Lync front end's (Install-CsDatabase on the data disk). "
        "Each stops at the first error and can be run again. The lab's static rules run "
        "first: a failure refuses the scripts (exit 1) unless --force. Files are UTF-8 with a "
        "byte order mark, as Windows PowerShell 5.1 needs.");
    auto o = std::make_shared<EmitOptions>();
    ps->add_option("LAB.json", o->file, "the lab description")->required();
    ps->add_option("--thumbprint", o->thumbprint,
                   "the proxy certificate's thumbprint (default: the lab PKI's, created in the "
                   "work folder when missing)");
    ps->add_option("--work-dir", o->workDir, "the lab's work folder (default .edgelab/LABNAME)");
    auto* output = ps->add_option("-o,--output", o->output,
                                  "write every script to this file (default stdout)");
    ps->add_option("--out-dir", o->outDir,
                   "write one script per server role into this folder (wap-server.ps1, "
                   "lync-frontend.ps1)")
        ->excludes(output);
    ps->add_flag("--force", o->force,
                 "write the scripts even when lab rules fail (each failure is printed, and "
                 "noted in a comment at the top of every script)");
    ps->callback([o] { emitPowerShellCommand(*o); });
}

}  // namespace edgelab::cli
