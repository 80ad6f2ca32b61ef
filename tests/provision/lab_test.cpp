#include "provision/lab.hpp"

#include "common/atomic_file.hpp"
#include "provision/rules.hpp"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/seed_lab.hpp"

namespace edgelab::provision {
namespace {

using json = nlohmann::json;

const std::filesystem::path kLabs = test::labsDir();
using test::seedLabJson;

TEST(LabParser, SeedLabParsesIntoTheSeedsNamespaces) {
    const Lab lab = loadLab(kLabs / "seed-lab.json");
    EXPECT_EQ(lab.name, "seed-lab");
    EXPECT_EQ(lab.names.webServices, "lyncws.kloud.example");
    EXPECT_EQ(lab.names.owas, "owas.kloud.example");
    ASSERT_EQ(lab.applications.size(), 5u);
    EXPECT_EQ(lab.applications[0].backendServerUrl.port, 4443);
    EXPECT_EQ(lab.applications[0].externalPreAuthentication, PreAuthentication::PassThrough);
    EXPECT_EQ(lab.applications[4].externalUrl.host, lab.applications[4].backendServerUrl.host);
    ASSERT_TRUE(lab.defaultBinding);
    EXPECT_EQ(lab.defaultBinding->ipport, "0.0.0.0:443");
    ASSERT_EQ(lab.clients.size(), 3u);
    EXPECT_TRUE(lab.clients[0].sendsSni);
    EXPECT_FALSE(lab.clients[1].sendsSni);
    ASSERT_TRUE(lab.dataDisk);
    EXPECT_EQ(lab.dataDisk->hostCache, HostCache::None);
    EXPECT_EQ(lab.backendFor("meet.kloud.example")->name, "fe1");
    EXPECT_EQ(lab.backendFor("owas1.kloud.example")->name, "owas1");
}

TEST(LabParser, DefaultsFillAMinimalLab) {
    const json doc = {
        {"name", "tiny"},
        {"domain", "Contoso.Example"},
        {"backends", {{{"name", "fe"}, {"role", "lync-frontend"}, {"host", "fe.contoso.example"}}}},
        {"applications",
         {{{"name", "ws"},
           {"externalUrl", "https://lyncws.contoso.example/"},
           {"backendServerUrl", "https://lyncws.contoso.example:4443/"}}}}};
    const Lab lab = parseLab(doc);
    EXPECT_EQ(lab.domain, "contoso.example");
    EXPECT_EQ(lab.names.lyncdiscover, "lyncdiscover.contoso.example");
    EXPECT_EQ(lab.certificate.subject, "lyncws.contoso.example");
    EXPECT_EQ(lab.certificate.san, lab.names.all());
    EXPECT_EQ(lab.certificate.keyType, KeyType::EcdsaP256);
    EXPECT_TRUE(lab.certificate.sendChain);
    EXPECT_EQ(lab.backends[0].port, 4443);
    EXPECT_EQ(lab.backends[0].serves.size(), 4u);
    // WAP's own default is ADFS pre-authentication, and a timeout of 300 s.
    EXPECT_EQ(lab.applications[0].externalPreAuthentication, PreAuthentication::ADFS);
    EXPECT_EQ(lab.applications[0].inactiveTransactionsTimeoutSec, 300);
    EXPECT_FALSE(lab.defaultBinding);
    EXPECT_EQ(lab.clients.size(), 3u);
    EXPECT_FALSE(lab.dataDisk);
}

TEST(LabParser, ErrorsNameTheJsonPathAndWhatWasExpected) {
    json doc = seedLabJson();
    doc["applications"][2]["backendServerUrl"] = "lyncws:4443";
    doc["applications"][0]["externalPreAuthentication"] = "Passthru";
    doc["backends"][0]["port"] = 70000;
    doc["dataDisk"]["hostCache"] = "WriteBack";
    doc["certificate"]["sendChain"] = "yes";
    EXPECT_EQ(
        test::labErrorsOf(doc),
        (std::vector<std::string>{
            "/certificate/sendChain: expected true or false, got \"yes\"",
            "/backends/0/port: expected a whole number from 1 to 65535, got 70000",
            "/applications/0/externalPreAuthentication: expected one of PassThrough, ADFS, "
            "ClientCertificate, got \"Passthru\" (did you mean \"PassThrough\"?)",
            "/applications/2/backendServerUrl: expected an https URL, got \"lyncws:4443\"",
            "/dataDisk/hostCache: expected one of None, ReadOnly, ReadWrite, got \"WriteBack\"",
        }));
}

TEST(LabParser, UnknownKeysAreErrorsWithTheLikelyKey) {
    json doc = seedLabJson();
    doc["applications"][1]["backendServerURL"] = doc["applications"][1]["backendServerUrl"];
    doc["applications"][1].erase("backendServerUrl");
    doc["defaultBindings"] = doc["defaultBinding"];
    doc.erase("defaultBinding");
    doc["frobnicate"] = 1;
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{
                  "/applications/1/backendServerURL: unknown key (did you mean "
                  "\"backendServerUrl\"?)",
                  "/defaultBindings: unknown key (did you mean \"defaultBinding\"?)",
                  "/frobnicate: unknown key",
              }));
}

TEST(LabParser, MissingRequiredFieldsAreAllReported) {
    EXPECT_EQ(test::labErrorsOf(json::object()),
              (std::vector<std::string>{
                  "/name: required, expected a string",
                  "/domain: required, expected a string",
                  "/applications: required, expected an array of WAP applications",
              }));
}

// A real site to check: the domain, the external URLs and the clients;
// no backends, no backend URLs, no application names.
TEST(LabParser, ARealSiteNeedsNoBackends) {
    const Lab lab = parseLab(json::parse(R"({
        "name": "site", "domain": "contoso.com",
        "applications": [{"externalUrl": "https://lyncws.contoso.com/"},
                         {"name": "OWAS", "externalUrl": "https://owas.contoso.com/"}],
        "clients": ["lync-mobile"]})"));
    EXPECT_TRUE(lab.backends.empty());
    EXPECT_EQ(lab.applications[0].name, "https://lyncws.contoso.com/");
    EXPECT_FALSE(lab.applications[0].hasBackendServerUrl());
    std::vector<std::string> problems;
    for (const auto& p : labModeProblems(lab)) problems.push_back(p.path);
    EXPECT_EQ(problems, (std::vector<std::string>{"/backends", "/applications/0/backendServerUrl",
                                                  "/applications/1/backendServerUrl"}));
    const Lab example = loadLab(kLabs.parent_path() / "sites/contoso-site.json");
    EXPECT_TRUE(example.backends.empty());
    EXPECT_EQ(labModeProblems(example).size(), 1u + example.applications.size());
    for (const char* file : {"seed-lab.json", "adfs-preauth.json"})
        EXPECT_TRUE(labModeProblems(loadLab(kLabs / file)).empty()) << file;
}

// A lab whose application the proxy cannot publish is refused before any
// process starts (it used to pass validation and fail after provisioning).
TEST(LabParser, ClientCertificatePreAuthenticationCannotBeBuiltOnLoopback) {
    json doc = seedLabJson();
    doc["applications"][2]["externalPreAuthentication"] = "ClientCertificate";
    std::vector<std::string> problems;
    for (const auto& p : labModeProblems(parseLab(doc))) problems.push_back(p.path);
    EXPECT_EQ(problems, std::vector<std::string>{"/applications/2/externalPreAuthentication"});
}

TEST(LabParser, ABackendUrlNoBackendServesIsNamed) {
    json doc = seedLabJson();
    doc["applications"][3]["backendServerUrl"] = "https://nowhere.kloud.example:4443/";
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{
                  "/applications/3/backendServerUrl: no backend serves "
                  "\"nowhere.kloud.example\" (add it to a backend's host or serves)",
              }));
}

TEST(LabParser, AWildcardSubjectIsRefused) {
    json doc = seedLabJson();
    doc["certificate"]["subject"] = "*.kloud.example";
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{"/certificate/subject: a wildcard is allowed in the SAN "
                                        "only, never as the subject, got \"*.kloud.example\""}));
}

TEST(LabParser, SyntaxErrorsGiveLineAndColumn) {
    try {
        parseLabText("{\n  \"name\": \"x\",\n  \"domain\" \"d\"\n}", "broken.json");
        FAIL() << "expected a parse error";
    } catch (const LabParseError& e) {
        ASSERT_EQ(e.errors().size(), 1u);
        EXPECT_EQ(e.errors()[0].path, "");
        EXPECT_NE(e.errors()[0].message.find("not valid JSON at line 3, column 14"),
                  std::string::npos)
            << e.errors()[0].message;
        EXPECT_EQ(e.file(), "broken.json");
    }
}

TEST(LabParser, AnUnreadableFileIsNamed) {
    try {
        loadLab("/nonexistent/lab.json");
        FAIL() << "expected an error";
    } catch (const LabParseError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/lab.json"), std::string::npos);
    }
}

TEST(LabParser, AnEmptyLabNameIsRefused) {
    json doc = seedLabJson();
    doc["name"] = "";
    auto errors = test::labErrorsOf(doc);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("/name: expected a non-empty name"), std::string::npos) << errors[0];
}

TEST(LabParser, TheWindowsScriptsFieldsAreReadAndChecked) {
    json doc = seedLabJson();
    doc["applications"][0]["externalPreAuthentication"] = "ADFS";
    doc["applications"][0]["adfsRelyingPartyName"] = "Lync Web Services";
    doc["dataDisk"]["logPath"] = "G:\\CsLog";
    const Lab lab = parseLab(doc);
    EXPECT_EQ(lab.applications[0].adfsRelyingPartyName, "Lync Web Services");
    EXPECT_EQ(lab.dataDisk->logPath, "G:\\CsLog");
    EXPECT_EQ(lab.dataDisk->dataPath, "F:\\CsData");  // the disk's path by default

    doc["applications"][1]["adfsRelyingPartyName"] = "Lync";  // a PassThrough one
    doc["dataDisk"]["dataPath"] = "";
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{
                  "/applications/1/adfsRelyingPartyName: given only with "
                  "externalPreAuthentication \"ADFS\", got \"PassThrough\"",
                  "/dataDisk/dataPath: expected a folder such as \"F:\\\\CsData\", got \"\""}));
}

TEST(LabParser, EmptyAndDuplicateApplicationNamesAreRefused) {
    json doc = seedLabJson();
    doc["applications"][1]["name"] = "";
    doc["applications"][3]["name"] = doc["applications"][2]["name"];
    auto errors = test::labErrorsOf(doc);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("/applications/1/name: expected a non-empty application name"),
              std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("/applications/3/name: another application is already named"),
              std::string::npos)
        << errors[1];
}

TEST(LabParser, DuplicateKeysAreRefusedWithTheirPath) {
    const std::string text = R"({"name": "a", "domain": "kloud.example", "name": "b",
        "backends": [{"name": "fe", "role": "lync-frontend", "host": "fe.kloud.example"}],
        "applications": [{"name": "x", "externalUrl": "https://lyncws.kloud.example/",
                          "externalUrl": "https://meet.kloud.example/",
                          "backendServerUrl": "https://fe.kloud.example:4443/"}]})";
    try {
        parseLabText(text, "dup.json");
        FAIL() << "expected duplicate keys to be refused";
    } catch (const LabParseError& e) {
        ASSERT_EQ(e.errors().size(), 2u) << e.what();
        EXPECT_EQ(e.errors()[0].path, "/name");
        EXPECT_EQ(e.errors()[1].path, "/applications/0/externalUrl");
        EXPECT_NE(e.errors()[0].message.find("duplicate key"), std::string::npos);
    }
}

TEST(LabParser, AUtf16FileIsNamedAsUtf16) {
    const std::string utf8 = "{\"name\": \"x\"}";
    std::string utf16{'\xff', '\xfe'};
    for (char c : utf8) utf16 += std::string{c, '\0'};
    for (const auto& text : {utf16, utf16.substr(2)}) {
        try {
            parseLabText(text, "windows.json");
            FAIL() << "expected UTF-16 to be refused";
        } catch (const LabParseError& e) {
            EXPECT_NE(std::string(e.what()).find("the file is UTF-16LE"), std::string::npos)
                << e.what();
        }
    }
}

TEST(LabParser, ADirectoryGivenAsTheLabIsNamed) {
    try {
        loadLab(kLabs);
        FAIL() << "expected a directory to be refused";
    } catch (const LabParseError& e) {
        EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
    }
}

TEST(LabUsers, ALiteralPasswordAndTheAccountsTwoForms) {
    json doc = seedLabJson();
    doc["users"] = {
        {{"sipUri", "sip:Alice@kloud.example"},
         {"account", "KLOUD\\alice"},
         {"password", "Pa55w.rd"}},
        {{"sipUri", "bob@kloud.example"}, {"account", "bob@kloud.example"}, {"password", "x"}}};
    doc["proxy"] = {{"connectionAffinity", false}};
    const Lab lab = parseLab(doc);
    ASSERT_EQ(lab.users.size(), 2u);
    EXPECT_EQ(lab.users[0].sipUri, "Alice@kloud.example");
    EXPECT_EQ(lab.users[0].userName(), "alice");
    EXPECT_EQ(lab.users[0].domain(), "KLOUD");
    EXPECT_EQ(lab.users[0].password, "Pa55w.rd");
    EXPECT_EQ(lab.users[1].userName(), "bob@kloud.example");
    EXPECT_EQ(lab.users[1].domain(), "");
    EXPECT_EQ(lab.user("alice@KLOUD.example"), &lab.users[0]);
    EXPECT_EQ(lab.user("carol@kloud.example"), nullptr);
    EXPECT_FALSE(lab.proxy.connectionAffinity);
    EXPECT_TRUE(parseLab(seedLabJson()).proxy.connectionAffinity);
}

TEST(LabUsers, ErrorsNameTheUsersJsonPath) {
    json doc = seedLabJson();
    doc["users"] = {
        {{"sipUri", "alice"}, {"account", "alice"}},
        {{"sipUri", "bob@kloud.example"},
         {"account", "KLOUD\\bob"},
         {"password", "a"},
         {"passwordFile", "b"},
         {"pasword", "c"}},
        {{"sipUri", "BOB@kloud.example"}, {"account", "KLOUD\\bob2"}, {"password", ""}}};
    doc["proxy"] = {{"connectionAffinity", "off"}};
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{
                  "/users/0/sipUri: expected a SIP address such as \"alice@contoso.example\", "
                  "got \"alice\"",
                  "/users/0/account: expected DOMAIN\\user or user@domain, got \"alice\"",
                  "/users/0/password: required, expected a string (or passwordFile)",
                  "/users/1/passwordFile: give password or passwordFile, not both",
                  "/users/1/pasword: unknown key (did you mean \"password\"?)",
                  "/users/2/sipUri: another user already has \"BOB@kloud.example\"",
                  "/users/2/password: expected a non-empty password",
                  "/proxy/connectionAffinity: expected true or false, got \"off\"",
              }));
}

TEST(LabUsers, AHomePoolIsALyncFrontEndAndItsWebServicesAName) {
    json doc = seedLabJson();
    doc["backends"][0]["webServices"] = "lyncws2";
    doc["users"][0]["homePool"] = "fe1";
    const Lab lab = parseLab(doc, "pools.json");
    EXPECT_EQ(lab.backends[0].webServices, "lyncws2.kloud.example");
    EXPECT_EQ(lab.users[0].homePool, "fe1");
    doc["users"][0]["homePool"] = "owas1";
    doc["backends"][0]["webServices"] = "bad name";
    EXPECT_EQ(test::labErrorsOf(doc),
              (std::vector<std::string>{
                  "/backends/0/webServices: expected a host name, got \"bad name\"",
                  "/users/0/homePool: expected the name of a lync-frontend backend, got "
                  "\"owas1\"",
              }));
}

TEST(LabUsers, APasswordFileIsReadRelativeToTheLabAndNamedWhenMissing) {
    const test::TempDir dir("lab-users");
    json doc = seedLabJson();
    doc["users"] = {{{"sipUri", "alice@kloud.example"},
                     {"account", "KLOUD\\alice"},
                     {"passwordFile", "alice.pw"}}};
    writeFileAtomic(dir / "lab.json", doc.dump());
    writeFileAtomic(dir / "alice.pw", "s3cret w0rd\n");
    const Lab lab = loadLab(dir / "lab.json");
    EXPECT_EQ(lab.users[0].password, "s3cret w0rd");
    EXPECT_EQ(*lab.users[0].passwordFile, dir / "alice.pw");

    std::filesystem::remove(dir / "alice.pw");
    try {
        loadLab(dir / "lab.json");
        ADD_FAILURE() << "expected an error for the missing password file";
    } catch (const LabParseError& e) {
        ASSERT_EQ(e.errors().size(), 1u);
        EXPECT_EQ(e.errors()[0].path, "/users/0/passwordFile");
        EXPECT_NE(e.errors()[0].message.find("alice.pw"), std::string::npos);
    }
}

TEST(Url, ParsesWhatWapTakes) {
    auto u = Url::parse("https://LyncWS.Kloud.Example:4443/x?y");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "lyncws.kloud.example");
    EXPECT_EQ(u->port, 4443);
    EXPECT_EQ(u->path, "/x?y");
    EXPECT_EQ(u->str(), "https://lyncws.kloud.example:4443/x?y");
    EXPECT_EQ(Url::parse("https://owas.kloud.example")->str(), "https://owas.kloud.example/");
    EXPECT_FALSE(Url::parse("lyncws:4443"));
    EXPECT_FALSE(Url::parse("https://host:0/"));
    EXPECT_FALSE(Url::parse("https://user@host/"));
    EXPECT_FALSE(Url::parse("ftp://host/"));
}

TEST(LabFiles, EveryLabInTheTreeParses) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kLabs)) {
        if (entry.path().extension() != ".json") continue;
        EXPECT_NO_THROW(loadLab(entry.path())) << entry.path();
        ++count;
    }
    EXPECT_GE(count, 8);
}

// The example in the format's documentation stays a valid lab.
TEST(LabFiles, TheDocumentedExampleParses) {
    const std::string doc = readFile(kLabs / "README.md");
    const auto start = doc.find("```json\n");
    ASSERT_NE(start, std::string::npos);
    const auto end = doc.find("```", start + 8);
    const Lab lab = parseLabText(doc.substr(start + 8, end - start - 8), "README example");
    EXPECT_EQ(lab.name, "contoso");
    EXPECT_EQ(lab.backends[1].serves, std::vector<std::string>{"owas.contoso.example"});
    // And it validates: every static rule passes or does not apply.
    for (const auto& r : evaluateRules(lab))
        EXPECT_NE(r.verdict, Verdict::Fail) << r.id << ": " << r.evidence;
}

}  // namespace
}  // namespace edgelab::provision
