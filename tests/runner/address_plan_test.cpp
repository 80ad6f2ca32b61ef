#include "runner/address_plan.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "lab_fixture.hpp"

using namespace edgelab::runner;

TEST(AddressPlan, EachHostItsOwnAddressInOneSlash24) {
    auto lab = fixtures::twoBackendLab();
    auto plan = planAddresses(lab, 100, 7, /*mayBindPrivileged=*/false);
    EXPECT_EQ(plan.subnet, "127.100.7.0/24");
    EXPECT_EQ(plan.proxyAddress, "127.100.7.1");
    EXPECT_EQ(plan.proxyPort, 0);
    ASSERT_EQ(plan.backends.size(), 2u);
    EXPECT_EQ(plan.backends[0].address, "127.100.7.10");
    EXPECT_EQ(plan.backends[1].address, "127.100.7.11");
    // Lync keeps 4443 (unprivileged); OWAS's 443 falls back to any port.
    EXPECT_EQ(plan.backends[0].listenPort, 4443);
    EXPECT_EQ(plan.backends[1].listenPort, 0);
    EXPECT_EQ(plan.backends[1].labPort, 443);
    EXPECT_EQ(plan.backends[0].names.front(), "lyncfe1.example.test");
    EXPECT_EQ(plan.backends[0].names.size(), 5u);
    EXPECT_EQ(plan.backends[1].names.size(), 1u);  // host and served name are one
}

TEST(AddressPlan, PrivilegedKeepsTheLabPorts) {
    auto plan = planAddresses(fixtures::twoBackendLab(), 64, 0, true);
    EXPECT_EQ(plan.proxyPort, 443);
    EXPECT_EQ(plan.backends[1].listenPort, 443);
}

TEST(AddressPlan, OutsideTheRangeIsRefused) {
    EXPECT_THROW(planAddresses(fixtures::twoBackendLab(), 63, 0, false), std::invalid_argument);
    EXPECT_THROW(planAddresses(fixtures::twoBackendLab(), 128, 0, false), std::invalid_argument);
}

TEST(AddressPlan, InternalDnsMapsEveryNameAtTheLabPortToTheRealPort) {
    auto lab = fixtures::twoBackendLab();
    auto plan = planAddresses(lab, 100, 7, false);
    auto dns = internalDns(lab, plan, {{"fe1", 4443}, {"owas1", 40001}});
    EXPECT_EQ(dns.at("lyncws.example.test:4443"), "127.100.7.10:4443");
    EXPECT_EQ(dns.at("lyncfe1.example.test:4443"), "127.100.7.10:4443");
    EXPECT_EQ(dns.at("owas.example.test:443"), "127.100.7.11:40001");
    EXPECT_EQ(dns.size(), 6u);
}

TEST(AddressPlan, CanBindSeesATakenPort) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.64.250.3", &sa.sin_addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    EXPECT_FALSE(canBind("127.64.250.3", ntohs(sa.sin_port)));
    ::close(fd);
    EXPECT_TRUE(canBind("127.64.250.3", ntohs(sa.sin_port)));
}

TEST(AddressPlan, ChosenPlanIsInTheRangeAndItsPortsAreFree) {
    std::mt19937_64 random(42);
    auto plan = chooseAddressPlan(fixtures::twoBackendLab(), random);
    unsigned a = 0, b = 0;
    ASSERT_EQ(std::sscanf(plan.proxyAddress.c_str(), "127.%u.%u.1", &a, &b), 2);
    EXPECT_GE(a, 64u);
    EXPECT_LE(a, 127u);
    for (const auto& pb : plan.backends) {
        if (pb.listenPort) {
            EXPECT_TRUE(canBind(pb.address, pb.listenPort));
        }
    }
}

TEST(AddressPlan, ARuleOnAnotherPortResolvesTheNameButKeepsItsPort) {
    auto lab = fixtures::twoBackendLab();
    edgelab::provision::Application app;
    app.name = "Lync Web Services";
    app.externalUrl = *edgelab::Url::parse("https://lyncws.example.test/");
    app.backendServerUrl = *edgelab::Url::parse("https://lyncws.example.test/");  // 443
    lab.applications = {app};
    auto plan = planAddresses(lab, 100, 7, false);
    auto dns = internalDns(lab, plan, {{"fe1", 4443}, {"owas1", 40001}});
    EXPECT_EQ(dns.at("lyncws.example.test:443"), "127.100.7.10:443");
    EXPECT_EQ(dns.at("lyncws.example.test:4443"), "127.100.7.10:4443");
}

// Issue 24: a lab port held on every address was reported as "no free /24
// found ... after 64 tries". The port and the backend are named.
TEST(AddressPlan, APortBusyOnEveryAddressIsNamed) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    const auto port = ntohs(sa.sin_port);
    auto lab = fixtures::twoBackendLab();
    lab.backends[0].port = port;
    std::mt19937_64 random(7);
    try {
        chooseAddressPlan(lab, random);
        ADD_FAILURE() << "a plan with port " << port << " held on 0.0.0.0";
    } catch (const std::runtime_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("backend fe1's port " + std::to_string(port)), std::string::npos) << m;
        EXPECT_NE(m.find("Address already in use"), std::string::npos) << m;
        EXPECT_EQ(m.find("no free /24"), std::string::npos) << m;
    }
    ::close(fd);
}
