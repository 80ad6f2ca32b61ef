// state.json read by the shared reader (common/json_reader.hpp), as labs are:
// every error with its path, unknown keys refused with a suggestion, and the
// state files earlier versions wrote still read.
#include "runner/lab_state.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace edgelab::runner {
namespace {

// A state file as `edgelab up` has written it since the first version (its
// keys never changed; the lab then ran one backend).
const char* kEarlierState = R"({
  "lab": "seed-lab",
  "labFile": "/labs/seed-lab.json",
  "workDir": "/labs/.edgelab/seed-lab",
  "startedAt": "2026-11-27T12:00:00Z",
  "connectTo": ["lyncws.contoso.com:443:127.64.1.1:40123"],
  "caBundle": "/labs/.edgelab/seed-lab/pki/root.pem",
  "bindingStore": "/labs/.edgelab/seed-lab/proxy/bindings.json",
  "proxyConfig": "/labs/.edgelab/seed-lab/proxy/proxy.json",
  "proxyAddress": "127.64.1.1:40123",
  "addressPlan": {"subnet": "127.64.1.0/24", "proxyAddress": "127.64.1.1", "proxyPort": 40123,
                  "backends": [{"name": "fe1", "address": "127.64.1.2", "labPort": 4443,
                                "listenPort": 40124, "names": ["lyncfe1.contoso.local"]}]},
  "internalDns": {"lyncfe1.contoso.local:4443": "127.64.1.2:40124"},
  "processes": [{"name": "proxy", "pid": 1234, "address": "127.64.1.1:40123",
                 "exe": "/bin/edgelab-proxy", "log": "/labs/logs/proxy.log",
                 "sni": "lyncws.contoso.com"}],
  "hostsLines": ["127.64.1.1 lyncws.contoso.com"]
}
)";

std::string errorOf(const std::string& text) {
    try {
        parseState(text, "state.json");
    } catch (const LabStateError& e) {
        return e.what();
    }
    return "";
}

std::string with(const std::string& from, const std::string& to) {
    std::string text = kEarlierState;
    text.replace(text.find(from), from.size(), to);
    return text;
}

TEST(LabStateFile, StateWrittenByEarlierVersionsLoads) {
    const auto s = parseState(kEarlierState, "state.json");
    EXPECT_EQ(s.lab, "seed-lab");
    ASSERT_EQ(s.addressPlan.backends.size(), 1u);
    EXPECT_EQ(s.addressPlan.backends[0].listenPort, 40124);
    ASSERT_EQ(s.processes.size(), 1u);
    EXPECT_EQ(s.processes[0].pid, 1234);
    EXPECT_EQ(s.internalDns.at("lyncfe1.contoso.local:4443"), "127.64.1.2:40124");
    EXPECT_EQ(s.proxyWorkers, 0);  // not recorded then: unknown
    // ... and reads back what this version writes.
    EXPECT_EQ(stateJson(parseState(stateJson(s), "again")), stateJson(s));
}

TEST(LabStateFile, TheProxysWorkersAreRecorded) {
    auto s = parseState(kEarlierState, "state.json");
    s.proxyWorkers = 1;
    EXPECT_EQ(parseState(stateJson(s), "again").proxyWorkers, 1);
    auto doc = nlohmann::json::parse(stateJson(s));
    doc["proxyWorkers"] = -1;
    try {
        parseState(doc.dump(), "state.json");
        FAIL() << "a negative worker count was read";
    } catch (const LabStateError& e) {
        EXPECT_NE(std::string(e.what()).find("/proxyWorkers"), std::string::npos) << e.what();
    }
}

// state.json is written without sync (it names processes a power cut ends):
// the empty file such a cut can leave names no process, and a torn one is
// still an error naming the file.
TEST(LabStateFile, AnEmptyStateFileIsNoState) {
    const test::TempDir dir("lab-state");
    writeFileAtomic(stateFile(dir), "");
    EXPECT_FALSE(readState(dir).has_value());
    writeFileAtomic(stateFile(dir), std::string(kEarlierState).substr(0, 40));
    EXPECT_THROW(readState(dir), LabStateError);
    writeState(dir, parseState(kEarlierState, "state.json"));
    ASSERT_TRUE(readState(dir).has_value());
    EXPECT_EQ(readState(dir)->lab, "seed-lab");
}

TEST(LabStateFile, AnUnknownKeyIsRefusedWithTheNearestKnownOne) {
    EXPECT_EQ(errorOf(with("\"hostsLines\"", "\"hostLines\"")),
              "state.json: not a lab state file: /hostLines: unknown key (did you mean "
              "\"hostsLines\"?)");
    EXPECT_EQ(errorOf(with("\"sni\"", "\"snii\"")),
              "state.json: not a lab state file: /processes/0/snii: unknown key (did you mean "
              "\"sni\"?)");
}

TEST(LabStateFile, AWrongTypeIsNamedByItsPath) {
    EXPECT_EQ(errorOf(with("\"pid\": 1234", "\"pid\": \"1234\"")),
              "state.json: not a lab state file: /processes/0/pid: expected a whole number, got "
              "\"1234\"");
    EXPECT_EQ(errorOf(with("\"listenPort\": 40124", "\"listenPort\": 70000")),
              "state.json: not a lab state file: /addressPlan/backends/0/listenPort: expected a "
              "whole number from 0 to 65535, got 70000");
}

TEST(LabStateFile, EveryErrorIsReportedTogether) {
    std::string text = with("\"lab\": \"seed-lab\"", "\"lab\": 1");
    text.replace(text.find("\"caBundle\""), 10, "\"caBundel\"");
    text.replace(text.find("\"names\": ["), 10, "\"names\": [7, ");
    const std::string error = errorOf(text);
    EXPECT_EQ(error.rfind("state.json: not a lab state file: 4 errors\n", 0), 0u) << error;
    for (const char* line :
         {"/lab: expected a string, got 1", "/caBundle: required, expected a string",
          "/caBundel: unknown key (did you mean \"caBundle\"?)",
          "/addressPlan/backends/0/names/0: expected a string, got 7"})
        EXPECT_NE(error.find(line), std::string::npos) << line << "\n" << error;
    EXPECT_NE(errorOf("{\"lab\": [}").find("line 1, column 10"), std::string::npos);
}

}  // namespace
}  // namespace edgelab::runner
