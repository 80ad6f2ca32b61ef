// `edgelab audit` as a user runs it: exit codes, labs audited, captures
// replayed on loopback through `edgelab run`, and `edgelab bindings show`
// read back by the audit's netsh parser.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "proxy/binding_store.hpp"
#include "proxy/netsh_show.hpp"
#include "tests/support/edgelab_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace edgelab {
namespace {

using edgelab::test::Finished;
using edgelab::test::runEdgelab;

const fs::path kCaptures = fs::path(EDGELAB_SOURCE_DIR) / "tests/audit/captures";
const fs::path kLabs = fs::path(EDGELAB_SOURCE_DIR) / "scenarios/labs";

std::string capture(const std::string& name) { return (kCaptures / name).string(); }

std::set<std::string> failedIds(const nlohmann::json& report) {
    std::set<std::string> ids;
    for (const auto& r : report["results"])
        if (r["verdict"] == "FAIL") ids.insert(r["id"].get<std::string>());
    return ids;
}

TEST(AuditCommand, ExitCodesSayTheKind) {
    EXPECT_EQ(runEdgelab({"audit", "--lab", (kLabs / "seed-lab.json").string()}).code, 0);
    EXPECT_EQ(runEdgelab({"audit", "--lab", (kLabs / "no-default-binding.json").string()}).code, 1);
    EXPECT_EQ(runEdgelab({"audit"}).code, 2);
    const edgelab::test::TempDir dir("audit-exit");
    writeFileAtomic(dir / "garbage.txt", "not netsh\nat all\n");
    const auto garbage = runEdgelab({"audit", "--netsh", (dir / "garbage.txt").string()});
    EXPECT_EQ(garbage.code, 2);
    EXPECT_NE(garbage.err.find("line 1"), std::string::npos) << garbage.err;
    // An empty capture passes nothing: "nothing to audit", saying what was read.
    for (const std::string empty :
         {"empty-zero-bytes.netsh.txt", "empty-bom-only.netsh.txt", "empty-separators.netsh.txt"}) {
        const auto r =
            runEdgelab({"audit", "--netsh", capture(empty), "--wap", capture("wap-seed.json")});
        EXPECT_EQ(r.code, 2) << empty << r.out;
        EXPECT_NE(r.err.find("nothing to audit: no binding read ("), std::string::npos) << r.err;
    }
    const auto noApps = runEdgelab({"audit", "--wap", capture("wap-empty.json")});
    EXPECT_EQ(noApps.code, 2);
    EXPECT_NE(noApps.err.find("nothing to audit"), std::string::npos) << noApps.err;
    const auto table = runEdgelab({"audit", "--wap", capture("wap-format-table.txt")});
    EXPECT_EQ(table.code, 2);
    EXPECT_NE(table.err.find("Format-Table"), std::string::npos) << table.err;
    const auto missing = runEdgelab({"audit", "--wap", (dir / "none.json").string()});
    EXPECT_EQ(missing.code, 2);
    EXPECT_NE(missing.err.find("none.json"), std::string::npos) << missing.err;
}

TEST(AuditCommand, FindingPrintsTheSeedsFix) {
    const auto r = runEdgelab({"audit", "--netsh", capture("no-default-binding.netsh.txt"), "--wap",
                               capture("wap-seed.json"), "--cert", capture("proxy-all-names.pem")});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("netsh http add sslcert ipport='0.0.0.0:443' "
                         "certhash='c0a130df59a376f3155636845cae1190f59bee65' "
                         "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}'"),
              std::string::npos)
        << r.out;
}

// The capture becomes a lab; `edgelab run` of it fails what the audit failed,
// on the wire too, and meets the lab's expectations (exit 0).
void expectReplay(const std::string& netsh, const std::set<std::string>& auditFails,
                  const std::string& wireGlobPrefix) {
    const edgelab::test::TempDir dir("audit-replay-" + fs::path(netsh).stem().stem().string());
    const auto lab = dir / "replay.json";
    const auto audit = runEdgelab(
        {"audit", "--netsh", capture(netsh), "--wap", capture("wap-seed.json"), "--cert",
         capture("proxy-all-names.pem"), "--emit-lab", lab.string(), "--format", "json"});
    ASSERT_EQ(audit.code, auditFails.empty() ? 0 : 1) << audit.err;
    EXPECT_EQ(failedIds(nlohmann::json::parse(audit.out)), auditFails);
    ASSERT_TRUE(fs::exists(lab)) << audit.err;
    const auto run =
        runEdgelab({"run", lab.string(), "--work-dir", (dir / "work").string(), "--report-dir",
                    (dir / "report").string(), "--disk-sample-mib", "1"});
    EXPECT_EQ(run.code, 0) << run.out << run.err;
    const auto report = nlohmann::json::parse(readFile(dir / "report/report.json"));
    const auto failed = failedIds(report);
    for (const auto& id : auditFails) EXPECT_TRUE(failed.count(id)) << id << " did not fail";
    bool wire = wireGlobPrefix.empty();
    for (const auto& id : failed) {
        const bool fromAudit = auditFails.count(id) > 0;
        const bool onWire = !wireGlobPrefix.empty() && id.rfind(wireGlobPrefix, 0) == 0;
        wire |= onWire;
        EXPECT_TRUE(fromAudit || onWire) << id << " failed in the replay only";
    }
    // A wire check BLOCKED by the rule the audit failed shows the fault too:
    // the rule is its root cause (runner/README.md).
    for (const auto& r : report["results"])
        if (r["verdict"] == "BLOCKED" && auditFails.count(r.value("blockedBy", "")) &&
            !wireGlobPrefix.empty() && r["id"].get<std::string>().rfind(wireGlobPrefix, 0) == 0)
            wire = true;
    EXPECT_TRUE(wire) << "no " << wireGlobPrefix << "* check failed on the wire";
}

// From netsh alone: a lab with the names the bindings give, saying what it
// assumed, that replays the missing default binding on the wire.
TEST(AuditCommand, EmitsALabFromNetshAloneAndSaysWhatItAssumed) {
    const edgelab::test::TempDir dir("audit-netsh-alone");
    const auto lab = dir / "replay.json";
    const auto audit = runEdgelab({"audit", "--netsh", capture("no-default-binding.netsh.txt"),
                                   "--emit-lab", lab.string(), "--format", "json"});
    ASSERT_EQ(audit.code, 1) << audit.err;
    ASSERT_TRUE(fs::exists(lab)) << audit.err;
    EXPECT_NE(audit.err.find("Assumed from netsh alone"), std::string::npos) << audit.err;
    EXPECT_NE(audit.err.find("left out (not Lync or OWAS by name): adfs.fabrikam.example:443"),
              std::string::npos)
        << audit.err;
    const auto emitted = nlohmann::json::parse(readFile(lab));
    EXPECT_EQ(emitted["names"]["webServices"], "lyncws.fabrikam.example");
    EXPECT_EQ(emitted["applications"].size(), 5u);
    const auto run =
        runEdgelab({"run", lab.string(), "--work-dir", (dir / "work").string(), "--report-dir",
                    (dir / "report").string(), "--disk-sample-mib", "1"});
    EXPECT_EQ(run.code, 0) << run.out << run.err;
    const auto failed = failedIds(nlohmann::json::parse(readFile(dir / "report/report.json")));
    EXPECT_TRUE(failed.count("lab.default-binding"));
}

TEST(AuditCommand, ReplaysACaptureWithoutTheDefaultBinding) {
    expectReplay("no-default-binding.netsh.txt", {"lab.default-binding"}, "tls.no-sni.");
}

TEST(AuditCommand, ReplaysACaptureWithTheDefaultBinding) {
    expectReplay("default-binding-ccs.netsh.txt", {}, "");
}

// `bindings show` prints netsh's labels and spacing: the audit's parser reads
// back exactly the store.
TEST(AuditCommand, BindingsShowRoundTripsThroughTheNetshParser) {
    const edgelab::test::TempDir dir("audit-bindings-show");
    const auto store = (dir / "bindings.json").string();
    const std::string hash = "C0A130DF59A376F3155636845CAE1190F59BEE65";
    const std::string appid = "appid={f955c070-e044-456c-ac00-e9e4275b3f04}";
    for (const std::string key : {"hostnameport=lyncws.fabrikam.example:443",
                                  "hostnameport=owas.fabrikam.example:443", "ipport=0.0.0.0:443"})
        ASSERT_EQ(
            runEdgelab({"bindings", "add", "--store", store, key, "certhash=" + hash, appid}).code,
            0);
    const auto shown = runEdgelab({"bindings", "show", "--store", store});
    ASSERT_EQ(shown.code, 0);
    const auto parsed = proxy::parseNetshText(shown.out);
    EXPECT_TRUE(parsed.problems.empty()) << parsed.problems.front().str();
    proxy::BindingStore back;
    for (const auto& e : parsed.entries) back.bindings.push_back(*proxy::bindingOf(e));
    EXPECT_EQ(back, proxy::loadBindingStore(store));
    EXPECT_NE(shown.out.find("    Verify Client Certificate Revocation : Enabled\n"),
              std::string::npos);

    writeFileAtomic(dir / "show.txt", shown.out);
    const auto audit =
        runEdgelab({"audit", "--netsh", (dir / "show.txt").string(), "--format", "json"});
    EXPECT_EQ(audit.code, 0) << audit.out << audit.err;
    EXPECT_NE(audit.out.find("3 bindings"), std::string::npos) << audit.out;
}

}  // namespace
}  // namespace edgelab

namespace edgelab {
namespace {

// An ADFS application's relying party goes from the capture into the lab, so
// that the lab's Windows script publishes it as the server has it.
TEST(AuditCommand, TheEmittedLabKeepsTheAdfsRelyingParty) {
    const test::TempDir dir("audit-adfs-relying-party");
    auto wap = nlohmann::json::parse(readFile(capture("wap-broken-lync.json")));
    ASSERT_EQ(wap[0]["ExternalPreauthentication"], "ADFS");
    wap[0]["ADFSRelyingPartyName"] = "Lync Web Services RP";
    writeFileAtomic(dir / "wap.json", wap.dump(2));
    const auto lab = dir / "replay.json";
    const auto audit =
        runEdgelab({"audit", "--netsh", capture("no-default-binding.netsh.txt"), "--wap",
                    (dir / "wap.json").string(), "--emit-lab", lab.string(), "--format", "json"});
    ASSERT_TRUE(fs::exists(lab)) << audit.out << audit.err;
    const auto emitted = nlohmann::json::parse(readFile(lab));
    EXPECT_EQ(emitted["applications"][0]["adfsRelyingPartyName"], "Lync Web Services RP")
        << emitted.dump(2);
    // The replay keeps the capture's faults (ADFS on Lync): --force writes it.
    const auto script = runEdgelab({"emit", "powershell", lab.string(), "--force", "--thumbprint",
                                    "F7F6B300FE4D569FD598E1C9722571CF9AD780DD"});
    EXPECT_EQ(script.code, 0) << script.err;
    EXPECT_NE(script.out.find("-ADFSRelyingPartyName 'Lync Web Services RP'"), std::string::npos)
        << script.out;
}

}  // namespace
}  // namespace edgelab
