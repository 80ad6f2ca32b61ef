// `edgelab run`, `up`, `status`, `down` as a user runs them: the real
// edgelab binary starting the real backends and proxy on loopback.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
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
using edgelab::test::runEdgelab;

const fs::path kEdgelab = edgelab::test::binDir() / "edgelab";
const fs::path kSeedLab = edgelab::test::seedLabFile();

nlohmann::json readJson(const fs::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
}

// A run paused after its proxy is up (EDGELAB_PAUSE_FILE): the test reads
// the pids from the state file and disturbs the run.
struct PausedRun {
    edgelab::test::TempDir scratch;
    fs::path work;
    bp::ipstream out;
    bp::ipstream err;
    bp::child child;
    std::string seen;
    nlohmann::json state;

    explicit PausedRun(const std::string& name) : scratch(name), work(scratch.path()) {
        // A copy: this_process::environment() itself would setenv() in the
        // test process and pause every later edgelab it starts.
        bp::environment env = boost::this_process::environment();
        env["EDGELAB_PAUSE_FILE"] = (work / "resume").string();
        child = bp::child(kEdgelab.string(),
                          bp::args = {"run", kSeedLab.string(), "--work-dir",
                                      (work / "lab").string(), "--disk-sample-mib", "1"},
                          env, bp::std_out > out, bp::std_err > err, edgelab::test::diesWithTest());
        std::string line;
        while (std::getline(out, line)) {
            seen += line + "\n";
            if (line.find("paused: waiting for") != std::string::npos) break;
        }
        state = readJson(work / "lab" / "state.json");
    }

    std::vector<int> pids() const {
        std::vector<int> v;
        for (const auto& p : state["processes"]) v.push_back(p["pid"].get<int>());
        return v;
    }
    int pidOf(const std::string& name) const {
        for (const auto& p : state["processes"])
            if (p["name"] == name) return p["pid"].get<int>();
        return -1;
    }
    Finished finish() {
        Finished f;
        std::string line;
        while (std::getline(out, line)) seen += line + "\n";
        while (std::getline(err, line)) f.err += line + "\n";
        child.wait();
        f.code = child.exit_code();
        f.out = seen;
        return f;
    }
};

}  // namespace

TEST(RunnerProcess, HelpExplainsTheCommand) {
    auto f = runEdgelab({"--help"});
    EXPECT_EQ(f.code, 0);
    EXPECT_NE(f.out.find("run"), std::string::npos);
    EXPECT_NE(f.out.find("Exit codes"), std::string::npos);
    auto bad = runEdgelab({"run"});
    EXPECT_EQ(bad.code, 2);
}

TEST(RunnerProcess, AMissingLabFileIsBadInput) {
    auto f = runEdgelab({"run", "/nonexistent/lab.json"});
    EXPECT_EQ(f.code, 2);
    EXPECT_NE(f.err.find("/nonexistent/lab.json"), std::string::npos);
}

// Input that cannot surprise: each refusal exits 2 and names the value.
TEST(RunnerProcess, BadInputIsRefusedNamingTheValue) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases{
        {{"run", kSeedLab.string(), "--jobs", "0"}, "--jobs 0: expected at least 1"},
        {{"bindings", "show", "--store", "/nonexistent/bindings.json"},
         "--store /nonexistent/bindings.json: no such file"},
        {{"emit", "powershell", kSeedLab.string(), "--thumbprint", "nothex"},
         "--thumbprint nothex: expected 40 hex digits"},
        {{"validate", kSeedLab.parent_path().string()}, "is a directory"},
        {{"check", kSeedLab.string(), "--connect-to", "lyncws.kloud.example:443:127.0.0.1:99999"},
         "--connect-to lyncws.kloud.example:443:127.0.0.1:99999"},
    };
    for (const auto& c : cases) {
        auto f = runEdgelab(c.args);
        EXPECT_EQ(f.code, 2) << c.args[0] << " " << c.args[1] << "\n" << f.out << f.err;
        EXPECT_NE(f.err.find(c.message), std::string::npos) << f.err;
        EXPECT_EQ(f.out, "") << c.args[0];
    }
}

TEST(RunnerProcess, EmitWritesOneScriptPerServerRole) {
    const edgelab::test::TempDir scratch("emit");
    const fs::path dir = scratch.path();
    const std::string thumbprint = "F7F6B300FE4D569FD598E1C9722571CF9AD780DD";
    auto all = runEdgelab({"emit", "powershell", kSeedLab.string(), "--thumbprint", thumbprint});
    ASSERT_EQ(all.code, 0) << all.err;
    auto files = runEdgelab({"emit", "powershell", kSeedLab.string(), "--thumbprint", thumbprint,
                             "--out-dir", (dir / "scripts").string()});
    ASSERT_EQ(files.code, 0) << files.err;
    std::string joined;
    for (const char* name : {"wap-server.ps1", "lync-frontend.ps1"}) {
        std::ifstream in(dir / "scripts" / name);
        ASSERT_TRUE(in) << name;
        std::string text((std::istreambuf_iterator<char>(in)), {});
        // UTF-8 with a byte order mark, for Windows PowerShell 5.1.
        ASSERT_EQ(text.rfind("\xEF\xBB\xBF", 0), 0u) << name;
        text.erase(0, 3);
        EXPECT_EQ(text.rfind(std::string("# ===== ") + name + ": run on ", 0), 0u) << text;
        joined += (joined.empty() ? "" : "\n") + text;
        EXPECT_NE(files.out.find(name), std::string::npos) << files.out;
    }
    // Standard output carries the same scripts, one after the other.
    EXPECT_EQ(all.out, joined);
    auto both = runEdgelab({"emit", "powershell", kSeedLab.string(), "--thumbprint", thumbprint,
                            "--out-dir", (dir / "x").string(), "-o", (dir / "x.ps1").string()});
    EXPECT_EQ(both.code, 2) << both.err;
}

TEST(RunnerProcess, EmitRefusesAdfsWithoutARelyingPartyNamingThePath) {
    const edgelab::test::TempDir scratch("emit-adfs");
    const fs::path dir = scratch.path();
    auto lab = readJson(kSeedLab);
    lab["applications"][3]["externalPreAuthentication"] = "ADFS";
    std::ofstream(dir / "adfs.json") << lab.dump(2);
    auto f = runEdgelab({"emit", "powershell", (dir / "adfs.json").string(), "--thumbprint",
                         "F7F6B300FE4D569FD598E1C9722571CF9AD780DD"});
    EXPECT_EQ(f.code, 2) << f.err;
    EXPECT_NE(f.err.find("/applications/3/adfsRelyingPartyName"), std::string::npos) << f.err;
    EXPECT_EQ(f.out, "");
    // validate still accepts the lab: only the script needs the name.
    EXPECT_NE(runEdgelab({"validate", (dir / "adfs.json").string()}).code, 2);
}

TEST(RunnerProcess, AFolderRunsTheLabsInItInNameOrder) {
    const edgelab::test::TempDir dir("folder");
    for (const std::string name : {"b-lab", "a-lab"}) {
        auto lab = edgelab::test::seedLabJson();
        lab["name"] = name;
        std::ofstream(dir / (name + ".json")) << lab.dump(2);
    }
    std::ofstream(dir / "README.md") << "not a lab\n";
    const std::string a = (dir / "a-lab.json").string(), b = (dir / "b-lab.json").string();
    auto all = runEdgelab({"run", dir.path().string(), "--list"});
    EXPECT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(all.out, a + "\n" + b + "\n");
    // Shards split the folder's list, as they split the files named one by one.
    auto second = runEdgelab({"run", dir.path().string(), "--list", "--shard", "2/2"});
    EXPECT_EQ(second.code, 0) << second.err;
    EXPECT_EQ(second.out, b + "\n");

    const edgelab::test::TempDir empty("empty-folder");
    auto none = runEdgelab({"run", empty.path().string(), "--list"});
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.err.find(empty.path().string() + ": a folder with no lab descriptions"),
              std::string::npos)
        << none.err;
}

TEST(RunnerProcess, BadInputIsJsonWhenJsonIsAsked) {
    for (const std::string command : {"check", "validate"}) {
        auto f = runEdgelab({command, kSeedLab.parent_path().string(), "--format", "json"});
        EXPECT_EQ(f.code, 2) << f.err;
        auto doc = nlohmann::json::parse(f.out, nullptr, false);
        ASSERT_FALSE(doc.is_discarded()) << command << ": " << f.out;
        EXPECT_NE(doc["error"]["message"].get<std::string>().find("is a directory"),
                  std::string::npos)
            << f.out;
        EXPECT_EQ(doc["error"]["exitCode"], 2);
    }
    // One vocabulary: console or json, for every command.
    for (const std::string command : {"check", "validate", "status"}) {
        auto f = runEdgelab({command, kSeedLab.string(), "--format", "text"});
        EXPECT_EQ(f.code, 2) << command << f.out;
        auto ok = runEdgelab({command, kSeedLab.string(), "--format", "console", "--help"});
        EXPECT_EQ(ok.code, 0) << command;
    }
}

TEST(RunnerProcess, VersionIsPrinted) {
    auto f = runEdgelab({"--version"});
    EXPECT_EQ(f.code, 0) << f.err;
    EXPECT_EQ(f.out.rfind("edgelab ", 0), 0u) << f.out;
    EXPECT_NE(f.out.find('.'), std::string::npos) << f.out;
}

TEST(RunnerProcess, KilledProxyMidRunIsReportedAndNothingIsLeft) {
    PausedRun run("killed-proxy");
    ASSERT_EQ(run.pids().size(), 3u) << run.seen;
    int proxy = run.pidOf("proxy");
    ASSERT_GT(proxy, 0);
    ASSERT_EQ(::kill(proxy, SIGKILL), 0);
    auto f = run.finish();
    EXPECT_EQ(f.code, 3) << f.out << f.err;
    EXPECT_NE(f.err.find("step 5/7 (default binding)"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("proxy (pid " + std::to_string(proxy) + ") exited on signal 9"),
              std::string::npos)
        << f.err;
    EXPECT_NE(f.err.find("last lines of " + (run.work / "lab/logs/proxy.log").string()),
              std::string::npos)
        << f.err;
    EXPECT_NE(f.err.find("    | READY"), std::string::npos) << f.err;  // the log tail itself
    for (int pid : run.pids()) EXPECT_TRUE(edgelab::test::processGone(pid)) << pid;
    EXPECT_FALSE(fs::exists(run.work / "lab/state.json"));
}

TEST(RunnerProcess, SigintMidRunStopsEverything) {
    PausedRun run("sigint");
    ASSERT_EQ(run.pids().size(), 3u) << run.seen;
    ASSERT_EQ(::kill(run.child.id(), SIGINT), 0);
    auto f = run.finish();
    EXPECT_EQ(f.code, 128 + SIGINT) << f.out << f.err;
    EXPECT_NE(f.err.find("interrupted by signal 2 during step 5/7"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("stopped 3 processes"), std::string::npos) << f.err;
    for (int pid : run.pids()) EXPECT_TRUE(edgelab::test::processGone(pid)) << pid;
    EXPECT_FALSE(fs::exists(run.work / "lab/state.json"));
}

// Whatever the test's outcome, the lab it brought up goes down.
struct DownAtEnd {
    fs::path work;
    ~DownAtEnd() {
        if (fs::exists(work / "state.json"))
            runEdgelab({"down", kSeedLab.string(), "--work-dir", work.string()});
    }
};

TEST(RunnerProcess, UpStatusCheckDownInSequence) {
    const edgelab::test::TempDir scratch("up-down");
    auto work = scratch / "lab";
    DownAtEnd guard{work};
    auto up = runEdgelab(
        {"up", kSeedLab.string(), "--work-dir", work.string(), "--disk-sample-mib", "1"});
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    EXPECT_NE(up.out.find("--connect-to lyncws.kloud.example:443:127."), std::string::npos)
        << up.out;
    // The printed down command names the folder given to up.
    EXPECT_NE(up.out.find("edgelab down " + kSeedLab.string() + " --work-dir " + work.string()),
              std::string::npos)
        << up.out;
    auto state = readJson(work / "state.json");
    std::vector<int> pids;
    for (const auto& p : state["processes"]) pids.push_back(p["pid"].get<int>());
    ASSERT_EQ(pids.size(), 3u);
    for (int pid : pids) EXPECT_FALSE(edgelab::test::processGone(pid));

    auto again = runEdgelab({"up", kSeedLab.string(), "--work-dir", work.string()});
    EXPECT_EQ(again.code, 2);
    EXPECT_NE(again.err.find("is already up"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("edgelab down"), std::string::npos) << again.err;
    EXPECT_TRUE(fs::exists(work / "state.json"));  // the refusal leaves the running lab alone
    for (int pid : pids) EXPECT_FALSE(edgelab::test::processGone(pid));

    auto status =
        runEdgelab({"status", kSeedLab.string(), "--work-dir", work.string(), "--format", "json"});
    EXPECT_EQ(status.code, 0) << status.out << status.err;
    auto s = nlohmann::json::parse(status.out);
    EXPECT_TRUE(s["healthy"].get<bool>());
    EXPECT_EQ(s["processes"].size(), 3u);
    EXPECT_TRUE(s["names"].contains("owas.kloud.example"));
    EXPECT_TRUE(fs::exists(s["caBundle"].get<std::string>()));
    EXPECT_EQ(s["bindingStore"], state["bindingStore"]);

    auto check =
        runEdgelab({"check", kSeedLab.string(), "--work-dir", work.string(), "--format", "json"});
    EXPECT_EQ(check.code, 0) << check.out << check.err;

    auto down = runEdgelab({"down", kSeedLab.string(), "--work-dir", work.string()});
    EXPECT_EQ(down.code, 0) << down.out << down.err;
    for (int pid : pids) EXPECT_TRUE(edgelab::test::processGone(pid)) << pid;
    EXPECT_FALSE(fs::exists(work / "state.json"));
    EXPECT_TRUE(fs::exists(work / "pki"));  // down keeps the work folder

    auto after = runEdgelab({"status", kSeedLab.string(), "--work-dir", work.string()});
    EXPECT_EQ(after.code, 3);
}

TEST(RunnerProcess, ManyLabsInOneReportWithOneTestsuiteEach) {
    const edgelab::test::TempDir dir("many");
    auto labs = edgelab::test::labsDir();
    auto f = runEdgelab({"run", (labs / "seed-lab.json").string(),
                         (labs / "no-default-binding.json").string(), "--jobs", "2", "--work-dir",
                         (dir / "work").string(), "--report-dir", (dir / "report").string(),
                         "--disk-rate-mbps", "100"});
    EXPECT_EQ(f.code, 0) << f.out << f.err;
    EXPECT_NE(f.out.find("[seed-lab] "), std::string::npos);
    EXPECT_NE(f.out.find("[no-default-binding] "), std::string::npos);
    auto xml = dir / "report/report.xml";
    ASSERT_TRUE(fs::exists(xml));
    std::ifstream in(xml);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find("<testsuite name=\"seed-lab\""), std::string::npos);
    EXPECT_NE(text.find("<testsuite name=\"no-default-binding\""), std::string::npos);
    EXPECT_NE(text.find("id=\"1\""), std::string::npos);
    EXPECT_NE(text.find("expected failure"), std::string::npos);
    auto schema = fs::path(EDGELAB_SOURCE_DIR) / "tests/fixtures/junit-ant.xsd";
    ASSERT_TRUE(fs::exists(schema));
    int rc = std::system(
        ("xmllint --noout --schema " + schema.string() + " " + xml.string() + " 2>/dev/null")
            .c_str());
    EXPECT_EQ(rc, 0) << "report.xml does not validate against the Ant JUnit schema";
    EXPECT_TRUE(fs::exists(dir / "report/seed-lab/report.html"));
    auto summary = readJson(dir / "report/summary.json");
    EXPECT_EQ(summary["labs"].size(), 2u);
    // Both labs were issued from the run's CA, made once beside their
    // folders; each lab's pki/root.pem is that root (and both passed their
    // checks, the chain ones among them, against it).
    auto bytes = [](const fs::path& f) {
        std::ifstream in(f, std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), {});
    };
    const std::string runRoot = bytes(dir / "work/@run-ca/root.pem");
    EXPECT_NE(runRoot.find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_EQ(bytes(dir / "work/seed-lab/pki/root.pem"), runRoot);
    EXPECT_EQ(bytes(dir / "work/no-default-binding/pki/root.pem"), runRoot);
}

TEST(RunnerProcess, ShardsSplitTheLabs) {
    auto labs = edgelab::test::labsDir();
    const edgelab::test::TempDir dir("shard");
    // Shard 2 of 100 of two labs holds the second in name order only.
    auto f = runEdgelab({"run", (labs / "seed-lab.json").string(),
                         (labs / "edge-single-nic.json").string(), "--shard", "2/100", "--work-dir",
                         (dir / "work").string(), "--report-dir", (dir / "report").string(),
                         "--disk-rate-mbps", "100"});
    EXPECT_EQ(f.code, 0) << f.out << f.err;
    EXPECT_NE(f.out.find("seed-lab"), std::string::npos);
    EXPECT_EQ(f.out.find("edge-single-nic"), std::string::npos);
    auto empty = runEdgelab({"run", (labs / "seed-lab.json").string(), "--shard", "3/100"});
    EXPECT_EQ(empty.code, 0);
    EXPECT_NE(empty.out.find("no labs"), std::string::npos);
}

TEST(RunnerProcess, RunKeepPrintsHowToReachTheLabAndLeavesItUp) {
    const edgelab::test::TempDir scratch("keep");
    auto work = scratch / "lab";
    DownAtEnd guard{work};
    auto f = runEdgelab({"run", kSeedLab.string(), "--keep", "--work-dir", work.string(),
                         "--disk-rate-mbps", "100"});
    ASSERT_EQ(f.code, 0) << f.out << f.err;
    auto state = readJson(work / "state.json");
    const std::string proxy = state["proxyAddress"].get<std::string>();
    EXPECT_NE(f.out.find("--connect-to owas.kloud.example:443:" + proxy), std::string::npos)
        << f.out;
    EXPECT_NE(f.out.find("--cacert " + state["caBundle"].get<std::string>()), std::string::npos);
    EXPECT_NE(f.out.find(proxy.substr(0, proxy.rfind(':')) + " lyncdiscover.kloud.example"),
              std::string::npos)
        << f.out;
    for (const auto& p : state["processes"])
        EXPECT_FALSE(edgelab::test::processGone(p["pid"].get<int>()));
    auto down = runEdgelab({"down", kSeedLab.string(), "--work-dir", work.string()});
    EXPECT_EQ(down.code, 0);
    for (const auto& p : state["processes"])
        EXPECT_TRUE(edgelab::test::processGone(p["pid"].get<int>()));
}

namespace {

// A TCP socket on 127.0.0.1 with a port of its own: listening (connections
// are accepted by the kernel and never answered) or only bound (connections
// are refused). Port 0: the kernel picks a free one.
struct LoopbackSocket {
    int fd = -1;
    int port = 0;
    explicit LoopbackSocket(bool listening) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
        if (listening) ::listen(fd, 512);  // room for every probe's connection
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~LoopbackSocket() { ::close(fd); }
};

// The verdicts of a JSON report: FAIL ids, and the roots BLOCKED results name.
struct Verdicts {
    std::vector<std::string> failed;
    std::set<std::string> blockedBy;
    int blocked = 0;
};

Verdicts verdictsOf(const std::string& jsonText) {
    Verdicts v;
    auto doc = nlohmann::json::parse(jsonText);
    for (auto& r : doc["results"]) {
        auto verdict = r["verdict"].get<std::string>();
        if (verdict == "FAIL") v.failed.push_back(r["id"].get<std::string>());
        if (verdict == "BLOCKED") {
            ++v.blocked;
            v.blockedBy.insert(r["blockedBy"].get<std::string>());
        }
    }
    return v;
}

}  // namespace

// One cause, one failure: each way of not reaching the target shows its root
// cause once, the rest BLOCKED by it, and exits 3.
TEST(RunnerProcess, CheckShowsOneRootCauseWhenTheTargetCannotBeReached) {
    LoopbackSocket silent(true), closed(false);
    ASSERT_GT(silent.port, 0);
    ASSERT_GT(closed.port, 0);
    struct Case {
        std::string connectTo, root;
    };
    const std::vector<Case> cases{
        {"::127.0.0.1:" + std::to_string(closed.port), "reach.connect"},
        {"::127.0.0.1:" + std::to_string(silent.port), "reach.answer"},
        // A label over 63 octets cannot be put in a DNS query: the resolver
        // refuses it without asking anyone.
        {"::" + std::string(64, 'a') + ".invalid:443", "reach.resolve"},
    };
    for (const auto& c : cases) {
        auto f = runEdgelab({"check", kSeedLab.string(), "--connect-to", c.connectTo, "--timeout",
                             "1", "--format", "json"});
        EXPECT_EQ(f.code, 3) << c.root << "\n" << f.err;
        auto v = verdictsOf(f.out);
        EXPECT_EQ(v.failed, std::vector<std::string>{c.root}) << f.out;
        EXPECT_EQ(v.blockedBy, std::set<std::string>{c.root});
        EXPECT_GE(v.blocked, 30) << c.root;
    }
}

TEST(RunnerProcess, CheckWithAnotherRootIsOneTrustFailure) {
    const edgelab::test::TempDir dir("wrong-root");
    auto work = dir / "lab";
    DownAtEnd guard{work};
    // A second PKI for the same lab: its root did not issue the proxy's chain.
    auto other = runEdgelab({"emit", "powershell", kSeedLab.string(), "--work-dir",
                             (dir / "other").string(), "-o", (dir / "other.ps1").string()});
    ASSERT_EQ(other.code, 0) << other.err;
    auto up = runEdgelab(
        {"up", kSeedLab.string(), "--work-dir", work.string(), "--disk-sample-mib", "1"});
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    // With the lab's test user, so that the sign-ins' own connections are
    // refused too.
    std::vector<std::string> args{
        "check",  kSeedLab.string(),     "--cacert", (dir / "other/pki/root.pem").string(),
        "--user", "alice@kloud.example", "--format", "json"};
    const auto state = readJson(work / "state.json");
    ASSERT_FALSE(state["connectTo"].empty());
    for (auto& c : state["connectTo"]) {
        args.push_back("--connect-to");
        args.push_back(c.get<std::string>());
    }
    auto f = runEdgelab(args);
    EXPECT_EQ(f.code, 1) << f.err;
    auto v = verdictsOf(f.out);
    EXPECT_EQ(v.failed, std::vector<std::string>{"tls.trust"}) << f.out;
    EXPECT_EQ(v.blockedBy, std::set<std::string>{"tls.trust"});
    EXPECT_NE(f.out.find("2 certificates"), std::string::npos);
    // libcurl refused the certificate too (the run's one trust store,
    // checks/trust.hpp): what only HTTP or a sign-in can show is BLOCKED,
    // not passed, and nothing was answered.
    const auto doc = nlohmann::json::parse(f.out);
    for (const std::string id : {"lyncdiscover", "auth.passthrough", "owas.wopisrc", "signin.ucwa",
                                 "signin.webticket", "signin.ntlm-affinity"}) {
        bool seen = false;
        for (const auto& r : doc["results"])
            if (r["id"] == id) {
                seen = true;
                EXPECT_EQ(r["verdict"], "BLOCKED") << id << ": " << r.dump();
            }
        EXPECT_TRUE(seen) << id;
    }
}

// The web ticket endpoint's NTLM legs in the proxy's access log, by client
// address: the negotiates answered 401 and the legs accepted.
struct WebTicketPosts {
    std::vector<std::string> challenged, accepted;
};
WebTicketPosts webTicketPosts(const fs::path& work) {
    WebTicketPosts posts;
    std::ifstream log(work / "logs/proxy-access.log");
    for (std::string line; std::getline(log, line);) {
        auto e = nlohmann::json::parse(line, nullptr, false);
        if (!e.is_object() || e.value("event", "") != "request" ||
            e.value("method", "") != "POST" ||
            e.value("target", "") != "/WebTicket/WebTicketService.svc")
            continue;
        (e["status"] == 401 ? posts.challenged : posts.accepted).push_back(e["client"]);
    }
    return posts;
}

// The affinity check's other clients are real, distinct connections: the
// proxy's access log shows every NTLM negotiate answered 401 (the probe's own,
// the others', the anonymous requests after the sign-in, the web ticket
// sign-in's) from a client address of its own, and the third leg accepted on
// the probe's connection. A lab's proxy runs one worker, so the others are 4
// and the anonymous requests 2 (a proxy of unknown workers gets 24 and 4);
// --affinity-clients sets the others.
TEST(RunnerProcess, TheAffinityCheckStartsEachOtherClientOnAConnectionOfItsOwn) {
    const edgelab::test::TempDir scratch("busy");
    auto work = scratch / "lab";
    DownAtEnd guard{work};
    auto up = runEdgelab(
        {"up", kSeedLab.string(), "--work-dir", work.string(), "--disk-sample-mib", "1"});
    ASSERT_EQ(up.code, 0) << up.out << up.err;
    EXPECT_EQ(readJson(work / "state.json")["proxyWorkers"], 1);
    auto check = runEdgelab({"check", kSeedLab.string(), "--work-dir", work.string(), "--only",
                             "signin.*", "--format", "json"});
    EXPECT_EQ(check.code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("4 other connection(s) started NTLM meanwhile"), std::string::npos)
        << check.out;
    WebTicketPosts posts;
    ASSERT_TRUE(edgelab::test::eventually(
        [&] { return (posts = webTicketPosts(work)).accepted.size() >= 2; },
        "both accepted legs in the proxy's access log"));
    EXPECT_EQ(posts.challenged.size(), 8u);
    EXPECT_EQ(std::set<std::string>(posts.challenged.begin(), posts.challenged.end()).size(), 8u)
        << "two negotiates shared a client connection";
    ASSERT_EQ(posts.accepted.size(), 2u);  // the web ticket sign-in's and the affinity probe's
    for (const auto& client : posts.accepted)
        EXPECT_EQ(std::count(posts.challenged.begin(), posts.challenged.end(), client), 1)
            << client;

    // 24 others: the probe's negotiate, theirs and the 2 anonymous requests.
    check = runEdgelab({"check", kSeedLab.string(), "--work-dir", work.string(), "--only",
                        "signin.ntlm-affinity", "--affinity-clients", "24", "--format", "json"});
    EXPECT_EQ(check.code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("24 other connection(s) started NTLM meanwhile"), std::string::npos)
        << check.out;
    ASSERT_TRUE(edgelab::test::eventually(
        [&] { return (posts = webTicketPosts(work)).accepted.size() >= 3; },
        "the second check's accepted leg in the proxy's access log"));
    EXPECT_EQ(posts.challenged.size(), 8u + 27u);
    EXPECT_EQ(std::set<std::string>(posts.challenged.begin(), posts.challenged.end()).size(), 35u);
    EXPECT_EQ(posts.accepted.size(), 3u);

    auto none = runEdgelab(
        {"check", kSeedLab.string(), "--work-dir", work.string(), "--affinity-clients", "0"});
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.err.find("--affinity-clients"), std::string::npos) << none.err;
}

// A lab whose proxy shares its backend connections between clients fails the
// affinity check, and only it, as its file expects: the 4 other clients a
// lab's one-worker proxy gets are enough to take the connection every time.
TEST(RunnerProcess, APoolingProxyFailsTheAffinityCheckInALab) {
    const edgelab::test::TempDir dir("pooling");
    for (int round = 0; round < 3; ++round) {
        const auto report = dir / ("report-" + std::to_string(round));
        auto f = runEdgelab({"run", (edgelab::test::labsDir() / "ntlm-no-affinity.json").string(),
                             "--work-dir", (dir / "work").string(), "--report-dir", report.string(),
                             "--disk-rate-mbps", "100"});
        EXPECT_EQ(f.code, 0) << "expectations not met: " << f.out << f.err;
        auto doc = readJson(report / "report.json");
        int failed = 0;
        for (const auto& r : doc["results"]) {
            if (r["verdict"] != "FAIL") continue;
            ++failed;
            EXPECT_EQ(r["id"], "signin.ntlm-affinity") << r.dump();
            EXPECT_NE(r.dump().find("4 other connection(s)"), std::string::npos) << r.dump();
        }
        EXPECT_EQ(failed, 1) << round;
    }
}

// A real site's lab (no backends) is checked and validated, never built.
TEST(RunnerProcess, ARealSiteLabIsCheckedNotBuilt) {
    const fs::path site = edgelab::test::sourceDir() / "scenarios/sites/contoso-site.json";
    for (const std::string command : {"run", "up"}) {
        auto f = runEdgelab({command, site.string()});
        EXPECT_EQ(f.code, 2) << command << f.out << f.err;
        EXPECT_NE(f.err.find("/backends: a lab built on loopback needs its backends"),
                  std::string::npos)
            << f.err;
        EXPECT_NE(f.err.find("/applications/0/backendServerUrl"), std::string::npos) << f.err;
    }
    EXPECT_EQ(runEdgelab({"validate", site.string()}).code, 0);
    // check takes it: a port on loopback that refuses is "not reached" (3),
    // not bad input (2).
    LoopbackSocket refusing(false);
    ASSERT_GT(refusing.port, 0);
    auto f = runEdgelab({"check", site.string(), "--connect-to",
                         "::127.0.0.1:" + std::to_string(refusing.port), "--format", "json"});
    EXPECT_EQ(f.code, 3) << f.err;
    EXPECT_NE(f.out.find("\"reach.connect\""), std::string::npos);
}
