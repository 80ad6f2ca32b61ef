// The static rules: what can be told about a publishing from its lab
// description alone, before anything runs. Each rule is one of the seed's
// lessons (docs/design.md, S1-S9).
#pragma once

#include <string>
#include <vector>

#include "provision/lab.hpp"

namespace edgelab::provision {

enum class Verdict { Pass, Fail, Skip };
std::string to_string(Verdict);

struct RuleResult {
    std::string id;      // stable, e.g. "lab.default-binding"
    std::string lesson;  // "S6"
    std::string title;   // what the rule asks
    Verdict verdict = Verdict::Pass;
    std::string evidence;  // one line: what in the lab decided it
    std::string remedy;    // what to change, when it fails
};

// Every rule, in a fixed order.
std::vector<RuleResult> evaluateRules(const Lab& lab);

// The applications published to a Lync front end, and to OWAS.
bool isLyncApplication(const Lab& lab, const Application& app);
bool isOwasApplication(const Lab& lab, const Application& app);

}  // namespace edgelab::provision
