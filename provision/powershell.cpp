#include "provision/powershell.hpp"

#include <cctype>
#include <map>
#include <sstream>

#include "common/ascii.hpp"
#include "common/netsh_command.hpp"

namespace edgelab::provision {

namespace {

// A lab value inside a line comment: a line break would end the comment and
// run the rest as code.
std::string commentText(std::string_view s) {
    std::string out;
    for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
    return out;
}

// A size in GB as PowerShell reads a number: 4, 0.5.
std::string gbNumber(double gb) {
    std::ostringstream n;
    n << gb;
    return n.str();
}

const char* kPreamble =
    "#Requires -RunAsAdministrator\n"
    "# Safe to run again: every step checks what is there before it adds.\n"
    "$ErrorActionPreference = 'Stop'\n";

// Add-WebApplicationProxyApplication, parameter set Add0 (Microsoft's
// WebApplicationProxy module reference, Windows Server 2012 R2).
void writeApplication(std::ostream& ps, const Application& a) {
    ps << "\n# " << commentText(a.name) << ": " << a.externalUrl.str() << " -> "
       << a.backendServerUrl.str() << "\n"
       << "if (Get-WebApplicationProxyApplication -Name " << psQuote(a.name)
       << " -ErrorAction SilentlyContinue) {\n"
       << "    Write-Host 'Already published:' " << psQuote(a.name) << "\n"
       << "} else {\n"
       << "    Add-WebApplicationProxyApplication -Name " << psQuote(a.name)
       << " -ExternalPreauthentication " << psQuote(to_string(a.externalPreAuthentication));
    if (a.externalPreAuthentication == PreAuthentication::ADFS)
        ps << " -ADFSRelyingPartyName " << psQuote(a.adfsRelyingPartyName);
    ps << " -ExternalUrl " << psQuote(a.externalUrl.str()) << " -BackendServerUrl "
       << psQuote(a.backendServerUrl.str()) << " -ExternalCertificateThumbprint ";
    if (a.externalCertificateThumbprint.empty())
        ps << "$certificate";
    else
        ps << psQuote(a.externalCertificateThumbprint);
    if (!a.backendServerCertificateValidation) ps << " -BackendServerCertificateValidation 'None'";
    if (a.disableTranslateUrlInRequestHeaders) ps << " -DisableTranslateUrlInRequestHeaders";
    if (a.disableTranslateUrlInResponseHeaders) ps << " -DisableTranslateUrlInResponseHeaders";
    if (a.inactiveTransactionsTimeoutSec != 300)
        ps << " -InactiveTransactionsTimeoutSec " << a.inactiveTransactionsTimeoutSec;
    ps << "\n}\n";
}

// netsh is a native command: a failure sets $LASTEXITCODE and throws nothing,
// so each exit code is checked. `show` exits non-zero when no binding exists
// for the address.
void writeDefaultBinding(std::ostream& ps, const DefaultBinding& binding,
                         std::string_view proxyThumbprint) {
    const std::string ipport = psQuote(binding.ipport);
    ps << "\n# Clients without SNI (Lync mobile, ActiveSync) need a default IP:port binding.\n"
       << "netsh http show sslcert ipport=" << ipport << " | Out-Null\n"
       << "if ($LASTEXITCODE -eq 0) {\n"
       << "    Write-Host 'Already bound, left as it is:' " << ipport << "\n"
       << "} else {\n"
       << "    "
       << netshAddSslcert(defaultBindingAdd(std::string(proxyThumbprint), binding.ipport, "MY"))
       << "\n"
       << "    if ($LASTEXITCODE -ne 0) { throw \"netsh http add sslcert failed with exit code "
          "$LASTEXITCODE\" }\n"
       << "}\n";
}

std::string wapServerScript(const Lab& lab, std::string_view proxyThumbprint) {
    std::ostringstream ps;
    ps << "# Web Application Proxy publishing for lab " << psQuote(lab.name) << " (" << lab.domain
       << "), written by edgelab.\n"
       << kPreamble << "\n$certificate = " << psQuote(proxyThumbprint) << "\n";
    for (const auto& a : lab.applications) writeApplication(ps, a);
    if (lab.defaultBinding) writeDefaultBinding(ps, *lab.defaultBinding, proxyThumbprint);
    return ps.str();
}

// The drive letter of "F:\CsData"; "" for a path without one (a share).
std::string driveOf(const std::string& path) {
    if (path.size() >= 2 && path[1] == ':' && std::isalpha(static_cast<unsigned char>(path[0])))
        return std::string(1, asciiUpperChar(path[0]));
    return "";
}

// The log folder and the data folder, quoted; one folder holds both when
// the lab gives no separate log folder.
std::string databaseFolders(const DataDisk& disk) {
    std::string folders = psQuote(disk.logPath);
    if (disk.dataPath != disk.logPath) folders += "," + psQuote(disk.dataPath);
    return folders;
}

// Install-CsDatabase -LocalDatabases installs the databases the topology
// gives this server; without -Clean it leaves databases that exist alone,
// so the script can be run again. -DatabasePaths takes the log folder first
// and the data folder second (Microsoft's Install-CsDatabase reference).
std::string lyncFrontEndScript(const Lab& lab, const DataDisk& disk) {
    std::ostringstream ps;
    ps << "# Lync Server databases for lab " << psQuote(lab.name) << " (" << lab.domain
       << "), written by edgelab.\n"
       << "# In the Lync Server Management Shell.\n"
       << kPreamble << "\n"
       << "function Assert-FreeSpace([string] $Drive, [double] $NeededGB) {\n"
       << "    $free = (Get-PSDrive -Name $Drive -PSProvider FileSystem).Free\n"
       << "    if ($free -lt $NeededGB * 1073741824) {\n"
       << "        throw \"Drive ${Drive}: has $([math]::Round($free / 1073741824, 1)) GB free, "
          "the databases need $NeededGB GB\"\n"
       << "    }\n"
       << "}\n";

    std::map<std::string, double> neededGB;  // by drive letter
    ps << "\n# The databases:";
    for (const auto& db : disk.databases) {
        ps << " " << commentText(db.name) << " (data " << gbNumber(db.dataGB) << " GB, log "
           << gbNumber(db.logGB) << " GB)";
        neededGB[driveOf(disk.dataPath)] += db.dataGB;
        neededGB[driveOf(disk.logPath)] += db.logGB;
    }
    ps << ".\n";
    for (const auto& [drive, gb] : neededGB)
        if (!drive.empty())
            ps << "Assert-FreeSpace -Drive " << psQuote(drive) << " -NeededGB " << gbNumber(gb)
               << "\n";

    ps << "\nforeach ($folder in " << databaseFolders(disk) << ") {\n"
       << "    New-Item -ItemType Directory -Force -Path $folder | Out-Null\n"
       << "}\n"
       << installDatabasesCommand(disk) << "\n";
    return ps.str();
}

std::string lyncFrontEndNames(const Lab& lab) {
    std::string names;
    for (const auto& b : lab.backends)
        if (b.role == BackendRole::LyncFrontEnd) names += (names.empty() ? "" : ", ") + b.host;
    return names.empty() ? "the Lync front end" : names;
}

}  // namespace

std::string installDatabasesCommand(const DataDisk& disk) {
    return "Install-CsDatabase -LocalDatabases -DatabasePaths " + databaseFolders(disk);
}

std::vector<LabError> windowsScriptProblems(const Lab& lab) {
    std::vector<LabError> problems;
    for (std::size_t i = 0; i < lab.applications.size(); ++i) {
        const auto& a = lab.applications[i];
        const std::string path = "/applications/" + std::to_string(i);
        if (a.externalPreAuthentication == PreAuthentication::ADFS &&
            a.adfsRelyingPartyName.empty())
            problems.push_back({path + "/adfsRelyingPartyName",
                                "ADFS pre-authentication needs the AD FS relying party trust's "
                                "name (Add-WebApplicationProxyApplication -ADFSRelyingPartyName)"});
        if (!a.hasBackendServerUrl())
            problems.push_back({path + "/backendServerUrl",
                                "Add-WebApplicationProxyApplication needs -BackendServerUrl, where "
                                "the application is published to"});
        if (a.externalPreAuthentication == PreAuthentication::ClientCertificate)
            problems.push_back({path + "/externalPreAuthentication",
                                "ClientCertificate pre-authentication needs a client certificate "
                                "thumbprint, which a lab cannot give; publish with PassThrough"});
    }
    return problems;
}

std::vector<WindowsScript> emitWindowsScripts(const Lab& lab, std::string_view proxyThumbprint) {
    if (auto problems = windowsScriptProblems(lab); !problems.empty())
        throw LabParseError(lab.sourceFile.string(), std::move(problems));
    std::vector<WindowsScript> scripts;
    scripts.push_back({"wap-server", "the Web Application Proxy server", "wap-server.ps1",
                       wapServerScript(lab, proxyThumbprint)});
    if (lab.dataDisk)
        scripts.push_back({"lync-frontend", lyncFrontEndNames(lab), "lync-frontend.ps1",
                           lyncFrontEndScript(lab, *lab.dataDisk)});
    // Each script says where it runs on its first line, in a file of its
    // own as in the listing of them all.
    for (auto& s : scripts)
        s.text = "# ===== " + s.fileName + ": run on " + s.server + " =====\n" + s.text;
    return scripts;
}

std::string emitPowerShell(const Lab& lab, std::string_view proxyThumbprint) {
    std::string all;
    for (const auto& s : emitWindowsScripts(lab, proxyThumbprint))
        all += (all.empty() ? "" : "\n") + s.text;
    return all;
}

}  // namespace edgelab::provision
