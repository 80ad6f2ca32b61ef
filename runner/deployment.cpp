#include "runner/deployment.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace edgelab::runner {

namespace {

std::optional<std::uint16_t> portOf(std::string_view hostPort) {
    auto colon = hostPort.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    unsigned v = 0;
    auto s = hostPort.substr(colon + 1);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// Seconds as a person writes them: "180", "0.25".
std::string secondsText(double seconds) {
    std::ostringstream text;
    text << seconds;
    return text.str();
}

std::vector<std::string> externalHosts(const provision::Lab& lab) {
    std::vector<std::string> hosts = lab.names.all();
    for (const auto& app : lab.applications) {
        if (std::find(hosts.begin(), hosts.end(), app.externalUrl.host) == hosts.end())
            hosts.push_back(app.externalUrl.host);
    }
    return hosts;
}

}  // namespace

std::vector<std::string> backendArguments(const provision::Lab& lab,
                                          const provision::Backend& backend,
                                          const PlannedBackend& planned,
                                          const provision::StoredCertificate& cert,
                                          const fs::path& accessLog, const fs::path& usersFile) {
    std::vector<std::string> args = {
        "--role", provision::to_string(backend.role), "--listen",
        planned.address + ":" + std::to_string(planned.listenPort), "--cert",
        cert.certFile.string(), "--key", cert.keyFile.string(), "--server-fqdn", backend.host,
        "--domain", lab.domain, "--web-services", lab.names.webServices, "--meet", lab.names.meet,
        "--dialin", lab.names.dialin, "--lyncdiscover", lab.names.lyncdiscover, "--owas",
        lab.names.owas, "--event-hold-sec", secondsText(backend.eventChannelHoldSec),
        "--access-log", accessLog.string(),
        // One I/O thread: a lab's load is a few hundred requests, and the
        // machine's cores are better left to the proxy and the checks.
        "--threads", "1"};
    if (!usersFile.empty()) {
        args.push_back("--users-file");
        args.push_back(usersFile.string());
    }
    if (backend.internalUrl) {
        args.push_back("--owas-internal-url");
        args.push_back(*backend.internalUrl);
    }
    return args;
}

std::string backendUsersFile(const provision::Lab& lab, const provision::Backend& backend) {
    if (lab.users.empty() || backend.role != provision::BackendRole::LyncFrontEnd) return {};
    nlohmann::json users = nlohmann::json::array();
    for (const auto& u : lab.users)
        users.push_back({{"sipUri", u.sipUri}, {"account", u.account}, {"password", u.password}});
    return nlohmann::json{{"users", users}}.dump(2) + "\n";
}

std::optional<std::uint16_t> backendReadyPort(const std::string& line) {
    const std::string prefix = "READY https://";
    if (!line.starts_with(prefix)) return std::nullopt;
    return portOf(std::string_view(line).substr(prefix.size()));
}

std::optional<std::pair<std::string, std::uint16_t>> proxyListenerLine(const std::string& line) {
    if (!line.starts_with("READY ")) return std::nullopt;
    std::string_view rest = std::string_view(line).substr(6);
    auto space = rest.find(' ');
    std::string_view hostPort = rest.substr(0, space);
    auto port = portOf(hostPort);
    if (!port) return std::nullopt;
    return std::make_pair(std::string(hostPort.substr(0, hostPort.rfind(':'))), *port);
}

nlohmann::json proxyConfig(const provision::Lab& lab, const AddressPlan& plan,
                           const std::string& proxyThumbprint,
                           const std::map<std::string, std::string>& internalDns,
                           const ProxyPaths& paths) {
    nlohmann::json apps = nlohmann::json::array();
    for (const auto& a : lab.applications) {
        apps.push_back({
            {"name", a.name},
            {"externalUrl", a.externalUrl.str()},
            {"backendServerUrl", a.backendServerUrl.str()},
            {"externalPreAuthentication", provision::to_string(a.externalPreAuthentication)},
            {"externalCertificateThumbprint", a.externalCertificateThumbprint.empty()
                                                  ? proxyThumbprint
                                                  : a.externalCertificateThumbprint},
            {"backendServerCertificateValidation",
             a.backendServerCertificateValidation ? "ValidateCertificate" : "None"},
            {"disableTranslateUrlInRequestHeaders", a.disableTranslateUrlInRequestHeaders},
            {"disableTranslateUrlInResponseHeaders", a.disableTranslateUrlInResponseHeaders},
            {"inactiveTransactionsTimeoutSec", a.inactiveTransactionsTimeoutSec},
        });
    }
    bool legacy = std::any_of(lab.clients.begin(), lab.clients.end(),
                              [](const auto& c) { return c.minTls == "1.0" || c.minTls == "1.1"; });
    return {
        {"listeners",
         {{{"address", plan.proxyAddress}, {"port", plan.proxyPort}, {"publishedPort", 443}}}},
        {"certificateStore", paths.certificateStore.string()},
        {"bindingStore", paths.bindingStore.string()},
        {"caBundle", paths.caBundle.string()},
        {"internalDns", internalDns},
        {"applications", apps},
        {"accessLog", paths.accessLog.string()},
        {"allowLegacyTls", legacy},
        {"connectionAffinity", lab.proxy.connectionAffinity},
    };
}

proxy::BindingStore publishedBindings(const provision::Lab& lab,
                                      const std::string& proxyThumbprint) {
    proxy::BindingStore store;
    for (const auto& a : lab.applications) {
        proxy::BindingKey key{proxy::BindingKind::HostnamePort, a.externalUrl.host,
                              a.externalUrl.port};
        if (store.find(key)) continue;
        store.bindings.push_back({key,
                                  a.externalCertificateThumbprint.empty()
                                      ? proxyThumbprint
                                      : a.externalCertificateThumbprint,
                                  std::string(proxy::kWapApplicationId), "MY"});
    }
    return store;
}

proxy::BindingKey defaultBindingKey(const provision::DefaultBinding& binding,
                                    const std::string& proxyAddress) {
    proxy::BindingKey key{proxy::BindingKind::IpPort, "0.0.0.0", 443};
    auto colon = binding.ipport.rfind(':');
    std::string ip = binding.ipport.substr(0, colon);
    if (auto port = portOf(binding.ipport)) key.port = *port;
    key.host = (ip.empty() || ip == "0.0.0.0") ? "0.0.0.0" : proxyAddress;
    return key;
}

std::vector<std::string> connectToEntries(const provision::Lab& lab,
                                          const std::string& proxyAddress,
                                          std::uint16_t proxyPort) {
    std::vector<std::string> out;
    for (const auto& h : externalHosts(lab))
        out.push_back(h + ":443:" + proxyAddress + ":" + std::to_string(proxyPort));
    return out;
}

std::vector<std::string> hostsLines(const provision::Lab& lab, const std::string& proxyAddress) {
    std::vector<std::string> out;
    for (const auto& h : externalHosts(lab)) out.push_back(proxyAddress + " " + h);
    return out;
}

}  // namespace edgelab::runner
