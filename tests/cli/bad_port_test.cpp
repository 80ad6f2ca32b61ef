// A bad port given to `edgelab` on the command line or in a lab file: exit 2
// (bad input), the message names the flag or JSON path and the value.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/seed_lab.hpp"
#include "tests/support/temp_dir.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

const fs::path kEdgelab = edgelab::test::binDir() / "edgelab";
const fs::path kSeedLab = edgelab::test::seedLabFile();

struct Finished {
    int code = -1;
    std::string out, err;
};

Finished edgelab(const std::vector<std::string>& args) {
    bp::ipstream out, err;
    bp::child c(kEdgelab.string(), bp::args = args, bp::std_out > out, bp::std_err > err);
    std::ostringstream o, e;
    o << out.rdbuf();
    e << err.rdbuf();
    c.wait();
    return {c.exit_code(), o.str(), e.str()};
}

TEST(BadPort, ConnectToRefusesAPortOutOfRange) {
    for (const std::string port : {"99999", "0", "xyz", "65536"}) {
        const std::string entry = "::127.0.0.1:" + port;
        auto f = edgelab({"check", kSeedLab.string(), "--connect-to", entry});
        EXPECT_EQ(f.code, 2) << entry << "\n" << f.out << f.err;
        EXPECT_NE(f.err.find("--connect-to " + entry), std::string::npos) << f.err;
        EXPECT_NE(f.err.find("port \"" + port + "\""), std::string::npos) << f.err;
    }
}

TEST(BadPort, ALabFilesPortIsNamedByItsJsonPath) {
    auto doc = edgelab::test::seedLabJson();
    doc["defaultBinding"]["ipport"] = "0.0.0.0:99999";
    const edgelab::test::TempDir dir("bad-port");
    const fs::path lab = dir / "lab.json";
    std::ofstream(lab) << doc.dump(2);
    for (const std::string command : {"validate", "check"}) {
        auto f = edgelab({command, lab.string()});
        EXPECT_EQ(f.code, 2) << command << "\n" << f.out << f.err;
        EXPECT_NE(f.err.find("/defaultBinding/ipport"), std::string::npos) << f.err;
        EXPECT_NE(f.err.find("\"99999\""), std::string::npos) << f.err;
    }
}

}  // namespace
