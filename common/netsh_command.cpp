#include "common/netsh_command.hpp"

#include "common/ascii.hpp"
#include "common/lync_wap.hpp"

namespace edgelab {

namespace {

// U+2018..U+201B in UTF-8: E2 80 98..9B.
bool typographicSingleQuoteAt(std::string_view s, std::size_t i) {
    return i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 &&
           static_cast<unsigned char>(s[i + 1]) == 0x80 &&
           static_cast<unsigned char>(s[i + 2]) >= 0x98 &&
           static_cast<unsigned char>(s[i + 2]) <= 0x9B;
}

std::string_view keyword(SslcertKey kind) {
    switch (kind) {
        case SslcertKey::IpPort:
            return "ipport";
        case SslcertKey::HostnamePort:
            return "hostnameport";
        case SslcertKey::CentralCertificateStore:
            return "ccs";
    }
    return "ipport";
}

// cmd.exe: bare unless the value holds a character cmd.exe reads itself.
std::string cmdValue(std::string_view value) {
    if (value.find_first_of(" \t<>&|^\"()%!,;=") == std::string_view::npos)
        return std::string(value);
    std::string out = "\"";
    for (char c : value)
        if (c != '"') out += c;
    return out + "\"";
}

std::string argument(std::string_view name, std::string_view value, Shell shell) {
    return " " + std::string(name) + "=" +
           (shell == Shell::PowerShell ? psQuote(value) : cmdValue(value));
}

}  // namespace

std::string psQuote(std::string_view value) {
    std::string out = "'";
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\'') {
            out += "''";
        } else if (typographicSingleQuoteAt(value, i)) {
            out.append(value.substr(i, 3)).append(value.substr(i, 3));
            i += 2;
        } else {
            out += value[i];
        }
    }
    return out + "'";
}

std::string netshAddSslcert(const SslcertAdd& add, Shell shell) {
    std::string command = "netsh http add sslcert" + argument(keyword(add.kind), add.key, shell) +
                          argument("certhash", asciiLower(add.certhash), shell) +
                          argument("appid", add.appid, shell);
    // A fixed keyword value, bare in both shells, as netsh's own help writes it.
    if (!add.storeName.empty()) command += " certstorename=" + cmdValue(add.storeName);
    return command;
}

std::string netshDeleteSslcert(SslcertKey kind, std::string_view key, Shell shell) {
    return "netsh http delete sslcert" + argument(keyword(kind), key, shell);
}

std::string withCmdForm(const std::string& powershell, const std::string& cmd) {
    return powershell + "\n# in cmd.exe: " + cmd;
}

std::string sslcertAddFix(const SslcertAdd& add) {
    return withCmdForm(netshAddSslcert(add), netshAddSslcert(add, Shell::Cmd));
}

std::string sslcertDeleteFix(SslcertKey kind, std::string_view key) {
    return withCmdForm(netshDeleteSslcert(kind, key), netshDeleteSslcert(kind, key, Shell::Cmd));
}

SslcertAdd defaultBindingAdd(std::string certhash, std::string ipport, std::string storeName) {
    return {SslcertKey::IpPort, std::move(ipport), std::move(certhash),
            std::string(kWapApplicationId), std::move(storeName)};
}

SslcertAdd hostnameBindingAdd(const std::string& name, std::string certhash) {
    return {SslcertKey::HostnamePort, name + ":443", std::move(certhash),
            std::string(kWapApplicationId), "MY"};
}

}  // namespace edgelab
