#include "proxy/config.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::proxy {

namespace {

std::optional<std::uint16_t> parsePort(std::string_view text) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(port);
}

bool isIpv4(const std::string& s) {
    in_addr a{};
    return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

}  // namespace

std::string PublishedUrl::origin() const { return scheme + "://" + hostHeader(); }

std::string PublishedUrl::hostHeader() const {
    return defaultPort() ? host : host + ":" + std::to_string(port);
}

std::optional<PublishedUrl> PublishedUrl::parse(std::string_view text) {
    PublishedUrl url;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    url.scheme = asciiLower(text.substr(0, sep));
    if (url.scheme != "https" && url.scheme != "http") return std::nullopt;
    std::string_view rest = text.substr(sep + 3);
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        auto port = parsePort(authority.substr(colon + 1));
        if (!port) return std::nullopt;
        url.port = *port;
        authority = authority.substr(0, colon);
    } else {
        url.port = url.scheme == "https" ? 443 : 80;
    }
    if (authority.empty()) return std::nullopt;
    for (char c : authority) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
            return std::nullopt;
        }
    }
    url.host = asciiLower(authority);
    return url;
}

ProxyConfig parseProxyConfig(const nlohmann::json& doc, const std::filesystem::path& baseDir) {
    auto fail = [](const std::string& at, const std::string& what) {
        return ConfigError(at + ": " + what);
    };
    if (!doc.is_object()) throw fail("/", "expected an object");
    auto get = [&](const nlohmann::json& j, const std::string& at, const char* name,
                   auto kind) -> const nlohmann::json* {
        if (!j.contains(name)) return nullptr;
        const auto& v = j[name];
        bool ok = false;
        if constexpr (std::is_same_v<decltype(kind), std::string>) ok = v.is_string();
        if constexpr (std::is_same_v<decltype(kind), bool>) ok = v.is_boolean();
        if constexpr (std::is_same_v<decltype(kind), int>) ok = v.is_number_unsigned();
        if (!ok) {
            const char* want = std::is_same_v<decltype(kind), std::string> ? "a string"
                               : std::is_same_v<decltype(kind), bool>      ? "true or false"
                                                                      : "a non-negative integer";
            throw fail(at + "/" + name, std::string("expected ") + want);
        }
        return &v;
    };
    auto requireString = [&](const nlohmann::json& j, const std::string& at,
                             const char* name) -> std::string {
        auto* v = get(j, at, name, std::string{});
        if (!v) throw fail(at + "/" + name, "required");
        return v->get<std::string>();
    };
    auto pathOf = [&](const std::string& text) {
        std::filesystem::path p(text);
        return p.is_absolute() ? p : baseDir / p;
    };

    ProxyConfig cfg;
    if (!doc.contains("listeners") || !doc["listeners"].is_array() || doc["listeners"].empty()) {
        throw fail("/listeners", "expected a non-empty array");
    }
    for (std::size_t i = 0; i < doc["listeners"].size(); ++i) {
        const std::string at = "/listeners/" + std::to_string(i);
        const auto& j = doc["listeners"][i];
        if (!j.is_object()) throw fail(at, "expected an object");
        Listener l;
        l.address = requireString(j, at, "address");
        if (!isIpv4(l.address)) throw fail(at + "/address", "expected an IPv4 address");
        if (auto* v = get(j, at, "port", 0)) {
            if (v->get<unsigned>() > 65535) throw fail(at + "/port", "expected 0..65535");
            l.port = static_cast<std::uint16_t>(v->get<unsigned>());
        }
        if (auto* v = get(j, at, "publishedPort", 0)) {
            const unsigned p = v->get<unsigned>();
            if (p == 0 || p > 65535) throw fail(at + "/publishedPort", "expected 1..65535");
            l.publishedPort = static_cast<std::uint16_t>(p);
        }
        cfg.listeners.push_back(l);
    }
    cfg.certificateStore = pathOf(requireString(doc, "", "certificateStore"));
    cfg.bindingStore = pathOf(requireString(doc, "", "bindingStore"));
    cfg.caBundle = pathOf(requireString(doc, "", "caBundle"));
    if (auto* v = get(doc, "", "accessLog", std::string{}))
        cfg.accessLog = pathOf(v->get<std::string>());
    if (auto* v = get(doc, "", "adfsUrl", std::string{})) {
        if (!PublishedUrl::parse(v->get<std::string>())) throw fail("/adfsUrl", "expected a URL");
        cfg.adfsUrl = v->get<std::string>();
    }
    if (auto* v = get(doc, "", "allowLegacyTls", bool{})) cfg.allowLegacyTls = v->get<bool>();
    if (auto* v = get(doc, "", "connectionAffinity", bool{})) {
        cfg.connectionAffinity = v->get<bool>();
    }
    if (auto* v = get(doc, "", "bindingStorePollMs", 0)) {
        if (v->get<std::uint64_t>() > 3'600'000)
            throw fail("/bindingStorePollMs", "expected 0..3600000");
        cfg.bindingStorePollMs = v->get<int>();
    }
    if (doc.contains("internalDns")) {
        if (!doc["internalDns"].is_object()) throw fail("/internalDns", "expected an object");
        for (const auto& [name, addr] : doc["internalDns"].items()) {
            const std::string at = "/internalDns/" + name;
            if (!addr.is_string()) throw fail(at, "expected \"ADDR:PORT\"");
            const std::string a = addr.get<std::string>();
            const auto colon = a.rfind(':');
            if (colon == std::string::npos || !isIpv4(a.substr(0, colon)) ||
                !parsePort(a.substr(colon + 1))) {
                throw fail(at, "expected \"IPv4:PORT\", got \"" + a + "\"");
            }
            cfg.internalDns[asciiLower(name)] = a;
        }
    }
    if (doc.contains("limits")) {
        const auto& j = doc["limits"];
        if (!j.is_object()) throw fail("/limits", "expected an object");
        auto positive = [&](const char* name, auto& field) {
            if (auto* v = get(j, "/limits", name, 0)) {
                if (v->template get<std::uint64_t>() == 0) {
                    throw fail(std::string("/limits/") + name, "expected a positive number");
                }
                field = static_cast<std::remove_reference_t<decltype(field)>>(
                    v->template get<std::uint64_t>());
            }
        };
        positive("headerBlockBytes", cfg.limits.headerBlockBytes);
        positive("headerTimeoutSec", cfg.limits.headerTimeoutSec);
        positive("idleTimeoutSec", cfg.limits.idleTimeoutSec);
        positive("requestBodyLimitBytes", cfg.limits.requestBodyLimitBytes);
        positive("backendConnectTimeoutSec", cfg.limits.backendConnectTimeoutSec);
        positive("backendIdleTimeoutSec", cfg.limits.backendIdleTimeoutSec);
        positive("responseHeaderBlockBytes", cfg.limits.responseHeaderBlockBytes);
    }
    if (!doc.contains("applications") || !doc["applications"].is_array()) {
        throw fail("/applications", "expected an array");
    }
    for (std::size_t i = 0; i < doc["applications"].size(); ++i) {
        const std::string at = "/applications/" + std::to_string(i);
        const auto& j = doc["applications"][i];
        if (!j.is_object()) throw fail(at, "expected an object");
        PublishingRule r;
        r.name = requireString(j, at, "name");
        auto url = [&](const char* name) {
            const std::string text = requireString(j, at, name);
            auto u = PublishedUrl::parse(text);
            if (!u) throw fail(at + "/" + name, "expected https://HOST[:PORT]/PATH, got " + text);
            return *u;
        };
        r.externalUrl = url("externalUrl");
        r.backendServerUrl = url("backendServerUrl");
        if (r.externalUrl.scheme != "https") {
            throw fail(at + "/externalUrl", "WAP publishes https only");
        }
        if (auto* v = get(j, at, "externalPreAuthentication", std::string{})) {
            const std::string p = v->get<std::string>();
            if (p == "PassThrough")
                r.externalPreAuthentication = PreAuthentication::PassThrough;
            else if (p == "ADFS")
                r.externalPreAuthentication = PreAuthentication::ADFS;
            else if (p == "ClientCertificate") {
                throw fail(at + "/externalPreAuthentication",
                           "ClientCertificate pre-authentication is not emulated");
            } else {
                throw fail(at + "/externalPreAuthentication",
                           "expected PassThrough or ADFS, got " + p);
            }
        }
        auto thumb = normaliseThumbprint(requireString(j, at, "externalCertificateThumbprint"));
        if (!thumb) throw fail(at + "/externalCertificateThumbprint", "expected 40 hex digits");
        r.externalCertificateThumbprint = *thumb;
        if (j.contains("backendServerCertificateValidation")) {
            // WAP takes None | ValidateCertificate; a boolean reads the same.
            const auto& v = j["backendServerCertificateValidation"];
            if (v.is_boolean())
                r.backendServerCertificateValidation = v.get<bool>();
            else if (v == "None")
                r.backendServerCertificateValidation = false;
            else if (v == "ValidateCertificate")
                r.backendServerCertificateValidation = true;
            else {
                throw fail(at + "/backendServerCertificateValidation",
                           "expected None or ValidateCertificate");
            }
        }
        if (auto* v = get(j, at, "disableTranslateUrlInRequestHeaders", bool{})) {
            r.disableTranslateUrlInRequestHeaders = v->get<bool>();
        }
        if (auto* v = get(j, at, "disableTranslateUrlInResponseHeaders", bool{})) {
            r.disableTranslateUrlInResponseHeaders = v->get<bool>();
        }
        if (auto* v = get(j, at, "inactiveTransactionsTimeoutSec", 0)) {
            r.inactiveTransactionsTimeoutSec = v->get<int>();
            if (r.inactiveTransactionsTimeoutSec <= 0) {
                throw fail(at + "/inactiveTransactionsTimeoutSec", "expected a positive number");
            }
        }
        if (auto* v = get(j, at, "requestBodyLimitBytes", 0)) {
            r.requestBodyLimitBytes = v->get<std::uint64_t>();
        }
        if (!cfg.internalDns.count(r.backendServerUrl.host + ":" +
                                   std::to_string(r.backendServerUrl.port))) {
            throw fail(at + "/backendServerUrl",
                       "no /internalDns entry for " + r.backendServerUrl.host + ":" +
                           std::to_string(r.backendServerUrl.port) +
                           " (the proxy never uses the system resolver for lab names)");
        }
        if (r.backendServerUrl.scheme != "https") {
            throw fail(at + "/backendServerUrl", "backends are reached over https");
        }
        for (std::size_t k = 0; k < cfg.applications.size(); ++k) {
            if (cfg.applications[k].externalUrl.str() == r.externalUrl.str()) {
                throw fail(at + "/externalUrl",
                           "already published by /applications/" + std::to_string(k));
            }
        }
        cfg.applications.push_back(std::move(r));
    }
    return cfg;
}

ProxyConfig loadProxyConfig(const std::filesystem::path& file) {
    std::string text;
    try {
        text = readFile(file);
    } catch (const std::exception& e) {
        throw ConfigError(e.what());
    }
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw ConfigError(file.string() + ": not JSON: " + e.what());
    }
    try {
        return parseProxyConfig(doc, file.parent_path());
    } catch (const ConfigError& e) {
        throw ConfigError(file.string() + ": " + e.what());
    }
}

}  // namespace edgelab::proxy
