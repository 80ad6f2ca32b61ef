#include <algorithm>
#include <set>

#include "diff/diff.hpp"

namespace edgelab::diff {

namespace {

const CheckRow* find(const Snapshot& s, const std::string& id) {
    for (const auto& r : s.results)
        if (r.id == id) return &r;
    return nullptr;
}

VerdictChange changeOf(const CheckRow* before, const CheckRow* after) {
    const CheckRow& shown = after ? *after : *before;
    return {shown.id,
            shown.title,
            shown.ns,
            before ? before->verdict : "",
            after ? after->verdict : "",
            shown.evidence,
            shown.remedy};
}

void sortCheck(ReportDiff& d, const CheckRow* before, const CheckRow* after) {
    const bool failedBefore = before && before->verdict == "FAIL";
    const bool failsNow = after && after->verdict == "FAIL";
    VerdictChange c = changeOf(before, after);
    if (!before) d.added.push_back(c);
    if (!after) d.gone.push_back(c);
    if (failsNow && !failedBefore)
        d.newlyFailing.push_back(c);
    else if (failedBefore && after && !failsNow)
        d.fixed.push_back(c);
    else if (failedBefore && failsNow)
        d.stillFailing.push_back(c);
    else if (before && after && before->verdict != after->verdict)
        d.changed.push_back(c);
}

void compareFacts(ReportDiff& d, const Snapshot& base, const Snapshot& next) {
    static const std::map<std::string, std::string> none;
    std::set<std::string> subjects;
    for (const auto& [k, v] : base.facts) subjects.insert(k);
    for (const auto& [k, v] : next.facts) subjects.insert(k);
    for (const auto& subject : subjects) {
        auto b = base.facts.find(subject);
        auto n = next.facts.find(subject);
        // A probe one run did not make (another --only, a lab without it)
        // is not a change of what was seen.
        if (b == base.facts.end() || n == next.facts.end()) continue;
        for (const auto& field : comparedFields()) {
            auto bv = b->second.find(field);
            auto nv = n->second.find(field);
            std::string before = bv == b->second.end() ? "" : bv->second;
            std::string after = nv == n->second.end() ? "" : nv->second;
            if (before != after) d.evidence.push_back({subject, field, before, after});
        }
    }
}

}  // namespace

const std::vector<std::string>& comparedFields() {
    static const std::vector<std::string> fields{"outcome",
                                                 "certificate.thumbprint",
                                                 "certificate.subject",
                                                 "certificate.issuer",
                                                 "certificate.notAfter",
                                                 "location",
                                                 "backendUrl"};
    return fields;
}

ReportDiff diffReports(const Snapshot& base, const Snapshot& next) {
    ReportDiff d;
    d.lab = next.lab;
    d.baseStartedAt = base.startedAt;
    d.newStartedAt = next.startedAt;
    d.baseOutcome = base.outcome;
    d.newOutcome = next.outcome;
    for (const auto& r : next.results) sortCheck(d, find(base, r.id), &r);
    for (const auto& r : base.results)
        if (!find(next, r.id)) sortCheck(d, &r, nullptr);
    compareFacts(d, base, next);
    return d;
}

}  // namespace edgelab::diff
