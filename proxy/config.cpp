#include "proxy/config.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "common/json_reader.hpp"
#include "common/json_text.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::proxy {

namespace {

using json = nlohmann::json;
using Errors = std::vector<JsonError>;

std::filesystem::path pathOf(const std::string& text, const std::filesystem::path& baseDir) {
    std::filesystem::path p(text);
    return p.is_absolute() ? p : baseDir / p;
}

// A port from `key`, in [min, 65535].
template <typename Reader>
std::optional<std::uint16_t> port(Reader& r, std::string_view key, std::uint64_t min) {
    auto v = r.count(key);
    if (!v) return std::nullopt;
    if (*v < min || *v > 65535) {
        r.error(key, "expected " + std::to_string(min) + "..65535, got " + std::to_string(*v));
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(*v);
}

std::optional<Listener> readListener(const json& j, const std::string& at, Errors& errors) {
    if (!isJsonObject(j, at, errors)) return std::nullopt;
    JsonObjectReader r(j, at, errors);
    Listener l;
    if (auto a = r.string("address", true)) {
        if (!isIpv4Address(*a)) r.error("address", "expected an IPv4 address, got \"" + *a + "\"");
        l.address = *a;
    }
    l.port = port(r, "port", 0).value_or(l.port);
    l.publishedPort = port(r, "publishedPort", 1).value_or(l.publishedPort);
    r.finish();
    return l;
}

// Why `list` is not a list of TLS 1.3 cipher suites (RFC 8446 appendix B.4,
// by OpenSSL's names), or nothing when it is one.
std::optional<std::string> unknownTls13CipherSuite(std::string_view list) {
    static constexpr std::string_view known[] = {
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};
    if (list.empty()) return "expected at least one TLS 1.3 cipher suite";
    for (std::size_t start = 0; start <= list.size();) {
        const std::size_t end = std::min(list.find(':', start), list.size());
        const std::string_view name = list.substr(start, end - start);
        if (std::find(std::begin(known), std::end(known), name) == std::end(known))
            return "\"" + std::string(name) + "\" is not a TLS 1.3 cipher suite (expected " +
                   "names such as TLS_AES_128_GCM_SHA256, separated by ':')";
        start = end + 1;
    }
    return std::nullopt;
}

void readTlsSettings(JsonObjectReader& r, ProxyConfig& cfg) {
    cfg.allowLegacyTls = r.boolean("allowLegacyTls").value_or(cfg.allowLegacyTls);
    cfg.tlsSessionResumption = r.boolean("tlsSessionResumption").value_or(cfg.tlsSessionResumption);
    cfg.backendTlsSessionResumption =
        r.boolean("backendTlsSessionResumption").value_or(cfg.backendTlsSessionResumption);
    if (auto v = r.string("tls13CipherSuites")) {
        if (auto bad = unknownTls13CipherSuite(*v))
            r.error("tls13CipherSuites", *bad);
        else
            cfg.tls13CipherSuites = *v;
    }
}

// The members outside listeners, internalDns, limits and applications.
void readSettings(JsonObjectReader& r, const std::filesystem::path& baseDir, ProxyConfig& cfg) {
    for (auto [key, field] :
         {std::pair{"certificateStore", &cfg.certificateStore},
          std::pair{"bindingStore", &cfg.bindingStore}, std::pair{"caBundle", &cfg.caBundle}})
        if (auto v = r.string(key, true)) *field = pathOf(*v, baseDir);
    if (auto v = r.string("accessLog")) cfg.accessLog = pathOf(*v, baseDir);
    if (auto v = r.string("adfsUrl")) {
        if (!Url::parse(*v))
            r.error("adfsUrl", "expected a URL, got \"" + *v + "\"");
        else
            cfg.adfsUrl = *v;
    }
    readTlsSettings(r, cfg);
    cfg.connectionAffinity = r.boolean("connectionAffinity").value_or(cfg.connectionAffinity);
    if (auto v = r.count("bindingStorePollMs")) {
        if (*v > 3'600'000)
            r.error("bindingStorePollMs", "expected 0..3600000, got " + std::to_string(*v));
        else
            cfg.bindingStorePollMs = static_cast<int>(*v);
    }
}

std::map<std::string, std::string> readInternalDns(JsonObjectReader& r) {
    std::map<std::string, std::string> dns;
    const json* v = r.object("internalDns");
    if (!v) return dns;
    for (const auto& [name, addr] : v->items()) {
        const std::string at = r.at("internalDns") + "/" + jsonPointerToken(name);
        if (!addr.is_string()) {
            r.errors().push_back({at, "expected \"ADDR:PORT\", got " + describeJsonValue(addr)});
            continue;
        }
        const std::string a = addr.get<std::string>();
        if (auto e = parseEndpoint(a); !e)
            r.errors().push_back({at, e.error()});
        else
            dns[asciiLower(name)] = a;
    }
    return dns;
}

constexpr std::size_t kMaxTlsSessionCacheSize = 10'000'000;

// A limit: a whole number from 1 to what its field holds.
template <typename Field>
void positive(JsonObjectReader& r, std::string_view key, Field& field) {
    auto v = r.count(key);
    if (!v) return;
    if (*v == 0)
        r.error(key, "expected a positive number");
    else if (*v > static_cast<std::uint64_t>(std::numeric_limits<Field>::max()))
        r.error(key, "expected 1.." + std::to_string(std::numeric_limits<Field>::max()));
    else
        field = static_cast<Field>(*v);
}

ProxyLimits readLimits(JsonObjectReader& root) {
    ProxyLimits limits;
    const json* v = root.object("limits");
    if (!v) return limits;
    JsonObjectReader r(*v, root.at("limits"), root.errors());
    positive(r, "headerBlockBytes", limits.headerBlockBytes);
    positive(r, "headerTimeoutSec", limits.headerTimeoutSec);
    positive(r, "idleTimeoutSec", limits.idleTimeoutSec);
    positive(r, "requestBodyLimitBytes", limits.requestBodyLimitBytes);
    positive(r, "backendConnectTimeoutSec", limits.backendConnectTimeoutSec);
    positive(r, "backendIdleTimeoutSec", limits.backendIdleTimeoutSec);
    positive(r, "responseHeaderBlockBytes", limits.responseHeaderBlockBytes);
    positive(r, "tlsSessionCacheSize", limits.tlsSessionCacheSize);
    positive(r, "lingeringTimeSec", limits.lingeringTimeSec);
    positive(r, "lingeringTimeoutSec", limits.lingeringTimeoutSec);
    positive(r, "lingeringBytes", limits.lingeringBytes);
    // About 1 KiB a session: ten million is 10 GiB, past any lab's need.
    if (limits.tlsSessionCacheSize > kMaxTlsSessionCacheSize) {
        r.error("tlsSessionCacheSize", "expected 1.." + std::to_string(kMaxTlsSessionCacheSize));
        limits.tlsSessionCacheSize = ProxyLimits{}.tlsSessionCacheSize;
    }
    r.finish();
    return limits;
}

PreAuthentication readPreAuthentication(JsonObjectReader& r) {
    const json* v = r.get("externalPreAuthentication");
    if (v && *v == "ClientCertificate") {
        r.error("externalPreAuthentication",
                "ClientCertificate pre-authentication is not emulated");
        return PreAuthentication::ADFS;
    }
    return r
        .choice<PreAuthentication>(
            "externalPreAuthentication",
            {{"PassThrough", PreAuthentication::PassThrough}, {"ADFS", PreAuthentication::ADFS}})
        .value_or(PreAuthentication::ADFS);  // WAP's default
}

bool readBackendValidation(JsonObjectReader& r) {
    const char* key = "backendServerCertificateValidation";
    const json* v = r.get(key);
    if (!v) return true;
    // WAP takes None | ValidateCertificate; a boolean reads the same.
    if (v->is_boolean()) return v->get<bool>();
    if (*v == "None") return false;
    if (*v == "ValidateCertificate") return true;
    r.error(key, "expected None or ValidateCertificate, got " + describeJsonValue(*v));
    return true;
}

std::optional<Url> readHttpsUrl(JsonObjectReader& r, const char* key, const char* why) {
    auto text = r.string(key, true);
    if (!text) return std::nullopt;
    auto u = Url::parse(*text);
    if (!u) {
        r.error(key, "expected https://HOST[:PORT]/PATH, got " + *text);
        return std::nullopt;
    }
    if (u->scheme != "https") {
        r.error(key, why);
        return std::nullopt;
    }
    return u;
}

void readApplicationOptions(JsonObjectReader& r, PublishingRule& rule) {
    rule.backendServerCertificateValidation = readBackendValidation(r);
    for (auto [key, field] : {std::pair{"disableTranslateUrlInRequestHeaders",
                                        &rule.disableTranslateUrlInRequestHeaders},
                              std::pair{"disableTranslateUrlInResponseHeaders",
                                        &rule.disableTranslateUrlInResponseHeaders}})
        *field = r.boolean(key).value_or(*field);
    positive(r, "inactiveTransactionsTimeoutSec", rule.inactiveTransactionsTimeoutSec);
    rule.requestBodyLimitBytes = r.count("requestBodyLimitBytes").value_or(0);
}

// One application, or nothing when it has an error; what it needs of the
// others (internal DNS, the rules already read) is checked by the caller.
std::optional<PublishingRule> readApplication(const json& j, const std::string& at,
                                              Errors& errors) {
    if (!isJsonObject(j, at, errors)) return std::nullopt;
    const std::size_t before = errors.size();
    JsonObjectReader r(j, at, errors);
    PublishingRule rule;
    rule.name = r.string("name", true).value_or("");
    auto external = readHttpsUrl(r, "externalUrl", "WAP publishes https only");
    auto backend = readHttpsUrl(r, "backendServerUrl", "backends are reached over https");
    rule.externalPreAuthentication = readPreAuthentication(r);
    if (auto text = r.string("externalCertificateThumbprint", true)) {
        auto thumb = normaliseThumbprint(*text);
        if (!thumb)
            r.error("externalCertificateThumbprint",
                    "expected 40 hex digits, got \"" + *text + "\"");
        rule.externalCertificateThumbprint = thumb.value_or("");
    }
    readApplicationOptions(r, rule);
    r.finish();
    if (errors.size() != before || !external || !backend) return std::nullopt;
    rule.externalUrl = *external;
    rule.backendServerUrl = *backend;
    return rule;
}

void addApplication(ProxyConfig& cfg, PublishingRule r, const std::string& at, Errors& errors) {
    const std::string backend = r.backendServerUrl.hostPort();
    if (!cfg.internalDns.count(backend))
        errors.push_back({at + "/backendServerUrl",
                          "no /internalDns entry for " + backend +
                              " (the proxy never uses the system resolver for lab names)"});
    for (std::size_t k = 0; k < cfg.applications.size(); ++k)
        if (cfg.applications[k].externalUrl.str() == r.externalUrl.str())
            errors.push_back(
                {at + "/externalUrl", "already published by /applications/" + std::to_string(k)});
    cfg.applications.push_back(std::move(r));
}

void readListeners(JsonObjectReader& root, ProxyConfig& cfg) {
    const json* v = root.array("listeners", true);
    if (!v) return;
    if (v->empty()) root.error("listeners", "expected a non-empty array");
    for (std::size_t i = 0; i < v->size(); ++i)
        if (auto l = readListener((*v)[i], root.at("listeners") + "/" + std::to_string(i),
                                  root.errors()))
            cfg.listeners.push_back(*l);
}

}  // namespace

ConfigError::ConfigError(std::vector<JsonError> errors)
    : std::runtime_error(describeJsonErrors("", errors)), errors_(std::move(errors)) {}

ProxyConfig parseProxyConfig(const nlohmann::json& doc, const std::filesystem::path& baseDir) {
    Errors errors;
    if (!isJsonObject(doc, "", errors)) throw ConfigError(std::move(errors));
    JsonObjectReader root(doc, "", errors);
    ProxyConfig cfg;
    readListeners(root, cfg);
    readSettings(root, baseDir, cfg);
    cfg.internalDns = readInternalDns(root);
    cfg.limits = readLimits(root);
    if (const json* apps = root.array("applications", true)) {
        for (std::size_t i = 0; i < apps->size(); ++i) {
            const std::string at = "/applications/" + std::to_string(i);
            if (auto rule = readApplication((*apps)[i], at, errors))
                addApplication(cfg, std::move(*rule), at, errors);
        }
    }
    root.finish();
    if (!errors.empty()) throw ConfigError(std::move(errors));
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
        {"tlsSessionCacheSize", l.tlsSessionCacheSize},
        {"lingeringTimeSec", l.lingeringTimeSec},
        {"lingeringTimeoutSec", l.lingeringTimeoutSec},
        {"lingeringBytes", l.lingeringBytes},
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
        {"tlsSessionResumption", cfg.tlsSessionResumption},
        {"backendTlsSessionResumption", cfg.backendTlsSessionResumption},
        {"tls13CipherSuites", cfg.tls13CipherSuites},
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
    auto doc = readJsonText(text, {.refuseDuplicateKeys = true});
    if (!doc) throw ConfigError(file.string() + ": " + doc.error());
    try {
        return parseProxyConfig(*doc, file.parent_path());
    } catch (const ConfigError& e) {
        throw ConfigError(file.string() + ": " + e.what());
    }
}

}  // namespace edgelab::proxy
