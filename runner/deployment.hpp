// What the runner hands to the lab's processes, as pure functions of the lab,
// its address plan and its PKI: the backends' command lines, the proxy's
// configuration (proxy/README.md) with the WAP publishing rules, the
// hostname bindings WAP creates when it publishes, the default binding the
// seed adds, and how a client reaches the result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "provision/lab.hpp"
#include "provision/pki.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/config.hpp"
#include "runner/address_plan.hpp"

namespace edgelab::runner {

namespace fs = std::filesystem;

std::vector<std::string> backendArguments(const provision::Lab& lab,
                                          const provision::Backend& backend,
                                          const PlannedBackend& planned,
                                          const provision::StoredCertificate& cert,
                                          const fs::path& accessLog,
                                          const fs::path& usersFile = {});

// The users file a Lync front end reads with --users-file: the lab's test
// users with their passwords, for that process alone (the runner writes it
// owner-only; passwords never go on a command line). Empty without users or
// for another role.
std::string backendUsersFile(const provision::Lab& lab, const provision::Backend& backend);

// "READY https://ADDR:PORT" -> port; nullopt for any other line.
std::optional<std::uint16_t> backendReadyPort(const std::string& line);
// "READY ADDR:PORT published=N" -> {ADDR, PORT}; nullopt for any other line.
std::optional<std::pair<std::string, std::uint16_t>> proxyListenerLine(const std::string& line);

struct ProxyPaths {
    fs::path certificateStore;
    fs::path bindingStore;
    fs::path caBundle;
    fs::path accessLog;
};

// The proxy's configuration (written as proxy.json with proxy::toJson): one
// listener on the proxy's address standing for 443, the applications as
// Add-WebApplicationProxyApplication has them (an empty thumbprint is the
// lab's proxy certificate), the internal DNS view. The hostname bindings WAP
// adds when it publishes are proxy::withApplicationBindings of it. Throws
// for what the proxy does not emulate (ClientCertificate pre-authentication).
proxy::ProxyConfig proxyConfig(const provision::Lab& lab, const AddressPlan& plan,
                               const std::string& proxyThumbprint,
                               const std::map<std::string, std::string>& internalDns,
                               const ProxyPaths& paths);

// The ipport binding the lab asks for. Bindings speak published ports, so
// the port stays the lab's; an address other than 0.0.0.0 is the Windows
// server's and becomes the proxy's loopback address.
proxy::BindingKey defaultBindingKey(const provision::DefaultBinding& binding,
                                    const std::string& proxyAddress);

// curl --connect-to, one per public name: "name:443:ADDR:PORT".
std::vector<std::string> connectToEntries(const provision::Lab& lab,
                                          const std::string& proxyAddress, std::uint16_t proxyPort);
// Hosts-file lines for a real client: "ADDR name".
std::vector<std::string> hostsLines(const provision::Lab& lab, const std::string& proxyAddress);

}  // namespace edgelab::runner
