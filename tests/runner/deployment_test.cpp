#include "runner/deployment.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "lab_fixture.hpp"
#include "runner/lab_state.hpp"

using namespace edgelab::runner;
namespace provision = edgelab::provision;

namespace {

provision::Lab publishedLab() {
    auto lab = fixtures::twoBackendLab();
    provision::Application ws;
    ws.name = "Lync Web Services";
    ws.externalUrl = *edgelab::Url::parse("https://lyncws.example.test/");
    ws.backendServerUrl = *edgelab::Url::parse("https://lyncws.example.test:4443/");
    ws.externalPreAuthentication = provision::PreAuthentication::PassThrough;
    provision::Application owas = ws;
    owas.name = "Office Web Apps Server";
    owas.externalUrl = *edgelab::Url::parse("https://owas.example.test/");
    owas.backendServerUrl = *edgelab::Url::parse("https://owas.example.test/");
    owas.externalCertificateThumbprint = std::string(40, 'B');
    owas.disableTranslateUrlInResponseHeaders = true;
    lab.applications = {ws, owas};
    return lab;
}

}  // namespace

TEST(Deployment, ReadyLinesGiveTheRealPorts) {
    EXPECT_EQ(backendReadyPort("READY https://127.64.1.10:4443"), 4443);
    EXPECT_EQ(backendReadyPort("READY https://127.64.1.11:39001"), 39001);
    EXPECT_FALSE(backendReadyPort("CONTROL http://127.64.1.10:1234"));
    EXPECT_FALSE(backendReadyPort("READY https://127.64.1.10:"));
    EXPECT_FALSE(backendReadyPort("READY https://127.64.1.10:70000"));
    auto l = proxyListenerLine("READY 127.64.1.1:40123 published=443");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->first, "127.64.1.1");
    EXPECT_EQ(l->second, 40123);
    EXPECT_FALSE(proxyListenerLine("READY"));
}

TEST(Deployment, BackendArgumentsFollowTheContract) {
    auto lab = publishedLab();
    auto plan = planAddresses(lab, 64, 1, false);
    provision::StoredCertificate cert;
    cert.certFile = "/w/store/A.pem";
    cert.keyFile = "/w/store/A.key";
    lab.backends[1].internalUrl = "https://owas1.example.test/";
    auto args = backendArguments(lab, lab.backends[1], plan.backends[1], cert, "/w/logs/a.log");
    auto value = [&](const std::string& flag) {
        for (std::size_t i = 0; i + 1 < args.size(); ++i)
            if (args[i] == flag) return args[i + 1];
        return std::string("<missing>");
    };
    EXPECT_EQ(value("--role"), "owas");
    EXPECT_EQ(value("--listen"), "127.64.1.11:0");
    EXPECT_EQ(value("--cert"), "/w/store/A.pem");
    EXPECT_EQ(value("--server-fqdn"), "owas.example.test");
    EXPECT_EQ(value("--web-services"), "lyncws.example.test");
    EXPECT_EQ(value("--owas-internal-url"), "https://owas1.example.test/");
}

TEST(Deployment, ProxyConfigCarriesTheWapRules) {
    auto lab = publishedLab();
    auto plan = planAddresses(lab, 64, 1, false);
    auto cfg = proxyConfig(lab, plan, std::string(40, 'A'),
                           {{"lyncws.example.test:4443", "127.64.1.10:4443"},
                            {"owas.example.test:443", "127.64.1.11:443"}},
                           {"/w/store", "/w/bindings.json", "/w/root.pem", "/w/access.log"});
    ASSERT_EQ(cfg.listeners.size(), 1u);
    EXPECT_EQ(cfg.listeners[0].address, "127.64.1.1");
    EXPECT_EQ(cfg.listeners[0].port, 0);
    EXPECT_EQ(cfg.listeners[0].publishedPort, 443);
    EXPECT_EQ(cfg.internalDns.at("lyncws.example.test:4443"), "127.64.1.10:4443");
    ASSERT_EQ(cfg.applications.size(), 2u);
    EXPECT_EQ(cfg.applications[0].externalPreAuthentication,
              edgelab::proxy::PreAuthentication::PassThrough);
    EXPECT_EQ(cfg.applications[0].backendServerUrl.str(), "https://lyncws.example.test:4443/");
    EXPECT_EQ(cfg.applications[0].externalCertificateThumbprint, std::string(40, 'A'));
    EXPECT_EQ(cfg.applications[1].externalCertificateThumbprint, std::string(40, 'B'));
    EXPECT_TRUE(cfg.applications[1].disableTranslateUrlInResponseHeaders);
    EXPECT_EQ(cfg.caBundle, "/w/root.pem");
    // What the runner writes is what the proxy reads.
    EXPECT_EQ(edgelab::proxy::parseProxyConfig(edgelab::proxy::toJson(cfg), "/elsewhere"), cfg);
}

TEST(Deployment, TestUsersReachTheFrontEndByFileOnlyAndAffinityTheProxy) {
    auto lab = publishedLab();
    lab.users = {{"alice@example.test", "EXAMPLE\\alice", "s3cret-Pa55", std::nullopt, "typo", ""}};
    lab.proxy.connectionAffinity = false;
    auto plan = planAddresses(lab, 64, 1, false);
    provision::StoredCertificate cert;
    auto file = backendUsersFile(lab, lab.backends[0]);
    auto users = nlohmann::json::parse(file)["users"];
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(users[0]["account"], "EXAMPLE\\alice");
    // The front end knows the password; what the checks type is theirs alone.
    EXPECT_EQ(users[0]["password"], "s3cret-Pa55");
    EXPECT_EQ(file.find("typo"), std::string::npos);
    EXPECT_EQ(backendUsersFile(lab, lab.backends[1]), "");  // OWAS signs nobody in

    auto args = backendArguments(lab, lab.backends[0], plan.backends[0], cert, "/w/a.log",
                                 "/w/backend-fe-users.json");
    std::string all;
    for (const auto& a : args) all += a + " ";
    EXPECT_NE(all.find("--users-file /w/backend-fe-users.json"), std::string::npos) << all;
    EXPECT_EQ(all.find("s3cret"), std::string::npos) << all;

    auto cfg = proxyConfig(lab, plan, std::string(40, 'A'), {}, {"/s", "/b", "/r", "/l"});
    EXPECT_FALSE(cfg.connectionAffinity);
    EXPECT_EQ(edgelab::proxy::toJson(cfg).dump().find("s3cret"), std::string::npos);
}

TEST(Deployment, AUserHomedOnAnotherPoolIsRedirectedThereByTheOthers) {
    auto lab = publishedLab();
    auto pool2 = lab.backends[0];
    pool2.name = "fe2";
    pool2.host = "lyncfe2.example.test";
    pool2.webServices = "lyncws2.example.test";
    lab.backends.push_back(pool2);
    lab.users = {
        {"alice@example.test", "EXAMPLE\\alice", "s3cret-Pa55", std::nullopt, std::nullopt, "fe2"}};
    // Every front end learns where alice is homed; each names its own pool.
    for (const auto* fe : {&lab.backends[0], &lab.backends[2]}) {
        auto users = nlohmann::json::parse(backendUsersFile(lab, *fe))["users"];
        EXPECT_EQ(users[0]["homeWebServices"], "lyncws2.example.test") << fe->name;
    }
    auto plan = planAddresses(lab, 64, 1, false);
    provision::StoredCertificate cert;
    auto webServicesOf = [&](std::size_t i) {
        auto args = backendArguments(lab, lab.backends[i], plan.backends[i], cert, "/w/a.log", "");
        auto at = std::find(args.begin(), args.end(), "--web-services");
        return at == args.end() ? std::string() : *(at + 1);
    };
    EXPECT_EQ(webServicesOf(0), lab.names.webServices);
    EXPECT_EQ(webServicesOf(2), "lyncws2.example.test");
    // Without a home pool a user is served wherever it signs in.
    lab.users[0].homePool.clear();
    auto users = nlohmann::json::parse(backendUsersFile(lab, lab.backends[0]))["users"];
    EXPECT_FALSE(users[0].contains("homeWebServices"));
}

TEST(Deployment, PublishingAddsHostnameBindingsOnlyAsWapDoes) {
    auto lab = publishedLab();
    auto plan = planAddresses(lab, 64, 1, false);
    auto cfg =
        proxyConfig(lab, plan, std::string(40, 'A'),
                    {{"lyncws.example.test:4443", "127.64.1.10:4443"}}, {"/s", "/b", "/r", "/l"});
    auto store = edgelab::proxy::withApplicationBindings({}, cfg);
    ASSERT_EQ(store.bindings.size(), 2u);
    for (const auto& b : store.bindings) {
        EXPECT_EQ(b.key.kind, edgelab::proxy::BindingKind::HostnamePort);
        EXPECT_EQ(b.applicationId, edgelab::proxy::kWapApplicationId);
    }
    EXPECT_EQ(store.bindings[0].key.str(), "lyncws.example.test:443");
    EXPECT_EQ(store.bindings[1].certificateHash, std::string(40, 'B'));
}

TEST(Deployment, DefaultBindingKeepsThePublishedPortAndMapsAnAddress) {
    provision::DefaultBinding any;  // 0.0.0.0:443
    auto k = defaultBindingKey(any, "127.64.1.1");
    EXPECT_EQ(k.kind, edgelab::proxy::BindingKind::IpPort);
    EXPECT_EQ(k.str(), "0.0.0.0:443");
    provision::DefaultBinding one;
    one.ipport = "10.0.0.5:443";
    EXPECT_EQ(defaultBindingKey(one, "127.64.1.1").str(), "127.64.1.1:443");
}

TEST(Deployment, ClientsReachEveryPublicNameAtTheProxy) {
    auto lab = publishedLab();
    auto c = connectToEntries(lab, "127.64.1.1", 40123);
    ASSERT_EQ(c.size(), 5u);
    EXPECT_EQ(c[0], "lyncws.example.test:443:127.64.1.1:40123");
    auto h = hostsLines(lab, "127.64.1.1");
    EXPECT_EQ(h[4], "127.64.1.1 owas.example.test");
}

TEST(LabState, RoundTripsAndKeepsTheBriefsFields) {
    LabState s;
    s.lab = "seed-lab";
    s.connectTo = {"lyncws.example.test:443:127.64.1.1:443"};
    s.caBundle = "/w/pki/root.pem";
    s.bindingStore = "/w/proxy/bindings.json";
    s.addressPlan = planAddresses(fixtures::twoBackendLab(), 64, 1, true);
    s.processes = {{"proxy", 1234, "127.64.1.1:443", "/bin/edgelab-proxy", "/w/logs/proxy.log",
                    "lyncws.example.test"}};
    auto text = stateJson(s);
    auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc["processes"][0]["pid"], 1234);
    EXPECT_EQ(doc["processes"][0]["address"], "127.64.1.1:443");
    auto back = parseState(text, "state.json");
    EXPECT_EQ(back.connectTo, s.connectTo);
    EXPECT_EQ(back.addressPlan.backends.size(), 2u);
    EXPECT_EQ(back.processes[0].name, "proxy");
    EXPECT_THROW(parseState("{\"lab\": 1}", "state.json"), LabStateError);
}
