// A running lab operated as an administrator does: a backend stopped under
// it, a binding deleted and checked at once, the lab stopped from another
// directory. The real edgelab, proxy and backends on loopback.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "net/asio.hpp"  // first: <utility> before Asio (see net/asio.hpp)

#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/dies_with_test.hpp"
#include "tests/support/edgelab_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/seed_lab.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

using edgelab::test::Finished;

const fs::path kEdgelab = edgelab::test::binDir() / "edgelab";

// edgelab run from `cwd`, with its registry of running labs in `registry`
// (the test's own, so that labs of other tests are never found).
Finished edgelabIn(const fs::path& cwd, const fs::path& registry,
                   const std::vector<std::string>& args) {
    boost::asio::io_context ioc;
    std::future<std::string> out, err;
    bp::environment env = boost::this_process::environment();
    env["EDGELAB_RUNTIME_DIR"] = registry.string();
    bp::child c(kEdgelab.string(), bp::args = args, bp::start_dir = cwd.string(), env,
                bp::std_out > out, bp::std_err > err, ioc, edgelab::test::diesWithTest());
    ioc.run();
    c.wait();
    return {c.exit_code(), out.get(), err.get()};
}

struct Shape {
    std::vector<std::string> failed;
    std::set<std::string> blockedBy;
    int blocked = 0;
};

Shape shapeOf(const std::string& jsonReport) {
    Shape s;
    auto doc = nlohmann::json::parse(jsonReport);
    for (const auto& r : doc["results"]) {
        if (r["verdict"] == "FAIL") s.failed.push_back(r["id"]);
        if (r["verdict"] == "BLOCKED") {
            ++s.blocked;
            s.blockedBy.insert(r["blockedBy"].get<std::string>());
        }
    }
    return s;
}

// The seed lab copied into a folder of the test's, brought up from another
// folder (so that its work folder is neither beside the lab file nor where
// later commands run), and taken down at the end.
struct RunningLab {
    edgelab::test::TempDir scratch;
    fs::path labFile, registry, startedIn;
    nlohmann::json state;

    explicit RunningLab(const std::string& name)
        : scratch(name),
          labFile(scratch / "labs" / "seed.json"),
          registry(scratch / "registry"),
          startedIn(scratch / "elsewhere") {
        fs::create_directories(labFile.parent_path());
        fs::create_directories(startedIn);
        fs::copy_file(edgelab::test::seedLabFile(), labFile);
    }
    Finished up() {
        auto f = edgelabIn(startedIn, registry, {"up", labFile.string(), "--disk-sample-mib", "1"});
        if (f.code == 0) {
            std::ifstream in(startedIn / ".edgelab" / "seed-lab" / "state.json");
            state = nlohmann::json::parse(in);
        }
        return f;
    }
    int pidOf(const std::string& process) const {
        for (const auto& p : state["processes"])
            if (p["name"] == process) return p["pid"].get<int>();
        return -1;
    }
    Finished in(const fs::path& cwd, const std::vector<std::string>& args) const {
        return edgelabIn(cwd, registry, args);
    }
    ~RunningLab() {
        if (fs::exists(startedIn / ".edgelab" / "seed-lab" / "state.json"))
            edgelabIn(startedIn, registry,
                      {"down", "--work-dir", (startedIn / ".edgelab" / "seed-lab").string()});
    }
};

}  // namespace

// Issue 24: with the Lync front end killed, `check` gave 29 FAILs and no
// BLOCKED, the true cause last with a certificate remedy. Now: one FAIL (the
// backend, to be started again), the checks that need it BLOCKED, exit 3.
TEST(LabOps, AStoppedBackendIsOneRootCause) {
    RunningLab lab("stopped-backend");
    auto up = lab.up();
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    const int fe1 = lab.pidOf("backend-fe1");
    ASSERT_GT(fe1, 0);
    ASSERT_EQ(::kill(fe1, SIGKILL), 0);
    ASSERT_TRUE(
        edgelab::test::eventually([&] { return edgelab::test::processGone(fe1); }, "fe1 is gone"));

    auto status = lab.in(lab.scratch.path(), {"status", lab.labFile.string()});
    EXPECT_EQ(status.code, 3) << status.out << status.err;
    EXPECT_NE(status.out.find("UNHEALTHY"), std::string::npos) << status.out;

    auto check = lab.in(lab.scratch.path(), {"check", lab.labFile.string(), "--format", "json"});
    EXPECT_EQ(check.code, 3) << check.err;
    auto s = shapeOf(check.out);
    EXPECT_EQ(s.failed, std::vector<std::string>{"backend.up.fe1"}) << check.out;
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"backend.up.fe1"});
    EXPECT_GE(s.blocked, 20) << check.out;
    EXPECT_NE(check.err.find("backend.up.fe1"), std::string::npos) << check.err;
    auto doc = nlohmann::json::parse(check.out);
    for (const auto& r : doc["results"])
        if (r["id"] == "backend.up.fe1") {
            EXPECT_NE(r["remedy"].get<std::string>().find("edgelab up"), std::string::npos);
            EXPECT_NE(r["evidence"].get<std::string>().find("not running"), std::string::npos);
        }

    // The console groups the failures under their root cause.
    auto console = lab.in(lab.scratch.path(), {"check", lab.labFile.string(), "-q"});
    EXPECT_EQ(console.code, 3);
    EXPECT_NE(console.out.find("seed-lab: FAILED, 1 fix: backend.up.fe1 \u2014 " +
                               std::to_string(s.blocked) + " checks follow from it"),
              std::string::npos)
        << console.out;
}

// Issue 24: `bindings delete ... ipport=0.0.0.0:443` then `check` at once
// passed (the proxy polls the store). Now the command returns once the proxy
// has loaded the change, and `bindings` takes the lab file.
TEST(LabOps, ABindingDeletedIsInForceWhenTheCommandReturns) {
    RunningLab lab("binding-in-force");
    auto up = lab.up();
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    const fs::path anywhere = lab.scratch.path();

    auto del = lab.in(anywhere,
                      {"bindings", "delete", "--lab", lab.labFile.string(), "ipport=0.0.0.0:443"});
    ASSERT_EQ(del.code, 0) << del.out << del.err;
    EXPECT_NE(del.out.find("in force: the proxy of lab seed-lab"), std::string::npos) << del.out;
    auto check = lab.in(
        anywhere, {"check", lab.labFile.string(), "--only", "tls.no-sni.*", "--format", "json"});
    EXPECT_EQ(check.code, 1) << check.err;
    // One cause (no default binding at all), the profiles BLOCKED by it.
    auto s = shapeOf(check.out);
    EXPECT_EQ(s.failed, std::vector<std::string>{"tls.no-sni.default-binding"}) << check.out;
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"tls.no-sni.default-binding"});
    EXPECT_EQ(s.blocked, 2) << check.out;

    // Put back through the store file: the same wait, the checks pass at once.
    auto set = lab.in(anywhere, {"bindings", "set-default", "--store",
                                 lab.state["bindingStore"].get<std::string>(), "--match-host",
                                 "lyncws.kloud.example"});
    ASSERT_EQ(set.code, 0) << set.out << set.err;
    EXPECT_NE(set.out.find("in force"), std::string::npos) << set.out;
    auto again = lab.in(anywhere, {"check", lab.labFile.string(), "--only", "tls.no-sni.*"});
    EXPECT_EQ(again.code, 0) << again.out << again.err;
}

TEST(LabOps, BindingsSayWhenNoProxyServesTheStore) {
    const edgelab::test::TempDir dir("no-proxy");
    const fs::path store = dir / "bindings.json";
    auto add =
        edgelabIn(dir.path(), dir / "registry",
                  {"bindings", "add", "--store", store.string(), "hostnameport=a.example:443",
                   "certhash=0A1B2C3D4E5F60718293A4B5C6D7E8F901234567",
                   "appid={f955c070-e044-456c-ac00-e9e4275b3f04}"});
    EXPECT_EQ(add.code, 0) << add.out << add.err;
    EXPECT_NE(add.out.find("No running lab's proxy serves"), std::string::npos) << add.out;
    // A lab that is not up has no store to change: said, exit 3.
    auto lab = edgelabIn(dir.path(), dir / "registry",
                         {"bindings", "show", "--lab", edgelab::test::seedLabFile().string()});
    EXPECT_EQ(lab.code, 3) << lab.out << lab.err;
    EXPECT_NE(lab.err.find("is not up: no state.json in"), std::string::npos) << lab.err;
    auto neither = edgelabIn(dir.path(), dir / "registry", {"bindings", "show"});
    EXPECT_EQ(neither.code, 2) << neither.err;
}

// Issue 24: `down` from another directory said "not up ... nothing to stop",
// exited 0 and left the lab running. Now the lab is found by its lab file
// from anywhere, and `down --work-dir DIR` needs no lab file.
TEST(LabOps, DownFromTheRootStopsALabStartedElsewhere) {
    RunningLab lab("down-anywhere");
    auto up = lab.up();
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    std::vector<int> pids;
    for (const auto& p : lab.state["processes"]) pids.push_back(p["pid"].get<int>());
    ASSERT_EQ(pids.size(), 3u);

    auto status = lab.in("/", {"status", lab.labFile.string(), "--format", "json"});
    EXPECT_EQ(status.code, 0) << status.out << status.err;
    auto down = lab.in("/", {"down", lab.labFile.string()});
    EXPECT_EQ(down.code, 0) << down.out << down.err;
    for (int pid : pids) EXPECT_TRUE(edgelab::test::processGone(pid)) << pid;

    // Not up any more: every place looked in is named, exit 3.
    for (const std::string command : {"down", "status", "check"}) {
        auto again = lab.in("/", {command, lab.labFile.string()});
        EXPECT_EQ(again.code, 3) << command << again.out << again.err;
        EXPECT_NE((again.out + again.err).find("no state.json in"), std::string::npos)
            << command << again.out << again.err;
        EXPECT_NE((again.out + again.err).find(lab.registry.string()), std::string::npos)
            << command << again.out << again.err;
    }

    // The lab's folder alone is enough.
    auto up2 = lab.up();
    ASSERT_EQ(up2.code, 0) << up2.out << up2.err;
    const std::string work = (lab.startedIn / ".edgelab" / "seed-lab").string();
    auto byFolder = lab.in("/", {"down", "--work-dir", work});
    EXPECT_EQ(byFolder.code, 0) << byFolder.out << byFolder.err;
    for (const auto& p : lab.state["processes"])
        EXPECT_TRUE(edgelab::test::processGone(p["pid"].get<int>()));
    auto neither = lab.in("/", {"down"});
    EXPECT_EQ(neither.code, 2) << neither.err;
}

// Issue 24: `emit powershell` wrote a wrong production script silently (no
// netsh step for a lab without a default binding, no word about the lab
// PKI's thumbprint, no BOM). Now the rules run first.
TEST(Emit, ALabThatBreaksARuleIsRefusedUnlessForced) {
    const edgelab::test::TempDir dir("emit-rules");
    auto lab = nlohmann::json::parse(std::ifstream(edgelab::test::seedLabFile()));
    lab.erase("defaultBinding");
    std::ofstream(dir / "no-default.json") << lab.dump(2);
    const std::string file = (dir / "no-default.json").string();
    const std::string thumbprint = "F7F6B300FE4D569FD598E1C9722571CF9AD780DD";

    auto refused = edgelab::test::runEdgelab(
        {"emit", "powershell", file, "--thumbprint", thumbprint, "-o", (dir / "x.ps1").string()});
    EXPECT_EQ(refused.code, 1) << refused.err;
    EXPECT_NE(refused.err.find("rule lab.default-binding [S6] failed"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(dir / "x.ps1"));
    EXPECT_EQ(refused.out, "");

    auto forced = edgelab::test::runEdgelab({"emit", "powershell", file, "--thumbprint", thumbprint,
                                             "--force", "--out-dir", (dir / "scripts").string()});
    EXPECT_EQ(forced.code, 0) << forced.err;
    EXPECT_NE(forced.err.find("lab.default-binding"), std::string::npos) << forced.err;
    for (const char* name : {"wap-server.ps1", "lync-frontend.ps1"}) {
        std::ifstream in(dir / "scripts" / name);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        EXPECT_EQ(text.rfind("\xEF\xBB\xBF# ===== ", 0), 0u) << name;
        EXPECT_NE(text.find("\n# WARNING: written with --force; lab rule lab.default-binding"),
                  std::string::npos)
            << text;
    }
}

TEST(Emit, TheLabPkisThumbprintIsSaid) {
    const edgelab::test::TempDir dir("emit-lab-pki");
    auto f = edgelab::test::runEdgelab({"emit", "powershell", edgelab::test::seedLabFile().string(),
                                        "--work-dir", (dir / "work").string()});
    EXPECT_EQ(f.code, 0) << f.err;
    EXPECT_NE(f.err.find("WARNING: no --thumbprint"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("lab PKI's proxy certificate"), std::string::npos) << f.err;
    // The lab PKI's thumbprint given by hand is said too.
    const auto script = f.out;
    const auto at = script.find("certhash='");
    ASSERT_NE(at, std::string::npos) << script;
    const std::string pki = script.substr(at + 10, 40);
    auto copied =
        edgelab::test::runEdgelab({"emit", "powershell", edgelab::test::seedLabFile().string(),
                                   "--work-dir", (dir / "work").string(), "--thumbprint", pki});
    EXPECT_EQ(copied.code, 0) << copied.err;
    EXPECT_NE(copied.err.find("is a certificate of the lab PKI"), std::string::npos) << copied.err;
    auto given =
        edgelab::test::runEdgelab({"emit", "powershell", edgelab::test::seedLabFile().string(),
                                   "--thumbprint", "F7F6B300FE4D569FD598E1C9722571CF9AD780DD"});
    EXPECT_EQ(given.code, 0) << given.err;
    EXPECT_EQ(given.err, "");
}

namespace {

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

bool validJUnit(const fs::path& xml) {
    const auto schema = edgelab::test::sourceDir() / "tests/fixtures/junit-ant.xsd";
    return std::system(
               ("xmllint --noout --schema " + schema.string() + " " + xml.string() + " 2>/dev/null")
                   .c_str()) == 0;
}

// The value of attribute `name` in the <testsuite> of lab `lab`.
std::string suiteAttribute(const std::string& xml, const std::string& lab,
                           const std::string& name) {
    auto at = xml.find("<testsuite name=\"" + lab + "\"");
    if (at == std::string::npos) return "";
    auto end = xml.find('>', at);
    auto attr = xml.find(" " + name + "=\"", at);
    if (attr == std::string::npos || attr > end) return "";
    attr += name.size() + 3;
    return xml.substr(attr, xml.find('"', attr) - attr);
}

}  // namespace

// Issue 24: an empty shard wrote no report.xml, and CI's junit artifact was
// missing.
TEST(CiReports, AnEmptyShardWritesAnEmptyValidReport) {
    const edgelab::test::TempDir dir("empty-shard");
    auto f = edgelab::test::runEdgelab({"run", edgelab::test::seedLabFile().string(), "--shard",
                                        "3/100", "--report-dir", (dir / "report").string()});
    EXPECT_EQ(f.code, 0) << f.out << f.err;
    ASSERT_TRUE(fs::exists(dir / "report/report.xml")) << f.out;
    EXPECT_TRUE(validJUnit(dir / "report/report.xml")) << slurp(dir / "report/report.xml");
    auto summary = nlohmann::json::parse(slurp(dir / "report/summary.json"));
    EXPECT_TRUE(summary["labs"].empty());
}

// Issue 24: one mistyped lab in a folder aborted the run with no report; an
// unwritable --report-dir was found after every check ran; JSON and JUnit
// counted differently.
TEST(CiReports, ABadLabInAFolderIsATestInErrorAndTheOthersRun) {
    const edgelab::test::TempDir dir("bad-lab-in-folder");
    auto good = edgelab::test::seedLabJson();
    good["name"] = "a-lab";
    fs::create_directories(dir / "labs");
    std::ofstream(dir / "labs/a-lab.json") << good.dump(2);
    std::ofstream(dir / "labs/b-typo.json") << "{\"name\": \"b-typo\", \"domian\": 1}";
    auto f = edgelab::test::runEdgelab({"run", (dir / "labs").string(), "--work-dir",
                                        (dir / "work").string(), "--report-dir",
                                        (dir / "report").string(), "--disk-rate-mbps", "100"});
    EXPECT_EQ(f.code, 2) << f.out << f.err;
    const std::string xml = slurp(dir / "report/report.xml");
    EXPECT_TRUE(validJUnit(dir / "report/report.xml")) << xml;
    EXPECT_EQ(suiteAttribute(xml, "b-typo", "errors"), "1") << xml;
    EXPECT_EQ(suiteAttribute(xml, "a-lab", "errors"), "0") << xml;
    EXPECT_EQ(suiteAttribute(xml, "a-lab", "failures"), "0") << xml;
    // The same results in every format.
    auto json = nlohmann::json::parse(slurp(dir / "report/a-lab/report.json"));
    EXPECT_EQ(suiteAttribute(xml, "a-lab", "tests"), std::to_string(json["results"].size()));
    EXPECT_EQ(suiteAttribute(slurp(dir / "report/a-lab/report.xml"), "a-lab", "tests"),
              std::to_string(json["results"].size()));
    auto summary = nlohmann::json::parse(slurp(dir / "report/summary.json"));
    ASSERT_EQ(summary["labs"].size(), 2u);
    EXPECT_EQ(summary["labs"][0]["exitCode"], 0);
    EXPECT_EQ(summary["labs"][1]["exitCode"], 2);

    // A report folder that cannot be written is refused before any lab starts.
    std::ofstream(dir / "a-file") << "x";
    auto refused = edgelab::test::runEdgelab({"run", (dir / "labs/a-lab.json").string(),
                                              "--work-dir", (dir / "work2").string(),
                                              "--report-dir", (dir / "a-file/report").string()});
    EXPECT_EQ(refused.code, 2) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("--report-dir"), std::string::npos) << refused.err;
    EXPECT_EQ(refused.out.find("1/7"), std::string::npos) << refused.out;
    EXPECT_FALSE(fs::exists(dir / "work2"));
}

// Issue 24, "Smaller": no `edgelab help`, no "did you mean" for subcommands
// and options, a FIFO given as a lab blocked forever, `validate --format
// json` had no summary.
TEST(CommandLine, HelpAndSuggestions) {
    auto help = edgelab::test::runEdgelab({"help", "status"});
    EXPECT_EQ(help.code, 0) << help.err;
    EXPECT_NE(help.out.find("--work-dir"), std::string::npos) << help.out;
    auto nested = edgelab::test::runEdgelab({"help", "bindings", "set-default"});
    EXPECT_EQ(nested.code, 0) << nested.err;
    EXPECT_NE(nested.out.find("--match-host"), std::string::npos) << nested.out;
    auto all = edgelab::test::runEdgelab({"help"});
    EXPECT_EQ(all.code, 0);
    EXPECT_NE(all.out.find("status"), std::string::npos);

    auto typo = edgelab::test::runEdgelab({"stauts", "lab.json"});
    EXPECT_EQ(typo.code, 2);
    EXPECT_NE(typo.err.find("unknown command \"stauts\" (did you mean \"status\"?)"),
              std::string::npos)
        << typo.err;
    auto helpTypo = edgelab::test::runEdgelab({"help", "chek"});
    EXPECT_EQ(helpTypo.code, 2);
    EXPECT_NE(helpTypo.err.find("did you mean \"check\"?"), std::string::npos) << helpTypo.err;
    auto option = edgelab::test::runEdgelab({"status", "--work-dri", "/nowhere"});
    EXPECT_EQ(option.code, 2);
    EXPECT_NE(option.err.find("--work-dri: did you mean --work-dir?"), std::string::npos)
        << option.err;
}

TEST(CommandLine, AuditTakesQuiet) {
    const fs::path captures = edgelab::test::sourceDir() / "tests/audit/captures";
    auto f = edgelab::test::runEdgelab(
        {"audit", "-q", "--netsh", (captures / "no-default-binding.netsh.txt").string()});
    EXPECT_EQ(f.code, 1) << f.err;
    EXPECT_EQ(f.out.find("PASS  "), std::string::npos) << f.out;
    EXPECT_NE(f.out.find("FAIL  "), std::string::npos) << f.out;
}

TEST(CommandLine, AFifoIsRefusedNotRead) {
    const edgelab::test::TempDir dir("fifo");
    const fs::path fifo = dir / "lab.json";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto f = edgelab::test::runEdgelab({"validate", fifo.string()});
    EXPECT_EQ(f.code, 2) << f.out << f.err;
    EXPECT_NE(f.err.find("not a regular file"), std::string::npos) << f.err;
}

TEST(CommandLine, ValidateJsonHasASummary) {
    auto f = edgelab::test::runEdgelab(
        {"validate", edgelab::test::seedLabFile().string(), "--format", "json"});
    EXPECT_EQ(f.code, 0) << f.err;
    auto doc = nlohmann::json::parse(f.out);
    EXPECT_EQ(doc["summary"]["failed"], 0);
    EXPECT_EQ(doc["summary"]["outcome"], "passed");
    EXPECT_EQ(doc["summary"]["total"], doc["rules"].size());
}

// Issue 24: with several problems the replay's expect.fail predicted
// failures that were really BLOCKED, and `run` exited 1 with "FAILED, 0
// failure(s) to fix". The replay now expects the root causes only, and meets
// them.
TEST(Replay, ACaptureWithSeveralFaultsReplaysAsItsRootCauses) {
    const edgelab::test::TempDir dir("replay-several");
    const fs::path captures = edgelab::test::sourceDir() / "tests/audit/captures";
    const fs::path lab = dir / "replay.json";
    auto audit = edgelab::test::runEdgelab(
        {"audit", "--netsh", (captures / "no-default-binding.netsh.txt").string(), "--wap",
         (captures / "wap-broken-lync.json").string(), "--emit-lab", lab.string()});
    EXPECT_EQ(audit.code, 1) << audit.out << audit.err;
    ASSERT_TRUE(fs::exists(lab)) << audit.err;
    auto emitted = nlohmann::json::parse(slurp(lab));
    const auto expected = emitted["expect"]["fail"].get<std::vector<std::string>>();
    EXPECT_GE(expected.size(), 2u) << emitted["expect"].dump();
    for (const auto& g : expected) EXPECT_EQ(g.rfind("lab.", 0), 0u) << g;
    auto run = edgelab::test::runEdgelab(
        {"run", lab.string(), "--work-dir", (dir / "work").string(), "--disk-rate-mbps", "100"});
    EXPECT_EQ(run.code, 0) << run.out << run.err;
    EXPECT_EQ(run.out.find("0 failure"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("expectations met"), std::string::npos) << run.out;
}
