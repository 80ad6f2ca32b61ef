// The static rules: what can be told about a publishing from its lab
// description alone, before anything runs. Each rule is one of the seed's
// lessons (docs/design.md, S1-S9).
#pragma once

#include <string>
#include <vector>

#include "common/finding.hpp"
#include "provision/lab.hpp"

namespace edgelab::provision {

// A rule's result is a finding (common/finding.hpp): id ("lab.default-binding"),
// lesson ("S6"), title (what the rule asks), ns "lab", a verdict of PASS, FAIL
// or SKIP, the evidence (what in the lab decided it) and, when it fails, the
// remedy (what to change).
// Every rule, in a fixed order.
std::vector<Finding> evaluateRules(const Lab& lab);

// The applications published to a Lync front end, and to OWAS.
bool isLyncApplication(const Lab& lab, const Application& app);
bool isOwasApplication(const Lab& lab, const Application& app);

}  // namespace edgelab::provision
