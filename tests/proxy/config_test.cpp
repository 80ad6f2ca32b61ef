#include "proxy/config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace edgelab::proxy {
namespace {

nlohmann::json minimal() {
    return nlohmann::json::parse(R"({
      "listeners": [{"address": "127.4.0.1", "port": 0, "publishedPort": 443}],
      "certificateStore": "store", "bindingStore": "bindings.json", "caBundle": "/pki/root.pem",
      "internalDns": {"lyncfe1.contoso.local:4443": "127.4.1.1:34000"},
      "applications": [{"name": "lyncws", "externalUrl": "https://lyncws.contoso.com/",
        "backendServerUrl": "https://lyncfe1.contoso.local:4443/",
        "externalPreAuthentication": "PassThrough",
        "externalCertificateThumbprint": "0123456789abcdef0123456789abcdef01234567"}]
    })");
}

std::string errorOf(const nlohmann::json& doc) {
    try {
        parseProxyConfig(doc, "/etc/edgelab");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST(ProxyConfig, Minimal) {
    auto cfg = parseProxyConfig(minimal(), "/etc/edgelab");
    EXPECT_EQ(cfg.certificateStore, "/etc/edgelab/store");
    EXPECT_EQ(cfg.caBundle, "/pki/root.pem");
    ASSERT_EQ(cfg.applications.size(), 1u);
    const auto& a = cfg.applications[0];
    EXPECT_EQ(a.backendServerUrl.port, 4443);
    EXPECT_EQ(a.externalCertificateThumbprint, "0123456789ABCDEF0123456789ABCDEF01234567");
    EXPECT_EQ(a.inactiveTransactionsTimeoutSec, 300);
    EXPECT_TRUE(a.backendServerCertificateValidation);
    EXPECT_EQ(cfg.limits.headerBlockBytes, 16384u);
    EXPECT_EQ(cfg.limits.backendIdleTimeoutSec, 30);
    EXPECT_EQ(cfg.limits.responseHeaderBlockBytes, 65536u);
    EXPECT_TRUE(cfg.connectionAffinity);
    EXPECT_TRUE(cfg.tlsSessionResumption);
    EXPECT_TRUE(cfg.backendTlsSessionResumption);
    EXPECT_EQ(cfg.bindingStorePollMs, 250);
}

TEST(ProxyConfig, SessionResumptionCanBeTurnedOff) {
    auto doc = minimal();
    doc["tlsSessionResumption"] = false;
    EXPECT_FALSE(parseProxyConfig(doc, "/etc/edgelab").tlsSessionResumption);
    doc["tlsSessionResumption"] = "off";
    EXPECT_NE(errorOf(doc).find("/tlsSessionResumption: expected true or false"), std::string::npos)
        << errorOf(doc);
    doc = minimal();
    doc["backendTlsSessionResumption"] = false;
    EXPECT_FALSE(parseProxyConfig(doc, "/etc/edgelab").backendTlsSessionResumption);
    doc["backendTlsSessionResumption"] = 1;
    EXPECT_NE(errorOf(doc).find("/backendTlsSessionResumption: expected true or false"),
              std::string::npos)
        << errorOf(doc);
}

TEST(ProxyConfig, SessionCacheSizeIsAPositiveLimit) {
    auto doc = minimal();
    EXPECT_EQ(parseProxyConfig(doc, "/etc/edgelab").limits.tlsSessionCacheSize, 10240u);
    doc["limits"] = {{"tlsSessionCacheSize", 100u}};
    EXPECT_EQ(parseProxyConfig(doc, "/etc/edgelab").limits.tlsSessionCacheSize, 100u);
    doc["limits"] = {{"tlsSessionCacheSize", 0u}};
    EXPECT_NE(errorOf(doc).find("/limits/tlsSessionCacheSize: expected a positive number"),
              std::string::npos)
        << errorOf(doc);
    doc["limits"] = {{"tlsSessionCacheSize", 10'000'001u}};
    EXPECT_NE(errorOf(doc).find("/limits/tlsSessionCacheSize: expected 1..10000000"),
              std::string::npos)
        << errorOf(doc);
}

TEST(ProxyConfig, Tls13CipherSuitesAreKnownNamesInOrder) {
    auto doc = minimal();
    EXPECT_EQ(parseProxyConfig(doc, "/etc/edgelab").tls13CipherSuites,
              "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    doc["tls13CipherSuites"] = "TLS_AES_256_GCM_SHA384";
    EXPECT_EQ(parseProxyConfig(doc, "/etc/edgelab").tls13CipherSuites, "TLS_AES_256_GCM_SHA384");
    // A TLS 1.2 name, an empty list, an empty name, and a number are each refused by name.
    for (const char* bad : {"ECDHE-RSA-AES128-GCM-SHA256", "", "TLS_AES_128_GCM_SHA256:"}) {
        doc["tls13CipherSuites"] = bad;
        const std::string error = errorOf(doc);
        EXPECT_NE(error.find("/tls13CipherSuites: "), std::string::npos) << bad << ": " << error;
    }
    doc["tls13CipherSuites"] = "ECDHE-RSA-AES128-GCM-SHA256";
    EXPECT_NE(errorOf(doc).find("\"ECDHE-RSA-AES128-GCM-SHA256\" is not a TLS 1.3 cipher suite"),
              std::string::npos)
        << errorOf(doc);
    doc["tls13CipherSuites"] = 1301;
    EXPECT_NE(errorOf(doc).find("/tls13CipherSuites"), std::string::npos);
}

TEST(ProxyConfig, BindingStorePollCanBeTurnedOff) {
    auto doc = minimal();
    doc["bindingStorePollMs"] = 0u;
    EXPECT_EQ(parseProxyConfig(doc, "/etc/edgelab").bindingStorePollMs, 0);
    doc["bindingStorePollMs"] = -1;
    EXPECT_NE(errorOf(doc).find("/bindingStorePollMs"), std::string::npos);
    doc["bindingStorePollMs"] = 3'600'001u;
    EXPECT_NE(errorOf(doc).find("/bindingStorePollMs"), std::string::npos);
}

// Every field away from its default, so that a field toJson forgets (or
// parseProxyConfig does not read back) makes the two differ.
ProxyConfig everyFieldSet() {
    ProxyConfig c;
    c.listeners = {{"127.4.0.1", 0, 443}, {"127.4.0.2", 8443, 4443}};
    c.certificateStore = "/w/store";
    c.bindingStore = "/w/bindings.json";
    c.caBundle = "/w/root.pem";
    c.internalDns = {{"lyncfe1.contoso.local:4443", "127.4.1.1:34000"},
                     {"owas1.contoso.local:443", "[::1]:34001"}};
    PublishingRule r;
    r.name = "Lync web services";
    r.externalUrl = *Url::parse("https://lyncws.contoso.com/");
    r.backendServerUrl = *Url::parse("https://lyncfe1.contoso.local:4443/");
    r.externalPreAuthentication = PreAuthentication::PassThrough;
    r.externalCertificateThumbprint = std::string(40, 'A');
    r.backendServerCertificateValidation = false;
    r.disableTranslateUrlInRequestHeaders = true;
    r.disableTranslateUrlInResponseHeaders = true;
    r.inactiveTransactionsTimeoutSec = 900;
    r.requestBodyLimitBytes = 1024;
    c.applications.push_back(r);
    PublishingRule owas;
    owas.name = "Office Web Apps";
    owas.externalUrl = *Url::parse("https://owas.contoso.com/hosting/");
    owas.backendServerUrl = *Url::parse("https://owas1.contoso.local/hosting/");
    owas.externalCertificateThumbprint = std::string(40, 'B');
    c.applications.push_back(owas);
    c.accessLog = "/w/access.log";
    c.adfsUrl = "https://adfs.contoso.com/adfs/ls/";
    c.limits = {1024, 5, 6, 7, 8, 9, 2048, 64};
    c.allowLegacyTls = true;
    c.tlsSessionResumption = false;
    c.tls13CipherSuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";
    c.connectionAffinity = false;
    c.bindingStorePollMs = 0;
    return c;
}

TEST(ProxyConfig, ParseReadsBackWhatToJsonWrites) {
    const ProxyConfig c = everyFieldSet();
    EXPECT_EQ(parseProxyConfig(toJson(c), "/elsewhere"), c);
    // Through the text the runner writes to proxy.json, too.
    EXPECT_EQ(parseProxyConfig(nlohmann::json::parse(toJson(c).dump(2)), "/elsewhere"), c);
    // And a difference is seen: equality compares every field.
    ProxyConfig other = c;
    other.applications[1].requestBodyLimitBytes = 1;
    EXPECT_FALSE(parseProxyConfig(toJson(other), "/elsewhere") == c);
}

TEST(ProxyConfig, AnInternalAddressWithABadPortIsNamed) {
    auto doc = minimal();
    doc["internalDns"]["lyncfe1.contoso.local:4443"] = "127.4.1.1:99999";
    const std::string error = errorOf(doc);
    EXPECT_NE(error.find("/internalDns/lyncfe1.contoso.local:4443"), std::string::npos) << error;
    EXPECT_NE(error.find("\"99999\""), std::string::npos) << error;
}

TEST(ProxyConfig, AffinityAndBackendIdleTimeout) {
    auto doc = minimal();
    doc["connectionAffinity"] = false;
    doc["limits"] = {{"backendIdleTimeoutSec", 2u}};
    auto cfg = parseProxyConfig(doc, "/etc/edgelab");
    EXPECT_FALSE(cfg.connectionAffinity);
    EXPECT_EQ(cfg.limits.backendIdleTimeoutSec, 2);
    doc["connectionAffinity"] = "no";
    EXPECT_NE(errorOf(doc).find("/connectionAffinity"), std::string::npos);
    doc = minimal();
    doc["limits"] = {{"backendIdleTimeoutSec", 0u}};
    EXPECT_NE(errorOf(doc).find("/limits/backendIdleTimeoutSec"), std::string::npos);
}

TEST(ProxyConfig, ErrorsNameTheField) {
    auto doc = minimal();
    doc["applications"][0]["backendServerUrl"] = "https://unknown.contoso.local:4443/";
    EXPECT_NE(errorOf(doc).find("/applications/0/backendServerUrl"), std::string::npos);
    doc = minimal();
    doc["applications"][0]["externalPreAuthentication"] = "Kerberos";
    EXPECT_NE(errorOf(doc).find("/applications/0/externalPreAuthentication"), std::string::npos);
    doc = minimal();
    doc["listeners"][0]["address"] = "localhost";
    EXPECT_NE(errorOf(doc).find("/listeners/0/address"), std::string::npos);
    doc = minimal();
    doc["internalDns"]["x:1"] = "nowhere";
    EXPECT_NE(errorOf(doc).find("/internalDns/x:1"), std::string::npos);
    doc = minimal();
    doc["applications"][0]["inactiveTransactionsTimeoutSec"] = "300";
    EXPECT_NE(errorOf(doc).find("inactiveTransactionsTimeoutSec"), std::string::npos);
    doc = minimal();
    doc.erase("caBundle");
    EXPECT_NE(errorOf(doc).find("/caBundle"), std::string::npos);
}

// The shared reader (common/json_reader.hpp), as the lab loader reads labs.
std::vector<std::string> errorsOf(const nlohmann::json& doc) {
    try {
        parseProxyConfig(doc, "/etc/edgelab");
    } catch (const ConfigError& e) {
        std::vector<std::string> all;
        for (const auto& err : e.errors()) all.push_back(err.str());
        return all;
    }
    return {};
}

TEST(ProxyConfig, AnUnknownKeyIsRefusedWithTheNearestKnownOne) {
    auto doc = minimal();
    doc["bindingStorePollMS"] = 100;
    doc["limits"] = {{"headerBlockByte", 1024}};
    doc["applications"][0]["backendServerURL"] = "https://lyncfe1.contoso.local:4443/";
    doc["listeners"][0]["colour"] = "blue";
    const auto errors = errorsOf(doc);
    ASSERT_EQ(errors.size(), 4u) << errorOf(doc);
    EXPECT_EQ(errors[0], "/listeners/0/colour: unknown key");
    EXPECT_EQ(errors[1],
              "/limits/headerBlockByte: unknown key (did you mean \"headerBlockBytes\"?)");
    EXPECT_EQ(errors[2],
              "/applications/0/backendServerURL: unknown key (did you mean "
              "\"backendServerUrl\"?)");
    EXPECT_EQ(errors[3], "/bindingStorePollMS: unknown key (did you mean \"bindingStorePollMs\"?)");
}

TEST(ProxyConfig, AWrongTypeIsNamedByItsPath) {
    auto doc = minimal();
    doc["listeners"][0]["port"] = "443";
    EXPECT_EQ(errorsOf(doc),
              std::vector<std::string>{"/listeners/0/port: expected a non-negative whole number, "
                                       "got \"443\""});
    doc = minimal();
    doc["applications"][0]["externalPreAuthentication"] = "PassTrough";
    EXPECT_EQ(errorsOf(doc),
              std::vector<std::string>{"/applications/0/externalPreAuthentication: expected one of "
                                       "PassThrough, ADFS, got \"PassTrough\" (did you mean "
                                       "\"PassThrough\"?)"});
}

TEST(ProxyConfig, EveryErrorIsReportedTogether) {
    auto doc = minimal();
    doc["listeners"][0]["address"] = "localhost";
    doc["caBundle"] = 7;
    doc["limits"] = {{"idleTimeoutSec", 0}, {"headerTimeoutSec", -1}};
    doc["applications"][0]["externalCertificateThumbprint"] = "abc";
    doc["internalDns"]["x:1"] = "nowhere";
    const auto errors = errorsOf(doc);
    ASSERT_EQ(errors.size(), 6u) << errorOf(doc);
    const std::string all = errorOf(doc);
    EXPECT_EQ(all.rfind("6 errors\n", 0), 0u) << all;
    for (const char* path : {"/listeners/0/address", "/caBundle: expected a string, got 7",
                             "/limits/idleTimeoutSec", "/limits/headerTimeoutSec",
                             "/applications/0/externalCertificateThumbprint", "/internalDns/x:1"})
        EXPECT_NE(all.find(path), std::string::npos) << path << "\n" << all;
}

TEST(ProxyConfig, AFileSaysWhichFileAndEveryError) {
    test::TempDir dir("proxy-config");
    auto doc = minimal();
    doc["cabundle"] = "/pki/root.pem";
    doc.erase("caBundle");
    doc["allowLegacyTls"] = "yes";
    const auto file = dir.path() / "proxy.json";
    writeFileAtomic(file, doc.dump(2));
    try {
        loadProxyConfig(file);
        FAIL() << "loaded";
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind(file.string() + ": 3 errors\n", 0), 0u) << what;
        EXPECT_NE(what.find("/caBundle: required, expected a string"), std::string::npos) << what;
        EXPECT_NE(what.find("/allowLegacyTls: expected true or false, got \"yes\""),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("/cabundle: unknown key (did you mean \"caBundle\"?)"),
                  std::string::npos)
            << what;
    }
}

}  // namespace
}  // namespace edgelab::proxy
