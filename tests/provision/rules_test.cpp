#include "provision/rules.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/seed_lab.hpp"

namespace edgelab::provision {
namespace {

using json = nlohmann::json;

const std::filesystem::path kLabs = test::labsDir();
using test::seedLabJson;

const Finding& ruleOf(const std::vector<Finding>& results, const std::string& id) {
    for (const auto& r : results)
        if (r.id == id) return r;
    throw std::runtime_error("no rule " + id);
}

std::set<std::string> failing(const Lab& lab) {
    std::set<std::string> out;
    for (const auto& r : evaluateRules(lab))
        if (r.verdict == Verdict::Fail) out.insert(r.id);
    return out;
}

TEST(Rules, SeedLabPassesEveryRule) {
    const auto results = evaluateRules(parseLab(seedLabJson()));
    for (const auto& r : results) EXPECT_NE(r.verdict, Verdict::Fail) << r.id << ": " << r.evidence;
    EXPECT_EQ(ruleOf(results, "lab.passthrough").verdict, Verdict::Pass);
    EXPECT_EQ(ruleOf(results, "lab.default-binding").verdict, Verdict::Pass);
    EXPECT_EQ(ruleOf(results, "lab.edge-nics").verdict, Verdict::Skip);
}

// A real site's lab has no backends: the rules about them have nothing to
// judge and say so, the others judge what the lab does describe.
TEST(Rules, ARealSiteSkipsTheBackendRules) {
    const auto results = evaluateRules(loadLab(kLabs.parent_path() / "sites/contoso-site.json"));
    for (const char* id :
         {"lab.passthrough", "lab.backend-port", "lab.owas-url", "lab.backend-certificate"})
        EXPECT_EQ(ruleOf(results, id).verdict, Verdict::Skip) << id;
    EXPECT_EQ(ruleOf(results, "lab.namespaces").verdict, Verdict::Pass);
    EXPECT_EQ(ruleOf(results, "lab.default-binding").verdict, Verdict::Pass);
}

// Every broken lab fails exactly the static rules its expectations name.
TEST(Rules, EachBrokenLabFailsExactlyTheRuleItNames) {
    int broken = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kLabs)) {
        if (entry.path().extension() != ".json") continue;
        const Lab lab = loadLab(entry.path());
        std::set<std::string> expected;
        for (const auto& f : lab.expect.fail)
            if (f.rfind("lab.", 0) == 0) expected.insert(f);
        EXPECT_EQ(failing(lab), expected) << entry.path();
        broken += !expected.empty();
    }
    EXPECT_GE(broken, 7);
}

struct RuleCase {
    const char* name;
    const char* rule;
    void (*breakIt)(json&);
    const char* evidence;
    const char* remedyPart;
};

const RuleCase kCases[] = {
    {"passthrough", "lab.passthrough",
     [](json& d) { d["applications"][3]["externalPreAuthentication"] = "ADFS"; },
     "'Lync Meet' uses ADFS", "-ExternalPreAuthentication PassThrough"},
    {"backend_port", "lab.backend-port",
     [](json& d) {
         d["applications"][1]["backendServerUrl"] = "https://lyncdiscover.kloud.example/";
     },
     "'Lync Lyncdiscover' -> https://lyncdiscover.kloud.example/", "https://HOST:4443/"},
    {"owas_url", "lab.owas-url",
     [](json& d) { d["applications"][4]["backendServerUrl"] = "https://owas1.kloud.example/"; },
     "'Office Web Apps Server': https://owas.kloud.example/ -> https://owas1.kloud.example/",
     "same as -ExternalUrl"},
    {"certificate_names", "lab.certificate-names",
     [](json& d) { d["certificate"]["san"].erase(3); },
     "not in the SAN: lyncdiscover.kloud.example", "add lyncdiscover.kloud.example"},
    {"certificate_subject", "lab.certificate-subject",
     [](json& d) { d["certificate"]["subject"] = "meet.kloud.example"; },
     "CN=meet.kloud.example, expected CN=lyncws.kloud.example", "subject lyncws.kloud.example"},
    {"backend_certificate", "lab.backend-certificate",
     [](json& d) { d["backends"][1]["publicNamesInCertificate"] = false; },
     "'Office Web Apps Server' -> owas.kloud.example on backend 'owas1' whose certificate names "
     "owas1.kloud.example only",
     "issue the backend certificates with the public names"},
    {"default_binding", "lab.default-binding", [](json& d) { d.erase("defaultBinding"); },
     "lync-mobile, activesync send no SNI and the lab has no IP:port binding",
     "netsh http add sslcert ipport='0.0.0.0:443'"},
    {"data_disk_cache", "lab.data-disk", [](json& d) { d["dataDisk"]["hostCache"] = "ReadWrite"; },
     "10 GB, host cache ReadWrite, databases 8 GB (needs 10 GB): host cache ReadWrite",
     "Install-CsDatabase -LocalDatabases -DatabasePaths 'F:\\CsData'"},
    {"data_disk_size", "lab.data-disk", [](json& d) { d["dataDisk"]["sizeGB"] = 8; },
     "8 GB, host cache None, databases 8 GB (needs 10 GB): 8 GB is less than 10 GB",
     "at least 10 GB"},
    {"edge_nics", "lab.edge-nics", [](json& d) { d["platform"]["roles"].push_back("edge"); },
     "platform azure gives the Edge role 1 NIC", "two NICs"},
    {"namespaces", "lab.namespaces", [](json& d) { d["applications"].erase(2); },
     "not published: dialin.kloud.example", "https://NAME/"},
};

class RuleFails : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleFails, WithEvidenceAndRemedy) {
    const RuleCase& c = GetParam();
    json doc = seedLabJson();
    c.breakIt(doc);
    const Lab lab = parseLab(doc);
    const auto results = evaluateRules(lab);
    const Finding& r = ruleOf(results, c.rule);
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_EQ(r.evidence, c.evidence);
    EXPECT_NE(r.remedy.find(c.remedyPart), std::string::npos) << r.remedy;
    EXPECT_EQ(failing(lab), std::set<std::string>{c.rule});
}

INSTANTIATE_TEST_SUITE_P(Each, RuleFails, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Rules, AWildcardInTheSanCoversOneLabel) {
    json doc = seedLabJson();
    doc["certificate"]["san"] = {"lyncws.kloud.example", "*.kloud.example"};
    EXPECT_EQ(failing(parseLab(doc)), std::set<std::string>{});
}

TEST(Rules, AnyNoSniProfileNeedsTheDefaultBinding) {
    json doc = seedLabJson();
    doc.erase("defaultBinding");
    doc["clients"] = {"browser"};
    const auto results = evaluateRules(parseLab(doc));
    EXPECT_EQ(ruleOf(results, "lab.default-binding").verdict, Verdict::Skip);
    doc["clients"] = {{{"profile", "old-phone"}, {"sendsSni", false}, {"maxTls", "1.1"}}};
    EXPECT_EQ(ruleOf(evaluateRules(parseLab(doc)), "lab.default-binding").verdict, Verdict::Fail);
}

}  // namespace
}  // namespace edgelab::provision
