#include "proxy/config.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "common/json_text.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::proxy {

namespace {

using json = nlohmann::json;

ConfigError fail(const std::string& at, const std::string& what) {
    return ConfigError(at + ": " + what);
}

enum class Kind { String, Bool, Count };

// The member `name` of `j` (at JSON path `at`) when present; ConfigError
// when it is there with another type.
const json* member(const json& j, const std::string& at, const char* name, Kind kind) {
    if (!j.contains(name)) return nullptr;
    const auto& v = j[name];
    // A document built in memory keeps a signed integer as signed.
    const bool count =
        v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    const bool ok = kind == Kind::String ? v.is_string()
                    : kind == Kind::Bool ? v.is_boolean()
                                         : count;
    if (!ok) {
        const char* want = kind == Kind::String ? "a string"
                           : kind == Kind::Bool ? "true or false"
                                                : "a non-negative integer";
        throw fail(at + "/" + name, std::string("expected ") + want);
    }
    return &v;
}

std::string requireString(const json& j, const std::string& at, const char* name) {
    const json* v = member(j, at, name, Kind::String);
    if (!v) throw fail(at + "/" + name, "required");
    return v->get<std::string>();
}

std::filesystem::path pathOf(const std::string& text, const std::filesystem::path& baseDir) {
    std::filesystem::path p(text);
    return p.is_absolute() ? p : baseDir / p;
}

Listener readListener(const json& j, const std::string& at) {
    if (!j.is_object()) throw fail(at, "expected an object");
    Listener l;
    l.address = requireString(j, at, "address");
    if (!isIpv4Address(l.address)) throw fail(at + "/address", "expected an IPv4 address");
    if (const json* v = member(j, at, "port", Kind::Count)) {
        if (v->get<std::uint64_t>() > 65535) throw fail(at + "/port", "expected 0..65535");
        l.port = static_cast<std::uint16_t>(v->get<unsigned>());
    }
    if (const json* v = member(j, at, "publishedPort", Kind::Count)) {
        const std::uint64_t p = v->get<std::uint64_t>();
        if (p == 0 || p > 65535) throw fail(at + "/publishedPort", "expected 1..65535");
        l.publishedPort = static_cast<std::uint16_t>(p);
    }
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

// The members outside listeners, internalDns, limits and applications.
void readSettings(const json& doc, const std::filesystem::path& baseDir, ProxyConfig& cfg) {
    cfg.certificateStore = pathOf(requireString(doc, "", "certificateStore"), baseDir);
    cfg.bindingStore = pathOf(requireString(doc, "", "bindingStore"), baseDir);
    cfg.caBundle = pathOf(requireString(doc, "", "caBundle"), baseDir);
    if (const json* v = member(doc, "", "accessLog", Kind::String))
        cfg.accessLog = pathOf(v->get<std::string>(), baseDir);
    if (const json* v = member(doc, "", "adfsUrl", Kind::String)) {
        if (!Url::parse(v->get<std::string>())) throw fail("/adfsUrl", "expected a URL");
        cfg.adfsUrl = v->get<std::string>();
    }
    if (const json* v = member(doc, "", "allowLegacyTls", Kind::Bool))
        cfg.allowLegacyTls = v->get<bool>();
    if (const json* v = member(doc, "", "tlsSessionResumption", Kind::Bool))
        cfg.tlsSessionResumption = v->get<bool>();
    if (const json* v = member(doc, "", "tls13CipherSuites", Kind::String)) {
        if (auto bad = unknownTls13CipherSuite(v->get<std::string>()))
            throw fail("/tls13CipherSuites", *bad);
        cfg.tls13CipherSuites = v->get<std::string>();
    }
    if (const json* v = member(doc, "", "connectionAffinity", Kind::Bool))
        cfg.connectionAffinity = v->get<bool>();
    if (const json* v = member(doc, "", "bindingStorePollMs", Kind::Count)) {
        if (v->get<std::uint64_t>() > 3'600'000)
            throw fail("/bindingStorePollMs", "expected 0..3600000");
        cfg.bindingStorePollMs = v->get<int>();
    }
}

std::map<std::string, std::string> readInternalDns(const json& doc) {
    std::map<std::string, std::string> dns;
    if (!doc.contains("internalDns")) return dns;
    if (!doc["internalDns"].is_object()) throw fail("/internalDns", "expected an object");
    for (const auto& [name, addr] : doc["internalDns"].items()) {
        const std::string at = "/internalDns/" + name;
        if (!addr.is_string()) throw fail(at, "expected \"ADDR:PORT\"");
        const std::string a = addr.get<std::string>();
        if (auto e = parseEndpoint(a); !e) throw fail(at, e.error());
        dns[asciiLower(name)] = a;
    }
    return dns;
}

constexpr std::size_t kMaxTlsSessionCacheSize = 10'000'000;

ProxyLimits readLimits(const json& doc) {
    ProxyLimits limits;
    if (!doc.contains("limits")) return limits;
    const auto& j = doc["limits"];
    if (!j.is_object()) throw fail("/limits", "expected an object");
    auto positive = [&](const char* name, auto& field) {
        if (const json* v = member(j, "/limits", name, Kind::Count)) {
            if (v->get<std::uint64_t>() == 0)
                throw fail(std::string("/limits/") + name, "expected a positive number");
            field = static_cast<std::remove_reference_t<decltype(field)>>(v->get<std::uint64_t>());
        }
    };
    positive("headerBlockBytes", limits.headerBlockBytes);
    positive("headerTimeoutSec", limits.headerTimeoutSec);
    positive("idleTimeoutSec", limits.idleTimeoutSec);
    positive("requestBodyLimitBytes", limits.requestBodyLimitBytes);
    positive("backendConnectTimeoutSec", limits.backendConnectTimeoutSec);
    positive("backendIdleTimeoutSec", limits.backendIdleTimeoutSec);
    positive("responseHeaderBlockBytes", limits.responseHeaderBlockBytes);
    positive("tlsSessionCacheSize", limits.tlsSessionCacheSize);
    positive("lingeringTimeSec", limits.lingeringTimeSec);
    positive("lingeringTimeoutSec", limits.lingeringTimeoutSec);
    positive("lingeringBytes", limits.lingeringBytes);
    // About 1 KiB a session: ten million is 10 GiB, past any lab's need.
    if (limits.tlsSessionCacheSize > kMaxTlsSessionCacheSize)
        throw fail("/limits/tlsSessionCacheSize",
                   "expected 1.." + std::to_string(kMaxTlsSessionCacheSize));
    return limits;
}

PreAuthentication readPreAuthentication(const json& j, const std::string& at) {
    const json* v = member(j, at, "externalPreAuthentication", Kind::String);
    if (!v) return PreAuthentication::ADFS;  // WAP's default
    const std::string p = v->get<std::string>();
    if (p == "PassThrough") return PreAuthentication::PassThrough;
    if (p == "ADFS") return PreAuthentication::ADFS;
    if (p == "ClientCertificate")
        throw fail(at + "/externalPreAuthentication",
                   "ClientCertificate pre-authentication is not emulated");
    throw fail(at + "/externalPreAuthentication", "expected PassThrough or ADFS, got " + p);
}

bool readBackendValidation(const json& j, const std::string& at) {
    if (!j.contains("backendServerCertificateValidation")) return true;
    // WAP takes None | ValidateCertificate; a boolean reads the same.
    const auto& v = j["backendServerCertificateValidation"];
    if (v.is_boolean()) return v.get<bool>();
    if (v == "None") return false;
    if (v == "ValidateCertificate") return true;
    throw fail(at + "/backendServerCertificateValidation", "expected None or ValidateCertificate");
}

// One application; what it needs of the others (internal DNS, the rules
// already read) is checked by the caller.
PublishingRule readApplication(const json& j, const std::string& at) {
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
    if (r.externalUrl.scheme != "https")
        throw fail(at + "/externalUrl", "WAP publishes https only");
    if (r.backendServerUrl.scheme != "https")
        throw fail(at + "/backendServerUrl", "backends are reached over https");
    r.externalPreAuthentication = readPreAuthentication(j, at);
    auto thumb = normaliseThumbprint(requireString(j, at, "externalCertificateThumbprint"));
    if (!thumb) throw fail(at + "/externalCertificateThumbprint", "expected 40 hex digits");
    r.externalCertificateThumbprint = *thumb;
    r.backendServerCertificateValidation = readBackendValidation(j, at);
    if (const json* v = member(j, at, "disableTranslateUrlInRequestHeaders", Kind::Bool))
        r.disableTranslateUrlInRequestHeaders = v->get<bool>();
    if (const json* v = member(j, at, "disableTranslateUrlInResponseHeaders", Kind::Bool))
        r.disableTranslateUrlInResponseHeaders = v->get<bool>();
    if (const json* v = member(j, at, "inactiveTransactionsTimeoutSec", Kind::Count)) {
        r.inactiveTransactionsTimeoutSec = v->get<int>();
        if (r.inactiveTransactionsTimeoutSec <= 0)
            throw fail(at + "/inactiveTransactionsTimeoutSec", "expected a positive number");
    }
    if (const json* v = member(j, at, "requestBodyLimitBytes", Kind::Count))
        r.requestBodyLimitBytes = v->get<std::uint64_t>();
    return r;
}

void addApplication(ProxyConfig& cfg, PublishingRule r, const std::string& at) {
    const std::string backend = r.backendServerUrl.hostPort();
    if (!cfg.internalDns.count(backend))
        throw fail(at + "/backendServerUrl",
                   "no /internalDns entry for " + backend +
                       " (the proxy never uses the system resolver for lab names)");
    for (std::size_t k = 0; k < cfg.applications.size(); ++k)
        if (cfg.applications[k].externalUrl.str() == r.externalUrl.str())
            throw fail(at + "/externalUrl",
                       "already published by /applications/" + std::to_string(k));
    cfg.applications.push_back(std::move(r));
}

}  // namespace

ProxyConfig parseProxyConfig(const nlohmann::json& doc, const std::filesystem::path& baseDir) {
    if (!doc.is_object()) throw fail("/", "expected an object");
    ProxyConfig cfg;
    if (!doc.contains("listeners") || !doc["listeners"].is_array() || doc["listeners"].empty())
        throw fail("/listeners", "expected a non-empty array");
    for (std::size_t i = 0; i < doc["listeners"].size(); ++i)
        cfg.listeners.push_back(
            readListener(doc["listeners"][i], "/listeners/" + std::to_string(i)));
    readSettings(doc, baseDir, cfg);
    cfg.internalDns = readInternalDns(doc);
    cfg.limits = readLimits(doc);
    if (!doc.contains("applications") || !doc["applications"].is_array())
        throw fail("/applications", "expected an array");
    for (std::size_t i = 0; i < doc["applications"].size(); ++i) {
        const std::string at = "/applications/" + std::to_string(i);
        addApplication(cfg, readApplication(doc["applications"][i], at), at);
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
