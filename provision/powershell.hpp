// The Windows side of a lab: one PowerShell script per server role that
// builds the same publishing on a real Web Application Proxy and Lync front
// end. Each script stops at the first error, checks before it adds (so it can
// be run again), and quotes every value it takes from the lab.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/lync_wap.hpp"
#include "common/netsh_command.hpp"
#include "provision/lab.hpp"

namespace edgelab::provision {

// One script and the server it runs on.
struct WindowsScript {
    std::string role;      // "wap-server", "lync-frontend"
    std::string server;    // "the Web Application Proxy server", "lyncfe1.kloud.example"
    std::string fileName;  // "wap-server.ps1"
    std::string text;
};

// What the lab lacks for the scripts to be run as written: an ADFS
// application without a relying party name, a ClientCertificate one (the
// lab has no pre-authentication thumbprint to give). Empty when none.
std::vector<LabError> windowsScriptProblems(const Lab& lab);

// The scripts: the WAP server's (applications and the default binding), and
// the Lync front end's when the lab has a data disk. `proxyThumbprint` is
// the lab proxy certificate's (applications that name their own keep it).
// Throws LabParseError when windowsScriptProblems is not empty.
std::vector<WindowsScript> emitWindowsScripts(const Lab& lab, std::string_view proxyThumbprint);

// Every script, one after the other, each headed by the server it runs on.
std::string emitPowerShell(const Lab& lab, std::string_view proxyThumbprint);

// The command that installs the Lync databases on the lab's data disk:
// Install-CsDatabase -LocalDatabases -DatabasePaths 'LOG','DATA' (one path
// when log and data share a folder), every path quoted. The scripts run it,
// and the remedies of the data-disk verdicts quote it.
std::string installDatabasesCommand(const DataDisk& disk);

// psQuote: a PowerShell single-quoted string literal (common/netsh_command.hpp,
// shared with every printer of a netsh fix).
using edgelab::psQuote;

}  // namespace edgelab::provision
