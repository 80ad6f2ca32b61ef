// The netsh commands edgelab prints as fixes (`netsh http add sslcert`,
// `netsh http delete sslcert`), built in one place for every printer: the
// checks' and rules' remedies, the audit's fixes and the PowerShell emitter.
//
// The PowerShell form is the one printed first, because the README sends the
// administrator to PowerShell: every value is a single-quoted string, so
// `appid='{...}'` reaches netsh as one argument. Unquoted, PowerShell reads
// `{...}` as a script block and netsh answers "The parameter is incorrect"
// (MicrosoftDocs/windowsserverdocs issue 5922). The cmd.exe form leaves the
// values bare (double-quoted only when they hold a character cmd.exe treats
// specially, such as the `<` of a placeholder).
#pragma once

#include <string>
#include <string_view>

namespace edgelab {

// A PowerShell single-quoted string literal holding `value` exactly: each
// single-quote character (', and the typographic quotes U+2018 to U+201B,
// which PowerShell also takes as single quotes) is doubled. Nothing is
// expanded inside one. (PowerShell Language Specification 3.0, 2.3.5.2.)
std::string psQuote(std::string_view value);

enum class Shell { PowerShell, Cmd };

// netsh's keyword for a binding's key: ipport=, hostnameport=, ccs=.
enum class SslcertKey { IpPort, HostnamePort, CentralCertificateStore };

struct SslcertAdd {
    SslcertKey kind = SslcertKey::IpPort;
    std::string key;        // "0.0.0.0:443", "lyncws.contoso.com:443", "443"
    std::string certhash;   // written lower case; may be a <placeholder>
    std::string appid;      // "{f955c070-...}"
    std::string storeName;  // certstorename=, left out when empty
};

// `netsh http add sslcert KIND=KEY certhash=HASH appid=APPID [certstorename=NAME]`.
std::string netshAddSslcert(const SslcertAdd& add, Shell shell = Shell::PowerShell);
// `netsh http delete sslcert KIND=KEY`.
std::string netshDeleteSslcert(SslcertKey kind, std::string_view key,
                               Shell shell = Shell::PowerShell);

// The PowerShell line, and below it the cmd.exe one as a PowerShell comment
// ("# in cmd.exe: netsh ..."), so the two lines pasted together into
// PowerShell still run the command once.
std::string withCmdForm(const std::string& powershell, const std::string& cmd);

// A fix as every remedy and audit finding prints it: the command in both
// forms, withCmdForm. (A script, which runs in PowerShell only, takes
// netshAddSslcert alone.)
std::string sslcertAddFix(const SslcertAdd& add);
std::string sslcertDeleteFix(SslcertKey kind, std::string_view key);

// The default (IP:port) binding clients without SNI are served by, as the
// seed's Set-DefaultCertificate makes it: `ipport` with WAP's application id
// and the certificate `certhash` (the one bound to the web services name).
SslcertAdd defaultBindingAdd(std::string certhash, std::string ipport = "0.0.0.0:443",
                             std::string storeName = "");
// A Hostname:port binding for `name` on 443 with WAP's application id, from
// the computer's personal store (MY), as WAP makes one per published name.
SslcertAdd hostnameBindingAdd(const std::string& name, std::string certhash);

}  // namespace edgelab
