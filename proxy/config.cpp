#include "proxy/config.hpp"

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::proxy {

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
        // A document built in memory keeps a signed integer as signed.
        if constexpr (std::is_same_v<decltype(kind), int>)
            ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
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
        if (!isIpv4Address(l.address)) throw fail(at + "/address", "expected an IPv4 address");
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
        if (!Url::parse(v->get<std::string>())) throw fail("/adfsUrl", "expected a URL");
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
            if (auto e = parseEndpoint(a); !e) throw fail(at, e.error());
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
            auto u = Url::parse(text);
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

namespace {

nlohmann::json toJson(const PublishingRule& r) {
    return {
        {"name", r.name},
        {"externalUrl", r.externalUrl.str()},
        {"backendServerUrl", r.backendServerUrl.str()},
        {"externalPreAuthentication",
         r.externalPreAuthentication == PreAuthentication::PassThrough ? "PassThrough" : "ADFS"},
        {"externalCertificateThumbprint", r.externalCertificateThumbprint},
        {"backendServerCertificateValidation",
         r.backendServerCertificateValidation ? "ValidateCertificate" : "None"},
        {"disableTranslateUrlInRequestHeaders", r.disableTranslateUrlInRequestHeaders},
        {"disableTranslateUrlInResponseHeaders", r.disableTranslateUrlInResponseHeaders},
        {"inactiveTransactionsTimeoutSec", r.inactiveTransactionsTimeoutSec},
        {"requestBodyLimitBytes", r.requestBodyLimitBytes},
    };
}

nlohmann::json toJson(const ProxyLimits& l) {
    return {
        {"headerBlockBytes", l.headerBlockBytes},
        {"headerTimeoutSec", l.headerTimeoutSec},
        {"idleTimeoutSec", l.idleTimeoutSec},
        {"requestBodyLimitBytes", l.requestBodyLimitBytes},
        {"backendConnectTimeoutSec", l.backendConnectTimeoutSec},
        {"backendIdleTimeoutSec", l.backendIdleTimeoutSec},
        {"responseHeaderBlockBytes", l.responseHeaderBlockBytes},
    };
}

}  // namespace

nlohmann::json toJson(const ProxyConfig& cfg) {
    nlohmann::json listeners = nlohmann::json::array();
    for (const auto& l : cfg.listeners)
        listeners.push_back(
            {{"address", l.address}, {"port", l.port}, {"publishedPort", l.publishedPort}});
    nlohmann::json applications = nlohmann::json::array();
    for (const auto& r : cfg.applications) applications.push_back(toJson(r));
    nlohmann::json doc = {
        {"listeners", listeners},
        {"certificateStore", cfg.certificateStore.string()},
        {"bindingStore", cfg.bindingStore.string()},
        {"caBundle", cfg.caBundle.string()},
        {"internalDns", cfg.internalDns},
        {"applications", applications},
        {"adfsUrl", cfg.adfsUrl},
        {"limits", toJson(cfg.limits)},
        {"allowLegacyTls", cfg.allowLegacyTls},
        {"connectionAffinity", cfg.connectionAffinity},
        {"bindingStorePollMs", cfg.bindingStorePollMs},
    };
    if (cfg.accessLog) doc["accessLog"] = cfg.accessLog->string();
    return doc;
}

BindingStore withApplicationBindings(BindingStore store, const ProxyConfig& cfg) {
    for (const auto& app : cfg.applications) {
        BindingKey key{BindingKind::HostnamePort, app.externalUrl.host, app.externalUrl.port};
        if (store.find(key)) continue;
        store.bindings.push_back(
            {key, app.externalCertificateThumbprint, std::string(kWapApplicationId), "MY"});
    }
    return store;
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
