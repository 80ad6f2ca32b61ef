#include "runner/runner.hpp"

#include "common/ascii.hpp"
#include "common/endpoint.hpp"
#include "common/matching.hpp"
#include "common/remedies.hpp"
#include "common/utc_time.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "checks/gather.hpp"
#include "checks/run_checks.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "provision/pki.hpp"
#include "provision/rules.hpp"
#include "proxy/binding_store.hpp"
#include "runner/address_plan.hpp"
#include "runner/deployment.hpp"
#include "runner/supervisor.hpp"

namespace edgelab::runner {

namespace {

constexpr int kSteps = 7;

// The lab's proxy runs one worker thread: a lab's checks are light, and with
// one worker every client connection reaches the one backend pool, so the
// NTLM affinity check needs 4 other clients for a certain verdict where a
// proxy of unknown workers gets 24 (checks/README.md, "The affinity check's
// strength"; each is a TLS connection at three processes).
constexpr int kLabProxyWorkers = 1;

// Why the run stops at a step, as a value: the runner's control flow
// throws nothing (CONTRIBUTING.md).
struct Stop {
    enum class Kind {
        BadInput,     // the lab cannot be run as asked (exit 2), e.g. it is already up
        LabDown,      // a step could not be done (exit 3), with where and why
        Interrupted,  // SIGINT or SIGTERM (exit 128 + the signal)
    };
    Kind kind = Kind::LabDown;
    std::string message;
    fs::path log;  // the log of the process at fault, when one is
};

// What a step did: the line it prints, or why the run stops there.
class StepOutcome {
  public:
    StepOutcome(std::string detail) : detail_(std::move(detail)) {}  // NOLINT: done
    StepOutcome(const char* detail) : detail_(detail) {}             // NOLINT: done
    StepOutcome(Stop stop) : stop_(std::move(stop)) {}               // NOLINT: stopped
    const std::optional<Stop>& stop() const { return stop_; }
    const std::string& detail() const { return detail_; }

  private:
    std::string detail_;
    std::optional<Stop> stop_;
};

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string fmtMs(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%6.0f ms", ms);
    return buf;
}

// CPU time so far, in ms, of this process (every thread); a lab process's
// is processCpuMs (runner/supervisor.hpp).
double selfCpuMs() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    return ms(u.ru_utime) + ms(u.ru_stime);
}

// A static rule among the checks' results: its title says which lesson it is
// and that it was judged from the lab file alone.
Finding fromRule(Finding rule) {
    rule.title += " (" + rule.lesson + ", static)";
    return rule;
}

// Every lab process's pid and address, for the state file.
ProcessRecord recordOf(Supervised& p, const fs::path& exe, const std::string& sni) {
    return {p.name(), p.pid(), p.address, fs::absolute(exe).string(), p.log().string(), sni};
}

class LabRun {
  public:
    LabRun(const fs::path& labFile, Mode mode, const RunnerOptions& opt, Console& console)
        : labFile_(labFile),
          mode_(mode),
          opt_(opt),
          console_(console),
          sup_(mode == Mode::Run ? Lifetime::Owned : Lifetime::Detached) {
        out_.labFile = labFile;
        out_.labName = labFile.stem().string();
    }

    LabOutcome run();

  private:
    fs::path labFile_;
    Mode mode_;
    const RunnerOptions& opt_;
    Console& console_;
    Supervisor sup_;
    LabOutcome out_;
    Clock::time_point t0_ = Clock::now();
    std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();

    provision::Lab lab_;
    std::vector<Finding> rules_;
    fs::path work_;
    provision::LabPki pki_;
    AddressPlan plan_;
    std::optional<checks::CheckResult> disk_;
    report::ReportFacts facts_;  // what the checks' probes saw, for the JSON report
    std::map<std::string, std::string> dns_;
    std::string proxyAddress_;
    std::uint16_t proxyPort_ = 0;
    fs::path bindingStore_;
    fs::path proxyConfig_;
    int currentStep_ = 0;
    std::string currentName_;
    LabState state_;
    bool wroteState_ = false;  // only this run's own state file is removed on failure

    void say(const std::string& text) { console_.line(out_.labName, text); }

    // Runs one step; what stops the run is returned, not thrown. A typed
    // exception from below (a lab that does not parse, a file system error)
    // becomes the step's stop here.
    template <class F>
    std::optional<Stop> step(int n, const std::string& name, F&& body) {
        currentStep_ = n;
        currentName_ = name;
        if (Interrupt::signal()) return interrupted();
        auto t = Clock::now();
        const auto cpu0 = cpuNow();
        std::optional<StepOutcome> done;
        try {
            done.emplace(body());
        } catch (const provision::LabParseError& e) {
            return Stop{Stop::Kind::BadInput, e.what(), {}};
        } catch (const std::exception& e) {
            return fail(e.what());
        }
        if (done->stop()) return done->stop();
        double ms = msSince(t);
        out_.steps.push_back({n, name, ms, done->detail()});
        char head[64];
        std::snprintf(head, sizeof head, "%d/%d %-16s", n, kSteps, name.c_str());
        say(std::string(head) + fmtMs(ms) + "  " + done->detail() + cpuText(cpu0, cpuNow()));
        return std::nullopt;
    }

    // EDGELAB_PROFILE set: each step line ends with the CPU the step cost,
    // this process's (all its threads: one lab at a time to read it alone)
    // and the lab's processes' (bench/README.md, Profile).
    const bool profile_ = std::getenv("EDGELAB_PROFILE") != nullptr;
    std::pair<double, double> cpuNow() {
        if (!profile_) return {};
        double children = 0;
        for (auto* p : sup_.processes()) children += processCpuMs(p->pid());
        return {selfCpuMs(), children};
    }
    std::string cpuText(std::pair<double, double> from, std::pair<double, double> to) const {
        if (!profile_) return {};
        char buf[96];
        std::snprintf(buf, sizeof buf, "  [cpu: edgelab %.0f ms, lab processes %.0f ms]",
                      to.first - from.first, to.second - from.second);
        return buf;
    }

    // Each lab process's CPU from its start to now, the teardown's the only
    // part left out (bench/profile.sh reads this line).
    std::string processesCpuText() {
        std::string text = "lab processes' cpu:";
        for (auto* p : sup_.processes()) {
            char buf[96];
            std::snprintf(buf, sizeof buf, " %s %.1f ms", p->name().c_str(),
                          processCpuMs(p->pid()));
            text += buf;
        }
        return text;
    }

    static Stop fail(const std::string& message, Supervised* p = nullptr) {
        return {Stop::Kind::LabDown, message, p ? p->log() : fs::path()};
    }
    static Stop interrupted() { return {Stop::Kind::Interrupted, "", {}}; }

    static std::string exitedText(Supervised& p) {
        return p.name() + " (pid " + std::to_string(p.pid()) + ") exited" +
               (p.exitCode() >= 128 ? " on signal " + std::to_string(p.exitCode() - 128)
                                    : " with code " + std::to_string(p.exitCode()));
    }

    // A wait that did not end in Ready becomes the step's failure.
    Stop failWait(const WaitResult& r, Supervised& waitedFor, const std::string& what) {
        if (r.status == WaitStatus::Interrupted) return interrupted();
        if (r.status == WaitStatus::Died) {
            Supervised* culprit = r.process.empty() ? &waitedFor : sup_.find(r.process);
            return fail(exitedText(*culprit) + " " + what, culprit);
        }
        return fail(waitedFor.name() + " (pid " + std::to_string(waitedFor.pid()) + ") " +
                        to_string(r.status) + " " + what,
                    &waitedFor);
    }

    std::optional<Stop> checkAlive() {
        if (Interrupt::signal()) return interrupted();
        if (auto dead = sup_.firstDead()) {
            Supervised* p = sup_.find(*dead);
            return fail(exitedText(*p) + " while the lab was running", p);
        }
        return std::nullopt;
    }

    std::string load();
    StepOutcome provisionLab();
    StepOutcome startBackends();
    StepOutcome deployProxy();
    StepOutcome setDefaultBinding();
    StepOutcome runChecks(std::vector<checks::CheckResult>& results);
    void writeReports(std::vector<checks::CheckResult> results);
    void fillState();
    bool noSniHandshakeServed();
    std::optional<Stop> runSteps();
    void record(const Stop& stop);
};

std::string LabRun::load() {
    lab_ = provision::loadLab(labFile_);
    out_.labName = lab_.name;
    rules_ = provision::evaluateRules(lab_);
    int failed = 0;
    std::vector<std::string> failedIds;
    for (const auto& r : rules_) {
        if (r.verdict == Verdict::Fail) {
            ++failed;
            failedIds.push_back(r.id);
        }
    }
    return std::to_string(rules_.size()) + " static rules, " + std::to_string(failed) + " failed" +
           (failed ? " (" + join(failedIds, ", ") + ")" : "");
}

StepOutcome LabRun::provisionLab() {
    work_ = fs::absolute(opt_.workDir.empty() ? defaultWorkDir(lab_.name) : opt_.workDir);
    out_.workDir = work_;
    if (auto state = readState(work_)) {
        auto alive = aliveProcesses(*state);
        if (!alive.empty()) {
            std::string pids;
            for (const auto& p : alive) pids += " " + p.name + "=" + std::to_string(p.pid);
            return Stop{Stop::Kind::BadInput,
                        "lab " + lab_.name + " is already up in " + work_.string() + " (" +
                            pids.substr(1) + "); stop it with `edgelab down " + labFile_.string() +
                            "` first",
                        {}};
        }
        fs::remove(stateFile(work_));  // left by a lab that is gone
    }
    fs::create_directories(work_ / "logs");
    fs::create_directories(work_ / "proxy");
    try {
        pki_ = provision::provisionPki(lab_, work_, opt_.runCaDir);
    } catch (const std::exception& e) {
        return fail(std::string("PKI: ") + e.what());
    }
    std::random_device rd;
    std::mt19937_64 random((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                           static_cast<std::uint64_t>(::getpid()));
    try {
        plan_ = chooseAddressPlan(lab_, random);
    } catch (const std::exception& e) {
        return fail(std::string("address plan: ") + e.what());
    }
    std::string detail = work_.string() + ", PKI (proxy " + pki_.proxy.thumbprint.substr(0, 8) +
                         "...), " + plan_.subnet;
    if (lab_.dataDisk) {
        const auto& d = *lab_.dataDisk;
        auto t = Clock::now();
        fs::create_directories(work_ / "disk");
        DiskMeasurement m;
        if (opt_.diskRateMBps) {
            m.mbPerSec = *opt_.diskRateMBps;
        } else {
            try {
                m = measureWriteThroughOnce(
                    work_ / "disk" / "data.img",
                    static_cast<std::uint64_t>(d.sizeGB * double(1ull << 30)), opt_.diskSample);
            } catch (const std::exception& e) {
                return fail(std::string("data disk: ") + e.what());
            }
        }
        disk_ = evaluateDataDisk(d, m.mbPerSec);
        disk_->seconds = msSince(t) / 1000;
        char buf[160];
        if (opt_.diskRateMBps) {
            std::snprintf(buf, sizeof buf, ", data disk %.0f GB: %.1f MB/s write-through (given)",
                          d.sizeGB, m.mbPerSec);
        } else {
            std::snprintf(buf, sizeof buf,
                          ", data disk %.0f GB sparse: %.1f MB/s write-through (%.1f MiB)",
                          d.sizeGB, m.mbPerSec, double(m.bytesWritten) / (1 << 20));
        }
        detail += buf;
    }
    return detail;
}

StepOutcome LabRun::startBackends() {
    const fs::path exe = opt_.binDir / "edgelab-backend";
    std::vector<Supervised*> started;
    // Each front end reads its users before READY; the passwords stay on disk
    // no longer than this step, whichever way it ends.
    struct RemovedAtEnd {
        std::vector<fs::path> files;
        ~RemovedAtEnd() {
            std::error_code ec;
            for (const auto& f : files) fs::remove(f, ec);
        }
    } usersFiles;
    for (std::size_t i = 0; i < lab_.backends.size(); ++i) {
        const auto& b = lab_.backends[i];
        auto cert = pki_.backends.find(b.name);
        if (cert == pki_.backends.end())
            return fail("PKI has no certificate for backend " + b.name);
        fs::path usersFile;
        if (auto users = backendUsersFile(lab_, b); !users.empty()) {
            usersFile = work_ / ("backend-" + b.name + "-users.json");
            usersFiles.files.push_back(usersFile);
            try {
                // Read once by the front end and removed at the end of the
                // step: atomic, not synced.
                writeFileAtomic(usersFile, users, fs::perms::owner_read | fs::perms::owner_write,
                                Durability::ProcessLifetime);
            } catch (const std::exception& e) {
                return fail(std::string("users file: ") + e.what());
            }
        }
        auto args =
            backendArguments(lab_, b, plan_.backends[i], cert->second,
                             work_ / "logs" / ("backend-" + b.name + "-access.log"), usersFile);
        try {
            started.push_back(&sup_.start(
                {"backend-" + b.name, exe, args, work_ / "logs" / ("backend-" + b.name + ".log")}));
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }
    // Started together, waited for in turn: the slowest sets the pace.
    std::map<std::string, std::uint16_t> realPorts;
    std::vector<std::string> where;
    const auto deadline = Clock::now() + opt_.readyTimeout;
    for (std::size_t i = 0; i < started.size(); ++i) {
        std::optional<std::uint16_t> port;
        auto r = sup_.waitForLine(
            *started[i],
            [&](const std::string& l) { return (port = backendReadyPort(l)).has_value(); },
            deadline);
        if (r.status != WaitStatus::Ready) return failWait(r, *started[i], "before READY");
        started[i]->address = plan_.backends[i].address + ":" + std::to_string(*port);
        realPorts[lab_.backends[i].name] = *port;
        where.push_back(lab_.backends[i].name + " " + started[i]->address);
    }
    dns_ = internalDns(lab_, plan_, realPorts);
    return join(where, ", ");
}

StepOutcome LabRun::deployProxy() {
    bindingStore_ = work_ / "proxy" / "bindings.json";
    proxyConfig_ = work_ / "proxy" / "proxy.json";
    std::size_t published = 0;
    try {
        const auto cfg = proxyConfig(
            lab_, plan_, pki_.proxy.thumbprint, dns_,
            {pki_.storeDir, bindingStore_, pki_.rootCert, work_ / "logs" / "proxy-access.log"});
        // The hostname bindings WAP adds when it publishes, as the proxy derives them.
        const proxy::BindingStore bindings = proxy::withApplicationBindings({}, cfg);
        published = bindings.bindings.size();
        proxy::saveBindingStore(bindingStore_, bindings);
        // Written again by every run of the lab: atomic, not synced.
        writeFileAtomic(proxyConfig_, proxy::toJson(cfg).dump(2) + "\n", kPublicFile,
                        Durability::ProcessLifetime);
    } catch (const std::exception& e) {
        return fail(std::string("proxy configuration: ") + e.what());
    }
    Supervised* p = nullptr;
    try {
        p = &sup_.start(
            {"proxy",
             opt_.binDir / "edgelab-proxy",
             {"--config", proxyConfig_.string(), "--threads", std::to_string(kLabProxyWorkers)},
             work_ / "logs" / "proxy.log"});
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    std::optional<std::pair<std::string, std::uint16_t>> listener;
    auto r = sup_.waitForLine(
        *p,
        [&](const std::string& l) {
            if (auto x = proxyListenerLine(l)) listener = x;
            return l == "READY";
        },
        Clock::now() + opt_.readyTimeout);
    if (r.status != WaitStatus::Ready) return failWait(r, *p, "before READY");
    if (!listener) return fail("proxy said READY without a listener line", p);
    proxyAddress_ = listener->first;
    proxyPort_ = listener->second;
    p->address = proxyAddress_ + ":" + std::to_string(proxyPort_);
    fillState();
    writeState(work_, state_);
    wroteState_ = true;
    return p->address + " standing for 443, " + std::to_string(lab_.applications.size()) +
           " applications, " + std::to_string(published) + " hostname bindings";
}

bool LabRun::noSniHandshakeServed() {
    auto address = proxyAddress_ + ":" + std::to_string(proxyPort_);
    return handshakeOnce(address, std::nullopt, std::chrono::milliseconds(1000), pki_.rootCert)
               .outcome == checks::HandshakeOutcome::Ok;
}

StepOutcome LabRun::setDefaultBinding() {
    if (opt_.pauseFile) {
        say("paused: waiting for " + opt_.pauseFile->string());
        auto r = sup_.waitForFileOrEvent(*opt_.pauseFile, Clock::now() + std::chrono::minutes(5));
        if (r.status == WaitStatus::Interrupted) return interrupted();
        if (r.status == WaitStatus::Died) {
            Supervised* p = sup_.find(r.process);
            return failWait(r, *p, "while the lab was running");
        }
    }
    if (!lab_.defaultBinding) {
        return "none in the lab: clients without SNI will find no certificate (S6)";
    }
    const auto& db = *lab_.defaultBinding;
    std::string match = db.matchHost.value_or(lab_.names.webServices);
    auto key = defaultBindingKey(db, proxyAddress_);
    proxy::StoreChange change;
    try {
        // Under the lock every writer of the store takes.
        change = proxy::updateBindingStore(bindingStore_, [&](const proxy::BindingStore& store) {
                     return proxy::setDefaultBinding(store, match, key);
                 }).change;
    } catch (const std::exception& e) {
        return fail(std::string("binding store: ") + e.what());
    }
    if (!change.store) return fail("set-default --match-host " + match + ": " + change.error);
    // SIGHUP reloads at once; the proxy's own file watch would get there too,
    // later (proxy/README.md).
    Supervised* proxy = sup_.find("proxy");
    ::kill(proxy->pid(), SIGHUP);
    const auto* added = change.store->find(key);
    std::string detail = "ipport=" + key.str() + " certhash=" + added->certificateHash +
                         " appid=" + added->applicationId + " (from " + match + ")";
    // Bindings speak published ports: one for another port never serves
    // this listener, so there is nothing to wait for.
    if (key.port != 443) return detail + "; not for this listener's published port 443";
    // The proxy says when every worker has the store it read (after the
    // SIGHUP, or its file watch): its log line is the event, read as the log
    // grows (proxy/README.md).
    const auto deadline = Clock::now() + opt_.readyTimeout;
    auto loaded = sup_.waitForLine(
        *proxy,
        [](const std::string& l) {
            return l.find("\"binding-store-loaded\"") != std::string::npos;
        },
        deadline);
    if (loaded.status == WaitStatus::Interrupted) return interrupted();
    if (loaded.status == WaitStatus::Died)
        return failWait(loaded, *proxy, "before serving the default binding");
    // A handshake without SNI that gets a certificate proves it. Polled only
    // when the line was not the proof (a load of the file from before the
    // change, or no line within the deadline).
    while (!noSniHandshakeServed()) {
        auto r = sup_.waitForFileOrEvent(
            work_ / ".never", std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
        if (r.status == WaitStatus::Interrupted) return interrupted();
        if (r.status == WaitStatus::Died)
            return failWait(r, *proxy, "before serving the default binding");
        if (Clock::now() >= deadline)
            return fail("the proxy did not serve the new default binding within " +
                            std::to_string(opt_.readyTimeout.count()) + " ms",
                        proxy);
    }
    return detail;
}

StepOutcome LabRun::runChecks(std::vector<checks::CheckResult>& results) {
    checks::Target target;
    target.connectTo = connectToEntries(lab_, proxyAddress_, proxyPort_);
    target.caFile = pki_.rootCert;
    target.user = checks::signInUserOf(lab_);
    target.proxyWorkers = kLabProxyWorkers;
    for (auto* p : sup_.processes()) {
        if (p->name().starts_with("backend-"))
            target.backendAddresses[p->name().substr(8)] = p->address;
    }
    auto run = checks::runChecks(lab_, target);
    facts_ = report::factsOf(lab_, run.evidence);
    if (auto stop = checkAlive()) return *stop;
    if (run.targetUnreachable)
        return fail(
            "no probe reached the proxy at " + proxyAddress_ + ":" + std::to_string(proxyPort_),
            sup_.find("proxy"));
    for (const auto& r : rules_) results.push_back(fromRule(r));
    if (disk_) results.push_back(*disk_);
    for (auto& r : run.results) results.push_back(std::move(r));
    rootInRules(results);
    int failed = 0;
    for (const auto& r : results) failed += r.verdict == checks::Verdict::Fail;
    return std::to_string(results.size()) + " results (" + std::to_string(run.results.size()) +
           " checks on the wire), " + std::to_string(failed) + " failed";
}

void LabRun::writeReports(std::vector<checks::CheckResult> results) {
    std::vector<Judged> verdicts;
    for (const auto& r : results) verdicts.push_back({r.id, r.verdict});
    out_.expectations = evaluateExpectations(lab_.expect.fail, verdicts);
    report::Report rep{lab_.name, started_, msSince(t0_) / 1000, std::move(results),
                       report::drawingOf(lab_)};
    rep.expectFail = lab_.expect.fail;
    rep.expectationsMet = out_.expectations.met;
    rep.facts = std::move(facts_);
    rep.command = "run";
    // The judgement of the expectations is a result of the run in every
    // report, so that JSON, HTML, the console and JUnit count the same.
    rep.results.push_back(expectationsResult(out_.expectations));
    out_.reportDir = fs::absolute(opt_.reportDir.empty() ? work_ / "report" : opt_.reportDir);
    fs::create_directories(out_.reportDir);
    report::writeJson(out_.reportDir / "report.json", rep);
    report::writeHtml(out_.reportDir / "report.html", rep);
    report::writeJUnit(out_.reportDir / "report.xml", junitView(rep, lab_.expect.fail));
    out_.report = std::move(rep);
}

void LabRun::fillState() {
    state_.lab = lab_.name;
    state_.labFile = fs::absolute(labFile_).string();
    state_.workDir = work_.string();
    state_.startedAt = utcSeconds(started_);
    state_.connectTo = connectToEntries(lab_, proxyAddress_, proxyPort_);
    state_.caBundle = fs::absolute(pki_.rootCert).string();
    state_.bindingStore = bindingStore_.string();
    state_.proxyConfig = proxyConfig_.string();
    state_.proxyAddress = proxyAddress_ + ":" + std::to_string(proxyPort_);
    state_.proxyWorkers = kLabProxyWorkers;
    state_.addressPlan = plan_;
    state_.internalDns = dns_;
    state_.hostsLines = hostsLines(lab_, proxyAddress_);
    state_.processes.clear();
    for (std::size_t i = 0; i < lab_.backends.size(); ++i) {
        if (auto* p = sup_.find("backend-" + lab_.backends[i].name))
            state_.processes.push_back(
                recordOf(*p, opt_.binDir / "edgelab-backend", lab_.backends[i].host));
    }
    if (auto* p = sup_.find("proxy"))
        state_.processes.push_back(
            recordOf(*p, opt_.binDir / "edgelab-proxy", lab_.names.webServices));
}

std::optional<Stop> LabRun::runSteps() {
    if (auto stop = step(1, "load+validate", [&] { return StepOutcome(load()); })) return stop;
    if (auto stop = step(2, "provision", [&] { return provisionLab(); })) return stop;
    if (auto stop = step(3, "backends", [&] { return startBackends(); })) return stop;
    if (auto stop = step(4, "proxy", [&] { return deployProxy(); })) return stop;
    if (auto stop = step(5, "default binding", [&] { return setDefaultBinding(); })) return stop;
    if (mode_ != Mode::Up) {
        std::vector<checks::CheckResult> results;
        if (auto stop = step(6, "checks", [&] { return runChecks(results); })) return stop;
        auto report = [&] {
            writeReports(std::move(results));
            return StepOutcome(out_.reportDir.string() + "/report.{json,xml,html}");
        };
        if (auto stop = step(7, "report", report)) return stop;
        out_.exitCode = out_.expectations.met ? kExitOk : kExitCheckFailed;
    }
    if (mode_ == Mode::Run) {
        if (profile_) say(processesCpuText());
        int n = sup_.stopAll();
        fs::remove(stateFile(work_));
        say("stopped " + std::to_string(n) + " processes");
    } else {
        fillState();
        writeState(work_, state_);
        registerRunningLab(state_);
        sup_.release();
        out_.state = state_;
    }
    return std::nullopt;
}

// The exit code and the message of a run that stopped at a step.
void LabRun::record(const Stop& stop) {
    const std::string where = "step " + std::to_string(currentStep_) + "/" +
                              std::to_string(kSteps) + " (" + currentName_ + ")";
    switch (stop.kind) {
        case Stop::Kind::BadInput:
            out_.exitCode = kExitBadInput;
            out_.error = stop.message;
            return;
        case Stop::Kind::Interrupted:
            out_.exitCode = 128 + Interrupt::signal();
            out_.error =
                "interrupted by signal " + std::to_string(Interrupt::signal()) + " during " + where;
            return;
        case Stop::Kind::LabDown:
            out_.exitCode = kExitLabDown;
            out_.error = "could not bring up " + out_.labName + ": " + where + ": " + stop.message;
            if (!stop.log.empty())
                out_.error += "\n  last lines of " + stop.log.string() + ":\n" + logTail(stop.log);
            return;
    }
}

LabOutcome LabRun::run() {
    say("lab " + labFile_.string());
    std::optional<Stop> stop;
    try {
        stop = runSteps();
    } catch (const std::exception& e) {
        // Stopping the processes or writing the state after the last step.
        stop = fail(e.what());
    }
    if (stop) record(*stop);
    if (out_.exitCode != kExitOk && out_.exitCode != kExitCheckFailed) {
        int n = sup_.stopAll();
        if (wroteState_) {
            std::error_code ec;
            fs::remove(stateFile(work_), ec);
        }
        if (n) out_.error += "\n  stopped " + std::to_string(n) + " processes";
    }
    out_.seconds = msSince(t0_) / 1000;
    return out_;
}

}  // namespace

void Console::line(const std::string& lab, const std::string& text) {
    std::lock_guard lock(m_);
    if (tagged_) out_ << "[" << lab << "] ";
    out_ << text << "\n" << std::flush;
}

void Console::block(const std::string& text) {
    std::lock_guard lock(m_);
    out_ << text << std::flush;
}

void Console::error(const std::string& text) {
    std::lock_guard lock(m_);
    out_ << std::flush;
    std::cerr << text << std::flush;
}

LabOutcome runLab(const fs::path& labFile, Mode mode, const RunnerOptions& options,
                  Console& console) {
    return LabRun(labFile, mode, options, console).run();
}

report::Report junitView(const report::Report& r, const std::vector<std::string>& expectFail) {
    report::Report v = r;
    std::vector<Judged> verdicts;
    for (auto& c : v.results) {
        verdicts.push_back({c.id, c.verdict});
        if (c.verdict != checks::Verdict::Fail) continue;
        for (const auto& g : expectFail) {
            if (globMatches(g, c.id)) {
                c.verdict = checks::Verdict::Skip;
                c.evidence = "expected failure (expect.fail \"" + g + "\"): " + c.evidence;
                break;
            }
        }
    }
    const bool judged = std::any_of(v.results.begin(), v.results.end(),
                                    [](const auto& c) { return c.id == "expectations"; });
    if (!judged)
        v.results.push_back(expectationsResult(evaluateExpectations(expectFail, verdicts)));
    return v;
}

namespace {

// What each rule's failure shows on the wire (the lessons' labs in
// scenarios/labs/ show each).
const std::vector<std::pair<std::string, std::vector<std::string>>>& ruleSymptoms() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> table{
        {"lab.default-binding", {"tls.no-sni.*"}},
        {"lab.passthrough",
         {"webservices.*", "auth.passthrough", "headers.translated", "signin.*"}},
        {"lab.backend-port",
         {"lyncdiscover", "webservices.*", "auth.passthrough", "meet", "dialin", "signin.*"}},
        {"lab.backend-certificate",
         {"backend.cert-public-names", "lyncdiscover", "webservices.*", "auth.passthrough", "meet",
          "dialin", "signin.*"}},
        {"lab.owas-url", {"owas.no-internal-names"}},
        {"lab.certificate-names", {"tls.sni.*"}},
        {"lab.data-disk", {"disk.write-through"}},
    };
    return table;
}

}  // namespace

void rootInRules(std::vector<checks::CheckResult>& results) {
    std::map<std::string, std::string> rerooted;  // check id -> the rule now its root
    for (const auto& [rule, globs] : ruleSymptoms()) {
        const bool failed = std::any_of(results.begin(), results.end(), [&](const auto& r) {
            return r.id == rule && r.verdict == checks::Verdict::Fail;
        });
        if (!failed) continue;
        for (auto& r : results) {
            if (r.id.rfind("lab.", 0) == 0 || rerooted.count(r.id)) continue;
            if (r.verdict != checks::Verdict::Fail && r.verdict != checks::Verdict::Blocked)
                continue;
            if (std::none_of(globs.begin(), globs.end(),
                             [&](const std::string& g) { return globMatches(g, r.id); }))
                continue;
            rerooted[r.id] = rule;
            r.verdict = checks::Verdict::Blocked;
            r.blockedBy = rule;
            r.remedy.clear();
        }
    }
    // What a re-rooted check blocked follows the rule too.
    for (auto& r : results)
        if (r.verdict == checks::Verdict::Blocked)
            if (auto it = rerooted.find(r.blockedBy); it != rerooted.end())
                r.blockedBy = it->second;
}

checks::CheckResult expectationsResult(const ExpectationReport& e) {
    checks::CheckResult x;
    x.id = "expectations";
    x.title = "Exactly the checks the lab expects to fail fail";
    x.ns = "expectations";
    x.verdict = e.met ? checks::Verdict::Pass : checks::Verdict::Fail;
    x.evidence = e.met ? std::to_string(e.expectedFailures.size()) + " expected failures"
                       : join(e.problems(), "; ");
    x.remedy = e.met ? "" : remedyText(x.id);
    return x;
}

checks::TlsHandshake handshakeOnce(const std::string& address,
                                   const std::optional<std::string>& sni,
                                   std::chrono::milliseconds timeout,
                                   const std::optional<fs::path>& caFile) {
    checks::ProbePlan plan;
    checks::HandshakeProbe probe;
    probe.id = checks::ProbeId("handshake");
    const auto endpoint = parseEndpoint(address);
    probe.host = sni.value_or(endpoint ? endpoint->host : address);
    probe.address = address;
    probe.sni = sni;
    probe.profile = sni ? "sni" : "no-sni";
    plan.tls.push_back(probe);
    checks::GatherOptions g;
    g.handshakeTimeout = timeout;
    checks::Target target;
    target.caFile = caFile;
    auto ev = checks::gather(plan, target, g);
    if (const auto* h = ev.handshake(checks::ProbeId("handshake"))) return *h;
    return {};
}

fs::path executableDir() {
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : self.parent_path();
}

fs::path defaultWorkDir(const std::string& labName) { return fs::path(".edgelab") / labName; }

}  // namespace edgelab::runner
