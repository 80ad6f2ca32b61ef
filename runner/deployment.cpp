#include "runner/deployment.hpp"

#include <algorithm>
#include <sstream>

#include "common/ascii.hpp"
#include "common/endpoint.hpp"

namespace edgelab::runner {

namespace {

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
        "--domain", lab.domain, "--web-services",
        backend.webServices.empty() ? lab.names.webServices : backend.webServices, "--meet",
        lab.names.meet, "--dialin", lab.names.dialin, "--lyncdiscover", lab.names.lyncdiscover,
        "--owas", lab.names.owas, "--event-hold-sec", secondsText(backend.eventChannelHoldSec),
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
    for (const auto& u : lab.users) {
        nlohmann::json user = {
            {"sipUri", u.sipUri}, {"account", u.account}, {"password", u.password}};
        // Where the user is homed: the home pool's external web services,
        // where other front ends redirect the user's autodiscover.
        for (const auto& home : lab.backends)
            if (!u.homePool.empty() && home.name == u.homePool)
                user["homeWebServices"] =
                    home.webServices.empty() ? lab.names.webServices : home.webServices;
        users.push_back(std::move(user));
    }
    return nlohmann::json{{"users", users}}.dump(2) + "\n";
}

std::optional<std::uint16_t> backendReadyPort(const std::string& line) {
    const std::string prefix = "READY https://";
    if (!line.starts_with(prefix)) return std::nullopt;
    const auto e = parseEndpoint(std::string_view(line).substr(prefix.size()));
    return e ? std::optional(e->port) : std::nullopt;
}

std::optional<std::pair<std::string, std::uint16_t>> proxyListenerLine(const std::string& line) {
    if (!line.starts_with("READY ")) return std::nullopt;
    std::string_view rest = std::string_view(line).substr(6);
    auto space = rest.find(' ');
    const auto e = parseEndpoint(rest.substr(0, space));
    if (!e) return std::nullopt;
    return std::make_pair(e->host, e->port);
}

namespace {

proxy::PublishingRule publishingRule(const provision::Application& a,
                                     const std::string& proxyThumbprint) {
    proxy::PublishingRule r;
    r.name = a.name;
    r.externalUrl = a.externalUrl;
    r.backendServerUrl = a.backendServerUrl;
    switch (a.externalPreAuthentication) {
        case provision::PreAuthentication::PassThrough:
            r.externalPreAuthentication = proxy::PreAuthentication::PassThrough;
            break;
        case provision::PreAuthentication::ADFS:
            r.externalPreAuthentication = proxy::PreAuthentication::ADFS;
            break;
        case provision::PreAuthentication::ClientCertificate:
            // labModeProblems refuses such a lab before anything starts.
            throw std::logic_error(a.name +
                                   ": ClientCertificate pre-authentication is not emulated");
    }
    const std::string& given =
        a.externalCertificateThumbprint.empty() ? proxyThumbprint : a.externalCertificateThumbprint;
    r.externalCertificateThumbprint = proxy::normaliseThumbprint(given).value_or(given);
    r.backendServerCertificateValidation = a.backendServerCertificateValidation;
    r.disableTranslateUrlInRequestHeaders = a.disableTranslateUrlInRequestHeaders;
    r.disableTranslateUrlInResponseHeaders = a.disableTranslateUrlInResponseHeaders;
    r.inactiveTransactionsTimeoutSec = a.inactiveTransactionsTimeoutSec;
    return r;
}

}  // namespace

proxy::ProxyConfig proxyConfig(const provision::Lab& lab, const AddressPlan& plan,
                               const std::string& proxyThumbprint,
                               const std::map<std::string, std::string>& internalDns,
                               const ProxyPaths& paths) {
    proxy::ProxyConfig cfg;
    cfg.listeners = {{plan.proxyAddress, plan.proxyPort, 443}};
    cfg.certificateStore = paths.certificateStore;
    cfg.bindingStore = paths.bindingStore;
    cfg.caBundle = paths.caBundle;
    cfg.accessLog = paths.accessLog;
    for (const auto& [hostPort, address] : internalDns)
        cfg.internalDns[asciiLower(hostPort)] = address;
    for (const auto& a : lab.applications)
        cfg.applications.push_back(publishingRule(a, proxyThumbprint));
    cfg.allowLegacyTls = std::any_of(lab.clients.begin(), lab.clients.end(), [](const auto& c) {
        return c.minTls == "1.0" || c.minTls == "1.1";
    });
    cfg.connectionAffinity = lab.proxy.connectionAffinity;
    return cfg;
}

proxy::BindingKey defaultBindingKey(const provision::DefaultBinding& binding,
                                    const std::string& proxyAddress) {
    proxy::BindingKey key{proxy::BindingKind::IpPort, "0.0.0.0", 443};
    // The lab's parser checked ipport.
    const Endpoint ipport = parseEndpoint(binding.ipport).value();
    key.port = ipport.port;
    key.host = ipport.host == "0.0.0.0" ? "0.0.0.0" : proxyAddress;
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
