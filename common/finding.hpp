// One model of a result, for everything edgelab judges: a static lab rule
// (provision/rules), a check on the wire (checks/), the data disk model
// (runner/data_disk) and an audit finding (audit/). Each is a `Finding` with
// a `Verdict`; the report writers, the expectations and the diff read only
// this. The texts a failure hands the administrator are in one table,
// keyed by the same ids (common/remedies.hpp).
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace edgelab {

// PASS, FAIL, SKIP (nothing to judge, with the reason as evidence), WARN (a
// pass with a remedy: it will fail soon, or it is not the lessons' way) and
// BLOCKED: the check could not judge what it checks because a prerequisite
// failed (the name did not resolve, the port refused, the root is not
// trusted, a static rule failed, ...); the prerequisite is the one failure to
// fix. A static rule and the data disk model are only ever PASS, FAIL or SKIP.
enum class Verdict { Pass, Fail, Skip, Warn, Blocked };
std::string to_string(Verdict);  // "PASS", "FAIL", "SKIP", "WARN", "BLOCKED"

// One check (or rule, or finding): stable, shown in reports, matched by
// --only/--skip, by a lab's expectations and by the remedy table.
// checks/ids.hpp spells every check's.
class CheckId {
  public:
    CheckId() = default;
    explicit CheckId(std::string value) : value_(std::move(value)) {}
    const std::string& str() const { return value_; }
    auto operator<=>(const CheckId&) const = default;
    bool operator==(const CheckId&) const = default;
    bool operator==(std::string_view s) const { return value_ == s; }

  private:
    std::string value_;
};

struct Finding {
    std::string id;     // CheckId::str(), stable: "tls.no-sni.lync-mobile", "lab.default-binding"
    std::string title;  // what is checked, for people
    std::string ns;     // the namespace (public name) it covers; "lab" for a static rule
    Verdict verdict = Verdict::Skip;
    std::string evidence;   // one line: what was seen
    std::string remedy;     // what to do when it fails or warns; empty otherwise
    double seconds = 0;     // time of the probes (or the measurement) it read
    std::string blockedBy;  // BLOCKED: the id of the root-cause check that failed
    // The checks whose failure would explain this result, in the order they
    // are asked (the first that failed blocks it). The checks fill them from
    // the evidence (checks/root_causes.cpp) unless a check sets them itself.
    std::vector<CheckId> prerequisites;
    std::string lesson;  // the seed's lesson it is (S1-S9; docs/design.md), when it is one
};

}  // namespace edgelab
