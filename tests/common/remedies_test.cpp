// The remedy table (common/remedies.cpp) held to what can fail: every check
// of every lab in scenarios/, every static rule, the data disk, the
// expectations and every audit finding has a text, and every text in the
// table belongs to an id one of them has.
#include "common/remedies.hpp"

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "audit/audit.hpp"
#include "checks/catalogue.hpp"
#include "provision/rules.hpp"
#include "runner/data_disk.hpp"
#include "runner/runner.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab {
namespace {

namespace fs = std::filesystem;

// Every lab the repository ships, a real site's included.
std::vector<provision::Lab> everyLab() {
    std::vector<provision::Lab> labs;
    for (const fs::path dir : {test::labsDir(), test::labsDir().parent_path() / "sites"})
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".json") labs.push_back(provision::loadLab(e.path()));
    return labs;
}

// In lab mode (backend addresses, a test user), so that every check is in the
// catalogue; and as `edgelab check` sees a real site.
std::vector<checks::Target> targetsFor(const provision::Lab& lab) {
    checks::Target labMode;
    for (const auto& b : lab.backends) labMode.backendAddresses[b.name] = "127.0.0.1:4443";
    labMode.user = checks::SignInCredentials{"alice@" + lab.domain, "alice", "secret"};
    return {labMode, checks::Target{}};
}

// The id of each check of each lab, each rule, the data disk, the
// expectations and each audit finding.
std::set<std::string> everyId() {
    std::set<std::string> ids;
    for (const auto& lab : everyLab()) {
        for (const auto& target : targetsFor(lab))
            for (const auto& d : checks::catalogue(lab, target)) ids.insert(d.id.str());
        for (const auto& r : provision::evaluateRules(lab)) ids.insert(r.id);
        for (const auto& f : audit::evaluateAudit(audit::auditInputOf(lab))) ids.insert(f.id);
    }
    ids.insert(runner::evaluateDataDisk(provision::DataDisk{}, 100).id);
    ids.insert(runner::expectationsResult(runner::ExpectationReport{}).id);
    return ids;
}

// The audit's findings whose fixes are the commands built from the capture
// (netsh and WAP cmdlets with the captured names and hashes): no wording.
const std::set<std::string> kCommandsOnly = {
    "audit.default-certificate", "audit.application-binding", "audit.leftover-bindings"};

TEST(Remedies, EveryCheckRuleAndFindingHasOne) {
    const auto ids = everyId();
    ASSERT_GT(ids.size(), 40u);
    for (const auto& id : ids)
        if (!kCommandsOnly.count(id)) EXPECT_TRUE(hasRemedy(id)) << id << " has no remedy text";
}

TEST(Remedies, NoneIsOrphaned) {
    const auto ids = everyId();
    for (const auto& e : remedyTexts()) {
        bool used = false;
        for (const auto& id : ids) used = used || remedyIdMatches(e.id, id);
        EXPECT_TRUE(used) << e.id << " (" << e.variant << ") names no check, rule or finding";
    }
}

TEST(Remedies, OneTextPerIdAndVariant) {
    std::set<std::pair<std::string_view, std::string_view>> seen;
    for (const auto& e : remedyTexts())
        EXPECT_TRUE(seen.insert({e.id, e.variant}).second)
            << e.id << " (" << e.variant << ") twice";
}

TEST(Remedies, ParametersAreFilledInExactly) {
    EXPECT_EQ(remedyText("tls.sni.meet.contoso.com", "refused", {{"address", "192.0.2.1:443"}}),
              "nothing accepts connections on 192.0.2.1:443 (see reach.connect)");
    // A family's text serves each member of it.
    EXPECT_EQ(remedyText("tls.no-sni.default-binding", "",
                         {{"webServices", "a"}, {"command", "b"}, {"labFile", "c"}}),
              remedyText("tls.no-sni.activesync", "",
                         {{"webServices", "a"}, {"command", "b"}, {"labFile", "c"}}));
    EXPECT_NE(remedyText("signin.webticket", "edge").find("Access Edge"), std::string::npos);
    EXPECT_EQ(remedyText("signin.webticket", "ntlm"), remedyText("signin.ucwa", "ntlm"));
    EXPECT_NE(remedyText("reach.resolve", "connect-to"), remedyText("reach.resolve"));
    // A value stays as given, braces and all.
    EXPECT_NE(remedyText("lab.default-binding", "",
                         {{"command", "appid='{f955c070}'"}, {"webServices", "{x}"}})
                  .find("appid='{f955c070}'\nin a lab: edgelab bindings set-default "
                        "--match-host {x}"),
              std::string::npos);
    EXPECT_THROW(remedyText("tls.sni.x", "refused"), std::logic_error);  // {address} missing
    EXPECT_THROW(remedyText("reach.connect", "", {{"address", "a"}}), std::logic_error);
    EXPECT_THROW(remedyText("reach.connect", "no-such-variant"), std::logic_error);
    EXPECT_THROW(remedyText("no.such.check"), std::logic_error);
    EXPECT_FALSE(hasRemedy("tls.sni"));  // a family names its members, not itself
}

// Every text is well formed: each {name} closes, so filling every one in
// leaves no brace of the text's own.
TEST(Remedies, EveryTextFillsIn) {
    for (const auto& e : remedyTexts()) {
        std::vector<std::string> names;
        for (std::size_t i = e.text.find('{'); i != std::string_view::npos;
             i = e.text.find('{', i + 1)) {
            const auto close = e.text.find('}', i);
            ASSERT_NE(close, std::string_view::npos) << e.id << " (" << e.variant << ")";
            const std::string name(e.text.substr(i + 1, close - i - 1));
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
        }
        std::vector<std::pair<std::string_view, std::string_view>> params;
        for (const auto& n : names) params.emplace_back(n, "VALUE");
        std::string id(e.id);
        if (id.ends_with(".*")) id.replace(id.size() - 1, 1, "x");
        std::string text;
        switch (params.size()) {
            case 0:
                text = remedyText(id, e.variant);
                break;
            case 1:
                text = remedyText(id, e.variant, {params[0]});
                break;
            case 2:
                text = remedyText(id, e.variant, {params[0], params[1]});
                break;
            case 3:
                text = remedyText(id, e.variant, {params[0], params[1], params[2]});
                break;
            default:
                FAIL() << e.id << ": more parameters than this test fills in";
        }
        EXPECT_EQ(text.find_first_of("{}"), std::string::npos) << e.id << ": " << text;
    }
}

}  // namespace
}  // namespace edgelab
