#include "provision/powershell.hpp"

#include <algorithm>
#include <sstream>

#include "common/ascii.hpp"

namespace edgelab::provision {

namespace {

// PowerShell single-quoted string: a quote is doubled.
std::string psQuote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

}  // namespace

std::string emitPowerShell(const Lab& lab, std::string_view proxyThumbprint) {
    std::ostringstream ps;
    ps << "# Web Application Proxy publishing for lab " << psQuote(lab.name) << " (" << lab.domain
       << "), written by edgelab.\n"
       << "# Run on the WAP server in an elevated PowerShell.\n\n"
       << "$certificate = \"" << proxyThumbprint << "\"\n\n";

    for (const auto& a : lab.applications) {
        ps << "Add-WebApplicationProxyApplication -Name " << psQuote(a.name)
           << " -ExternalPreAuthentication " << to_string(a.externalPreAuthentication)
           << " -ExternalUrl \"" << a.externalUrl.str() << "\" -BackendServerUrl \""
           << a.backendServerUrl.str() << "\" -ExternalCertificateThumbprint ";
        if (a.externalCertificateThumbprint.empty())
            ps << "$certificate";
        else
            ps << "\"" << a.externalCertificateThumbprint << "\"";
        if (!a.backendServerCertificateValidation)
            ps << " -BackendServerCertificateValidation None";
        if (a.disableTranslateUrlInRequestHeaders) ps << " -DisableTranslateUrlInRequestHeaders";
        if (a.disableTranslateUrlInResponseHeaders) ps << " -DisableTranslateUrlInResponseHeaders";
        if (a.inactiveTransactionsTimeoutSec != 300)
            ps << " -InactiveTransactionsTimeoutSec " << a.inactiveTransactionsTimeoutSec;
        ps << "\n";
    }

    if (lab.defaultBinding) {
        ps << "\n# Clients without SNI (Lync mobile, ActiveSync) need a default IP:port binding.\n"
           << "netsh http add sslcert ipport=" << lab.defaultBinding->ipport
           << " certhash=" << asciiLower(std::string(proxyThumbprint))
           << " appid=" << kWapApplicationId << "\n"
           << "netsh http show sslcert ipport=" << lab.defaultBinding->ipport << "\n";
    }

    if (lab.dataDisk) {
        ps << "\n# On the Lync server: the databases on a data disk with host caching None.\n"
           << "Install-CsDatabase -LocalDatabases -DatabasePaths " << lab.dataDisk->path << "\n";
    }
    return ps.str();
}

}  // namespace edgelab::provision
