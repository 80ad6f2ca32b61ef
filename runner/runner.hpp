// One lab from description to report (`edgelab run`), or to a lab left
// running (`edgelab up`, `run --keep`): the seven steps of README "The command", each timed and
// printed, with every process stopped on a failed step, a dead child or a
// signal.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "checks/evidence.hpp"
#include "report/report.hpp"
#include "runner/data_disk.hpp"
#include "runner/expectations.hpp"
#include "runner/lab_state.hpp"

namespace edgelab::runner {

namespace fs = std::filesystem;

enum class Mode {
    Run,      // all seven steps, then stop everything
    RunKeep,  // all seven steps, leave the lab running
    Up,       // steps 1-5, leave the lab running
};

struct RunnerOptions {
    fs::path workDir;    // empty: .edgelab/<lab name>
    fs::path reportDir;  // empty: WORKDIR/report
    fs::path binDir;     // where edgelab-backend and edgelab-proxy are
    // Given (a run of several labs): the labs share the root and issuing CA
    // kept in this folder, made once per run (provision::provisionPki).
    fs::path runCaDir;
    WriteThroughSample diskSample;
    // Given: the data disk is modelled at this write-through rate (MB/s)
    // instead of one measured on a machine whose load varies; a run whose
    // verdict must not depend on the machine (CI, the lab tests).
    std::optional<double> diskRateMBps;
    std::chrono::milliseconds readyTimeout{10000};  // per process, and for the binding pickup
    // Test hook (EDGELAB_PAUSE_FILE): after the proxy is up, wait until this
    // file exists, so a test can kill a process or send a signal mid-run.
    std::optional<fs::path> pauseFile;
};

// Lines from labs that run side by side, whole and tagged with the lab.
class Console {
  public:
    explicit Console(std::ostream& out) : out_(out) {}
    void tagged(bool on) { tagged_ = on; }
    void line(const std::string& lab, const std::string& text);
    void block(const std::string& text);  // as is, under the lock
    void error(const std::string& text);  // to stderr, under the lock

  private:
    std::ostream& out_;
    std::mutex m_;
    bool tagged_ = false;
};

struct StepRecord {
    int number = 0;
    std::string name;
    double ms = 0;
    std::string detail;
};

struct LabOutcome {
    std::string labName;  // the file name when the lab could not be read
    fs::path labFile;
    fs::path workDir;
    fs::path reportDir;
    int exitCode = 0;   // 0 expectations met, 1 not, 2 bad input, 3 not brought up, 128+N signal
    std::string error;  // for 2, 3 and signals: what, where, the log tail
    std::vector<StepRecord> steps;
    std::optional<report::Report> report;
    ExpectationReport expectations;
    std::optional<LabState> state;  // RunKeep and Up
    double seconds = 0;
};

LabOutcome runLab(const fs::path& labFile, Mode mode, const RunnerOptions& options,
                  Console& console);

// The report as CI should read it: a check the lab expects to fail is a
// skipped test ("expected failure: ..."), not a failed one; the expectations
// themselves are one more test that fails when they are not met.
report::Report junitView(const report::Report& report, const std::vector<std::string>& expectFail);

// A static rule that failed is the root cause of the wire checks that show
// its lesson (lab.default-binding: tls.no-sni.*; lab.passthrough: the web
// services, sign-ins ...): those that failed, or were blocked, are BLOCKED by
// the rule, so that one cause is one failure with one remedy.
void rootInRules(std::vector<checks::CheckResult>& results);

// The expectations' judgement as a result ("expectations"): every report of
// `run` carries it last, so that every format counts the same results.
checks::CheckResult expectationsResult(const ExpectationReport&);

// One TLS handshake to ADDR:PORT, with SNI when given (the checks' own
// handshake code): whether the proxy serves the default binding, whether a
// process of a running lab is healthy.
// The chain is verified against `caFile` (the system's roots when none: a
// hundred-odd certificates read for each call).
checks::TlsHandshake handshakeOnce(const std::string& address,
                                   const std::optional<std::string>& sni,
                                   std::chrono::milliseconds timeout,
                                   const std::optional<fs::path>& caFile = std::nullopt);

// The folder of the running `edgelab` binary, where its sibling programs are.
fs::path executableDir();

fs::path defaultWorkDir(const std::string& labName);

}  // namespace edgelab::runner
