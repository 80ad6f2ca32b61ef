#include "checks/run_checks.hpp"

#include <algorithm>

namespace edgelab::checks {

CheckRun runChecks(const provision::Lab& lab, const Target& target, const RunOptions& opt,
                   ProgressSink* sink) {
    CheckRun run;
    run.started = std::chrono::system_clock::now();
    auto t0 = std::chrono::steady_clock::now();
    auto checks = selectChecks(catalogue(lab, target), opt.only, opt.skip);
    ProbePlan plan = planProbes(lab, target, checks);
    run.evidence = gather(plan, target, opt.gather, sink);
    CheckContext ctx{lab, target, std::chrono::system_clock::now()};
    run.results = evaluateAll(checks, run.evidence, ctx);
    run.targetUnreachable = targetUnreachable(run.evidence) || unreachable(run.results);
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return run;
}

bool anyFailed(const std::vector<CheckResult>& results) {
    return std::any_of(results.begin(), results.end(),
                       [](auto& r) { return r.verdict == Verdict::Fail; });
}

}  // namespace edgelab::checks
