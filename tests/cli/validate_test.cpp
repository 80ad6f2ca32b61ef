// `edgelab validate` refuses (exit 2, before anything starts) every lab that
// `edgelab run` could only fail at after making the PKI and starting
// processes: each condition with its JSON path, console and JSON alike.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/edgelab_process.hpp"
#include "tests/support/seed_lab.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using edgelab::test::runEdgelab;

struct Case {
    const char* name;
    std::function<void(nlohmann::json&)> change;
    const char* path;
    const char* words;
};

void expectRefused(const Case& c) {
    auto doc = edgelab::test::seedLabJson();
    c.change(doc);
    const edgelab::test::TempDir dir("validate");
    const fs::path lab = dir / "lab.json";
    std::ofstream(lab) << doc.dump(2);
    auto f = runEdgelab({"validate", lab.string()});
    EXPECT_EQ(f.code, 2) << c.name << "\n" << f.out << f.err;
    EXPECT_NE(f.err.find("cannot be built on loopback"), std::string::npos) << c.name << f.err;
    EXPECT_NE(f.err.find(std::string(c.path) + ": "), std::string::npos) << c.name << f.err;
    EXPECT_NE(f.err.find(c.words), std::string::npos) << c.name << f.err;
    EXPECT_EQ(f.out.find("static rules"), std::string::npos) << c.name << f.out;
    f = runEdgelab({"validate", lab.string(), "--format", "json"});
    EXPECT_EQ(f.code, 2) << c.name << "\n" << f.out << f.err;
    const auto out = nlohmann::json::parse(f.out, nullptr, false);
    ASSERT_TRUE(out.is_object()) << f.out;
    EXPECT_EQ(out["error"]["problems"][0]["path"], c.path) << f.out;
}

TEST(Validate, TheSeedLabPasses) {
    auto f = runEdgelab({"validate", edgelab::test::seedLabFile().string()});
    EXPECT_EQ(f.code, 0) << f.out << f.err;
}

TEST(Validate, RefusesClientCertificatePreAuthentication) {
    expectRefused({"client certificate",
                   [](auto& doc) {
                       doc["applications"][1]["externalPreAuthentication"] = "ClientCertificate";
                   },
                   "/applications/1/externalPreAuthentication", "not emulated"});
}

TEST(Validate, RefusesAnApplicationPublishedTwice) {
    expectRefused({"published twice",
                   [](auto& doc) {
                       auto twin = doc["applications"][0];
                       twin["name"] = "Twin";
                       doc["applications"].push_back(twin);
                   },
                   "/applications/5/externalUrl", "is already published by /applications/0"});
}

TEST(Validate, RefusesADefaultBindingForAHostNotPublished) {
    expectRefused({"default binding",
                   [](auto& doc) { doc["defaultBinding"]["matchHost"] = "intranet.kloud.example"; },
                   "/defaultBinding/matchHost", "no application is published on"});
}

// The exit code of each kind of error, as `edgelab` exits with it
// (cli/exit_status.hpp; a lab that cannot be reached, 3, is in
// lab_ops_process_test).
TEST(ExitCodes, EachKindOfErrorHasItsCode) {
    const edgelab::test::TempDir dir("exit-codes");
    auto f = runEdgelab({"validate"});
    EXPECT_EQ(f.code, 2) << "usage\n" << f.err;
    std::ofstream(dir / "typo.json") << R"({"nmae": "x"})";
    f = runEdgelab({"validate", (dir / "typo.json").string()});
    EXPECT_EQ(f.code, 2) << f.err;
    EXPECT_NE(f.err.find("/nmae: unknown key (did you mean \"name\"?)"), std::string::npos)
        << f.err;
    fs::create_directories(dir / "work");
    std::ofstream(dir / "work" / "state.json") << R"({"lab": "x", "lab_file": 1})";
    f = runEdgelab({"down", "--work-dir", (dir / "work").string()});
    EXPECT_EQ(f.code, 2) << f.err;
    EXPECT_NE(f.err.find("/lab_file: unknown key (did you mean \"labFile\"?)"), std::string::npos)
        << f.err;
}

}  // namespace
