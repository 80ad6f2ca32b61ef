#include "proxy/config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
    EXPECT_EQ(cfg.bindingStorePollMs, 250);
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

}  // namespace
}  // namespace edgelab::proxy
