// A bad port in a lab file is refused at its JSON path with the value named,
// never wrapped past 65535 or read as 0.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "provision/lab.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::provision {
namespace {

using json = nlohmann::json;

TEST(LabPorts, TheDefaultBindingsPortIsChecked) {
    for (const std::string port : {"99999", "0", "xyz", "", "65536"}) {
        json doc = test::seedLabJson();
        doc["defaultBinding"]["ipport"] = "0.0.0.0:" + port;
        const auto errors = test::labErrorsOf(doc);
        ASSERT_EQ(errors.size(), 1u) << port;
        EXPECT_EQ(errors[0].rfind("/defaultBinding/ipport: ", 0), 0u) << errors[0];
        EXPECT_NE(errors[0].find("\"" + port + "\""), std::string::npos) << errors[0];
    }
    json doc = test::seedLabJson();
    doc["defaultBinding"]["ipport"] = "0.0.0.0:8443";
    EXPECT_EQ(test::labErrorsOf(doc), std::vector<std::string>{});
}

TEST(LabPorts, TheDefaultBindingIsIpv4) {
    for (const std::string ipport : {"[::]:443", "meet.kloud.example:443", "300.0.0.1:443"}) {
        json doc = test::seedLabJson();
        doc["defaultBinding"]["ipport"] = ipport;
        const auto errors = test::labErrorsOf(doc);
        ASSERT_EQ(errors.size(), 1u) << ipport;
        EXPECT_EQ(errors[0].rfind("/defaultBinding/ipport: ", 0), 0u) << errors[0];
        EXPECT_NE(errors[0].find(ipport), std::string::npos) << errors[0];
    }
}

TEST(LabPorts, AUrlsPortIsChecked) {
    for (const std::string port : {"99999", "0", "x"}) {
        json doc = test::seedLabJson();
        const std::string url = "https://lyncws.kloud.example:" + port + "/";
        doc["applications"][0]["backendServerUrl"] = url;
        const auto errors = test::labErrorsOf(doc);
        ASSERT_EQ(errors.size(), 1u) << port;
        EXPECT_EQ(errors[0].rfind("/applications/0/backendServerUrl: ", 0), 0u) << errors[0];
        EXPECT_NE(errors[0].find(url), std::string::npos) << errors[0];
    }
}

}  // namespace
}  // namespace edgelab::provision
