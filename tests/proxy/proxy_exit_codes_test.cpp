// edgelab-proxy's exit code for each kind of error, as a process: bad input
// (usage, proxy.json, the binding store) is 2, a listener that cannot be
// bound is 3 (cli/exit_status.hpp, the one mapping every program uses).

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>

#include "proxy_fixture.hpp"

namespace edgelab::proxy {
namespace {

using namespace edgelab::proxy::test;

struct Exited {
    int code = -1;
    std::string err;
};

class ProxyExitCodes : public ProxyEndToEnd {
  protected:
    Exited run(const std::vector<std::string>& args) {
        bp::ipstream err;
        bp::child c(proxyProgram(), bp::args(args), bp::std_out > bp::null, bp::std_err > err);
        Exited e;
        std::string line;
        while (std::getline(err, line)) e.err += line + "\n";
        c.wait();
        e.code = c.exit_code();
        return e;
    }

    // proxy.json with one application, changed by `adjust`.
    Exited runWith(const std::function<void(nlohmann::json&)>& adjust) {
        nlohmann::json cfg{
            {"listeners", {{{"address", kProxyAddress}, {"port", 0}}}},
            {"certificateStore", (dir / "store").string()},
            {"bindingStore", (dir / "bindings.json").string()},
            {"caBundle", (dir / "root.pem").string()},
            {"internalDns", internalDns},
            {"applications", {application("lyncws", "https://lyncfe1.contoso.local:4443/")}}};
        adjust(cfg);
        test::writeText(dir / "exit.json", cfg.dump(2));
        return run({"--config", (dir / "exit.json").string()});
    }
};

TEST_F(ProxyExitCodes, UsageIsBadInput) {
    auto e = run({});
    EXPECT_EQ(e.code, 2) << e.err;
    e = run({"--config", (dir / "missing.json").string()});
    EXPECT_EQ(e.code, 2) << e.err;
    EXPECT_NE(e.err.find("missing.json"), std::string::npos) << e.err;
}

TEST_F(ProxyExitCodes, AnUnknownKeyInTheConfigurationIsBadInput) {
    auto e = runWith([](auto& cfg) { cfg["bindingstore"] = cfg["bindingStore"]; });
    EXPECT_EQ(e.code, 2) << e.err;
    EXPECT_NE(e.err.find("/bindingstore: unknown key (did you mean \"bindingStore\"?)"),
              std::string::npos)
        << e.err;
}

TEST_F(ProxyExitCodes, ACorruptBindingStoreIsBadInput) {
    test::writeText(dir / "bindings.json", R"({"bindings": [{"ipport": 443}]})");
    auto e = runWith([](auto&) {});
    EXPECT_EQ(e.code, 2) << e.err;
    EXPECT_NE(e.err.find("/bindings/0/ipport: expected a string, got 443"), std::string::npos)
        << e.err;
}

// Each certificate is loaded once however many applications name it; one
// that names a certificate the store does not hold is still refused, by its
// JSON path.
TEST_F(ProxyExitCodes, AnApplicationWhoseCertificateIsNotInTheStoreIsBadInput) {
    const std::string absent = "0123456789ABCDEF0123456789ABCDEF01234567";
    ASSERT_NE(absent, thumbprint);
    auto e = runWith([&](auto& cfg) {
        cfg["applications"].push_back(application("meet", "https://lyncfe1.contoso.local:4443/"));
        auto owas = application("owas", "https://owas.contoso.com/");
        owas["externalCertificateThumbprint"] = absent;
        cfg["applications"].push_back(owas);
    });
    EXPECT_EQ(e.code, 2) << e.err;
    EXPECT_NE(e.err.find("/applications/2/externalCertificateThumbprint: certificate " + absent),
              std::string::npos)
        << e.err;
}

TEST_F(ProxyExitCodes, AListenerThatCannotBeBoundIsLabDown) {
    // A listening socket without SO_REUSEPORT: the proxy's bind to its port fails.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address(kProxyAddress), 0});
    const auto port = taken.local_endpoint().port();
    auto e = runWith([&](auto& cfg) { cfg["listeners"][0]["port"] = port; });
    EXPECT_EQ(e.code, 3) << e.err;
    EXPECT_NE(e.err.find("cannot listen on " + kProxyAddress + ":" + std::to_string(port)),
              std::string::npos)
        << e.err;
}

}  // namespace
}  // namespace edgelab::proxy
