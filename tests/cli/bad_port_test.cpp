// A bad port given to `edgelab` on the command line or in a lab file: exit 2
// (bad input), the message names the flag or JSON path and the value.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/edgelab_process.hpp"
#include "tests/support/seed_lab.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using edgelab::test::Finished;
using edgelab::test::runEdgelab;

const fs::path kSeedLab = edgelab::test::seedLabFile();

TEST(BadPort, ConnectToRefusesAPortOutOfRange) {
    for (const std::string port : {"99999", "0", "xyz", "65536"}) {
        const std::string entry = "::127.0.0.1:" + port;
        auto f = runEdgelab({"check", kSeedLab.string(), "--connect-to", entry});
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
        auto f = runEdgelab({command, lab.string()});
        EXPECT_EQ(f.code, 2) << command << "\n" << f.out << f.err;
        EXPECT_NE(f.err.find("/defaultBinding/ipport"), std::string::npos) << f.err;
        EXPECT_NE(f.err.find("\"99999\""), std::string::npos) << f.err;
    }
}

}  // namespace
