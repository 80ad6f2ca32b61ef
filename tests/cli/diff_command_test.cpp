// `edgelab diff` as a user runs it: two report files in, the exit code says
// whether anything regressed; bad input is exit 2 and writes nothing.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "report/report.hpp"
#include "tests/support/edgelab_process.hpp"
#include "tests/support/seed_lab.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using edgelab::checks::Verdict;
using edgelab::test::runEdgelab;

edgelab::report::Report reportWith(Verdict noSni) {
    edgelab::report::Report r;
    r.labName = "seed-lab";
    r.started = std::chrono::system_clock::from_time_t(1795780800);
    edgelab::checks::CheckResult a;
    a.id = "tls.no-sni.lync-mobile";
    a.verdict = noSni;
    a.evidence = noSni == Verdict::Pass ? "served" : "connection reset";
    edgelab::checks::CheckResult b;
    b.id = "dialin";
    b.verdict = Verdict::Pass;
    r.results = {a, b};
    return r;
}

struct Files {
    edgelab::test::TempDir dir{"diff-cli"};
    fs::path pass = dir / "pass.json";
    fs::path fail = dir / "fail.json";
    Files() {
        edgelab::report::writeJson(pass, reportWith(Verdict::Pass));
        edgelab::report::writeJson(fail, reportWith(Verdict::Fail));
    }
};

TEST(DiffCommand, ExitOneOnlyOnARegression) {
    Files f;
    auto worse = runEdgelab({"diff", f.pass.string(), f.fail.string()});
    EXPECT_EQ(worse.code, 1) << worse.err;
    EXPECT_NE(worse.out.find("Newly failing (1):\n  tls.no-sni.lync-mobile  PASS -> FAIL"),
              std::string::npos)
        << worse.out;
    auto better = runEdgelab({"diff", f.fail.string(), f.pass.string()});
    EXPECT_EQ(better.code, 0) << better.err;
    EXPECT_NE(better.out.find("Fixed (1):"), std::string::npos) << better.out;
    EXPECT_EQ(runEdgelab({"diff", f.pass.string(), f.pass.string()}).code, 0);
}

TEST(DiffCommand, EveryFormatOnStdoutAndInFiles) {
    Files f;
    auto md =
        runEdgelab({"diff", f.pass.string(), f.fail.string(), "--format", "markdown",
                    "--report-json", (f.dir / "d.json").string(), "--report-junit",
                    (f.dir / "d.xml").string(), "--report-markdown", (f.dir / "d.md").string()});
    EXPECT_EQ(md.code, 1) << md.err;
    EXPECT_NE(md.out.find("| `tls.no-sni.lync-mobile` | PASS | FAIL |"), std::string::npos)
        << md.out;
    EXPECT_EQ(edgelab::readFile(f.dir / "d.md"), md.out);
    auto j = nlohmann::json::parse(edgelab::readFile(f.dir / "d.json"));
    EXPECT_TRUE(j["regressed"].get<bool>());
    EXPECT_NE(edgelab::readFile(f.dir / "d.xml").find("type=\"regression\""), std::string::npos);
    // The same Ant JUnit schema the reports are held to (tests/fixtures).
    const std::string xsd = (edgelab::test::sourceDir() / "tests/fixtures/junit-ant.xsd").string();
    auto lint = std::system(("xmllint --noout --schema " + xsd + " " + (f.dir / "d.xml").string() +
                             " 2>" + (f.dir / "lint.txt").string())
                                .c_str());
    EXPECT_EQ(lint, 0) << edgelab::readFile(f.dir / "lint.txt");
    auto junit = runEdgelab({"diff", f.pass.string(), f.fail.string(), "--format", "junit"});
    EXPECT_EQ(junit.out, edgelab::readFile(f.dir / "d.xml"));
    auto json = runEdgelab({"diff", f.pass.string(), f.fail.string(), "--format", "json"});
    EXPECT_EQ(nlohmann::json::parse(json.out), j);
}

TEST(DiffCommand, BadInputIsExitTwoNamingTheProblemAndWritesNothing) {
    Files f;
    auto doc = nlohmann::json::parse(edgelab::readFile(f.fail));
    doc["schemaVersion"] = 7;
    const fs::path v7 = f.dir / "v7.json";
    edgelab::writeFileAtomic(v7, doc.dump());
    doc["schemaVersion"] = 1;
    doc["lab"] = "other-lab";
    const fs::path other = f.dir / "other.json";
    edgelab::writeFileAtomic(other, doc.dump());
    const fs::path out = f.dir / "never.json";
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases{
        {{f.pass.string(), v7.string()},
         v7.string() + ": /schemaVersion: 7 is another schema version"},
        {{f.pass.string(), (f.dir / "missing.json").string()}, "missing.json"},
        {{f.pass.string(), other.string()}, "the reports are of two labs"},
        {{f.pass.string(), f.fail.string(), "--format", "yaml"}, "--format yaml"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"diff"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        args.insert(args.end(), {"--report-json", out.string()});
        auto r = runEdgelab(args);
        EXPECT_EQ(r.code, 2) << c.message << r.out << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_FALSE(fs::exists(out)) << c.message;
    }
}

}  // namespace
