#include "provision/powershell.hpp"
#include "provision/rules.hpp"

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "common/netsh_command.hpp"
#include "powershell_tokens.hpp"
#include "tests/support/golden.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::provision {
namespace {

using namespace pstest;

const std::filesystem::path kSource(EDGELAB_SOURCE_DIR);

// The seed's certificate hash: the golden files hold the seed's own commands
// for the seed's lab, under the lab's domain.
constexpr const char* kSeedThumbprint = "F7F6B300FE4D569FD598E1C9722571CF9AD780DD";

using test::seedLab;

void expectGolden(const std::string& actual, const std::string& name) {
    test::expectGolden(actual, "tests/provision/golden/" + name);
}

TEST(PowerShell, SeedLabMatchesTheGoldenScripts) {
    const auto scripts = emitWindowsScripts(seedLab(), kSeedThumbprint);
    ASSERT_EQ(scripts.size(), 2u);
    for (const auto& s : scripts) expectGolden(s.text, "seed-lab/" + s.fileName);
}

TEST(PowerShell, AdfsLabMatchesTheGoldenScripts) {
    const Lab lab = loadLab(kSource / "scenarios/labs/adfs-preauth.json");
    for (const auto& s : emitWindowsScripts(lab, kSeedThumbprint))
        expectGolden(s.text, "adfs-preauth/" + s.fileName);
}

TEST(PowerShell, OneScriptPerServerRoleEachHeadedByItsServer) {
    const Lab lab = seedLab();
    const auto scripts = emitWindowsScripts(lab, kSeedThumbprint);
    ASSERT_EQ(scripts.size(), 2u);
    EXPECT_EQ(scripts[0].fileName, "wap-server.ps1");
    EXPECT_EQ(scripts[1].fileName, "lync-frontend.ps1");
    EXPECT_EQ(scripts[1].server, "lyncfe1.kloud.example");
    // The WAP script holds no Lync command and the Lync script no WAP one.
    EXPECT_EQ(scripts[0].text.find("Install-CsDatabase"), std::string::npos);
    EXPECT_EQ(scripts[1].text.find("WebApplicationProxy"), std::string::npos);
    EXPECT_EQ(scripts[1].text.find("netsh"), std::string::npos);
    for (const auto& s : scripts) {
        EXPECT_EQ(s.text.rfind("# ===== " + s.fileName + ": run on " + s.server + " =====\n", 0),
                  0u)
            << s.text;
        EXPECT_NE(s.text.find("\n$ErrorActionPreference = 'Stop'\n"), std::string::npos);
    }
    // Standard output: every script, in order, each with its heading.
    EXPECT_EQ(emitPowerShell(lab, kSeedThumbprint), scripts[0].text + "\n" + scripts[1].text);
}

TEST(PowerShell, EveryAddIsGuardedByACheck) {
    const auto wap = emitWindowsScripts(seedLab(), kSeedThumbprint)[0].text;
    const auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto at = wap.find(what); at != std::string::npos; at = wap.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("if (Get-WebApplicationProxyApplication -Name "), 5u);
    EXPECT_EQ(count("    Add-WebApplicationProxyApplication -Name "), 5u);
    // netsh does not throw: its exit code is what tells.
    EXPECT_NE(wap.find("netsh http show sslcert ipport='0.0.0.0:443' | Out-Null\n"
                       "if ($LASTEXITCODE -eq 0) {"),
              std::string::npos);
    EXPECT_NE(wap.find("    netsh http add sslcert ipport='0.0.0.0:443' "
                       "certhash='f7f6b300fe4d569fd598e1c9722571cf9ad780dd' "
                       "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}' certstorename=MY\n"
                       "    if ($LASTEXITCODE -ne 0) { throw"),
              std::string::npos);
}

TEST(PowerShell, DatabasePathsAreLogThenDataWithTheirSizesChecked) {
    Lab lab = seedLab();
    lab.dataDisk->logPath = "G:\\CsLog";
    lab.dataDisk->databases = {{"rtcxds", 4, 2}, {"rtcshared", 1.5, 0.5}};
    const auto lync = emitWindowsScripts(lab, kSeedThumbprint)[1].text;
    EXPECT_NE(
        lync.find("Install-CsDatabase -LocalDatabases -DatabasePaths 'G:\\CsLog','F:\\CsData'\n"),
        std::string::npos)
        << lync;
    EXPECT_NE(lync.find("Assert-FreeSpace -Drive 'F' -NeededGB 5.5\n"), std::string::npos) << lync;
    EXPECT_NE(lync.find("Assert-FreeSpace -Drive 'G' -NeededGB 2.5\n"), std::string::npos) << lync;
    lab.dataDisk->logPath = lab.dataDisk->dataPath;
    EXPECT_NE(
        emitWindowsScripts(lab, kSeedThumbprint)[1].text.find("-DatabasePaths 'F:\\CsData'\n"),
        std::string::npos);
}

TEST(PowerShell, AdfsWithoutARelyingPartyIsRefusedNamingThePath) {
    Lab lab = seedLab();
    lab.applications[2].externalPreAuthentication = PreAuthentication::ADFS;
    const auto problems = windowsScriptProblems(lab);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].path, "/applications/2/adfsRelyingPartyName");
    EXPECT_THROW(emitWindowsScripts(lab, kSeedThumbprint), LabParseError);
    lab.applications[2].adfsRelyingPartyName = "Lync Dialin";
    EXPECT_TRUE(windowsScriptProblems(lab).empty());
    EXPECT_NE(emitPowerShell(lab, kSeedThumbprint)
                  .find("-ExternalPreauthentication 'ADFS' -ADFSRelyingPartyName 'Lync Dialin' "),
              std::string::npos);
}

TEST(PowerShell, AnApplicationWithoutABackendUrlIsRefusedNamingThePath) {
    Lab lab = seedLab();
    lab.applications[4].backendServerUrl = Url{};
    const auto problems = windowsScriptProblems(lab);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].path, "/applications/4/backendServerUrl");
}

TEST(PowerShell, PassThroughCarriesNoRelyingParty) {
    const auto wap = emitPowerShell(seedLab(), kSeedThumbprint);
    EXPECT_EQ(wap.find("ADFSRelyingPartyName"), std::string::npos);
    EXPECT_NE(wap.find("-ExternalPreauthentication 'PassThrough' "), std::string::npos);
}

TEST(PowerShellQuoting, DoublesEverySingleQuoteCharacter) {
    EXPECT_EQ(psQuote("Lync's"), "'Lync''s'");
    EXPECT_EQ(psQuote("{a}$b\"c`d"), "'{a}$b\"c`d'");
    // U+2019, which PowerShell also ends a single-quoted string with.
    EXPECT_EQ(psQuote("Lync\u2019s"), "'Lync\u2019\u2019s'");
}

// The tokenizer itself must see what the old emitter got wrong.
TEST(PowerShellTokens, SeeUnquotedBracesAndQuotes) {
    const auto netsh = tokenize("netsh http add sslcert appid={f955c070}\n");
    EXPECT_TRUE(std::any_of(netsh.begin(), netsh.end(), [](const Token& t) {
        return t.kind == Kind::Punctuator && t.text == "{";
    }));
    EXPECT_THROW(tokenize("Install-CsDatabase -DatabasePaths F:\\Cs Data's\n"), std::runtime_error);
    EXPECT_THROW(tokenize("Add -Name 'Lync\u2019s'\n"), std::runtime_error);
    const auto word = tokenize("netsh appid='{a''b}'")[1];
    ASSERT_EQ(word.parts.size(), 2u);
    EXPECT_EQ(word.parts[0], std::make_pair(Part::Bare, std::string("appid=")));
    EXPECT_EQ(word.parts[1], std::make_pair(Part::SingleQuoted, std::string("{a'b}")));
    EXPECT_EQ(tokenize("throw \"a `\" $(b) c\"")[1].parts[0].second, "a \" $(b) c");
}

std::vector<std::string> singleQuotedValues(const std::string& script) {
    std::vector<std::string> values;
    for (const auto& t : tokenize(script))
        for (const auto& [part, value] : t.parts)
            if (part == Part::SingleQuoted) values.push_back(value);
    return values;
}

// Values a lab may hold that would break out of a string, a comment or an
// argument if they were not quoted: every one must come back as one quoted
// value, and the script must keep the shape it has with plain values.
TEST(PowerShellTokens, HostileValuesStayInsideTheirQuotes) {
    Lab plain = seedLab();
    plain.applications[0].externalPreAuthentication = PreAuthentication::ADFS;
    plain.applications[0].adfsRelyingPartyName = "Lync";
    plain.dataDisk->logPath = "G:\\CsLog";
    Lab hostile = plain;
    const std::vector<std::string> names{
        "Lync's {Web} $Services",          "Meet\u2019s `$(Remove-Item C:\\)", "a\"b\";c | d # e",
        "line\nRemove-Item C:\\ -Recurse", "<# x #> ${env:PATH} @(1,2)",
    };
    for (std::size_t i = 0; i < names.size(); ++i) hostile.applications[i].name = names[i];
    hostile.applications[0].adfsRelyingPartyName = "RP '$x' {y}";
    hostile.applications[1].externalUrl.path = "/a'b$c{d}";
    hostile.dataDisk->dataPath = "F:\\Cs Data's {x}";
    hostile.dataDisk->logPath = "G:\\Cs$Log`";

    const std::string plainScript = emitPowerShell(plain, kSeedThumbprint);
    const std::string hostileScript = emitPowerShell(hostile, kSeedThumbprint);
    ASSERT_NO_THROW(tokenize(hostileScript)) << hostileScript;
    EXPECT_EQ(shape(tokenize(hostileScript)), shape(tokenize(plainScript))) << hostileScript;

    const auto values = singleQuotedValues(hostileScript);
    auto has = [&](const std::string& v) {
        return std::find(values.begin(), values.end(), v) != values.end();
    };
    for (const auto& n : names) EXPECT_TRUE(has(n)) << n;
    EXPECT_TRUE(has("RP '$x' {y}"));
    EXPECT_TRUE(has("https://lyncdiscover.kloud.example/a'b$c{d}"));
    EXPECT_TRUE(has("F:\\Cs Data's {x}"));
    EXPECT_TRUE(has("G:\\Cs$Log`"));
    EXPECT_TRUE(has("{f955c070-e044-456c-ac00-e9e4275b3f04}"));
}

// Outside comments and quoted strings, the scripts have no brace, dollar or
// quote that the emitter did not write on purpose: every `{` opens a block of
// if/else/foreach/function, every variable is one of the script's own.
TEST(PowerShellTokens, NoBareBraceDollarOrQuoteLeaks) {
    for (const char* file : {"seed-lab.json", "adfs-preauth.json"}) {
        const Lab lab = loadLab(kSource / "scenarios/labs" / file);
        for (const auto& s : emitWindowsScripts(lab, kSeedThumbprint)) {
            const auto tokens = tokenize(s.text);
            for (std::size_t k = 0; k < tokens.size(); ++k) {
                const Token& t = tokens[k];
                if (t.kind == Kind::Punctuator && t.text == "{")
                    EXPECT_TRUE(k > 0 &&
                                (tokens[k - 1].text == ")" || tokens[k - 1].text == "else"))
                        << file << ": a brace after " << tokens[k - 1].text;
                if (t.kind == Kind::Variable)
                    EXPECT_TRUE(t.text == "$ErrorActionPreference" || t.text == "$certificate" ||
                                t.text == "$LASTEXITCODE" || t.text == "$Drive" ||
                                t.text == "$NeededGB" || t.text == "$free" || t.text == "$folder")
                        << file << ": " << t.text;
                for (const auto& [part, value] : t.parts)
                    if (part == Part::Bare)
                        EXPECT_EQ(value.find_first_of("{}$'\"`"), std::string::npos)
                            << file << ": " << t.text;
            }
        }
    }
}

}  // namespace
}  // namespace edgelab::provision

namespace edgelab::provision {
namespace {

using namespace pstest;

// The one builder of every netsh fix edgelab prints: the PowerShell form is
// one native command with appid='{...}' one argument (bare braces are a
// script block, and netsh answers "The parameter is incorrect":
// MicrosoftDocs/windowsserverdocs issue 5922); the cmd.exe form is bare.
TEST(NetshCommand, PowerShellFormIsOneCommandWithTheAppidOneArgument) {
    const SslcertAdd add{SslcertKey::IpPort, "0.0.0.0:443",
                         "C0A130DF59A376F3155636845CAE1190F59BEE65",
                         "{f955c070-e044-456c-ac00-e9e4275b3f04}", ""};
    EXPECT_EQ(netshAddSslcert(add),
              "netsh http add sslcert ipport='0.0.0.0:443' "
              "certhash='c0a130df59a376f3155636845cae1190f59bee65' "
              "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}'");
    EXPECT_EQ(netshAddSslcert(add, Shell::Cmd),
              "netsh http add sslcert ipport=0.0.0.0:443 "
              "certhash=c0a130df59a376f3155636845cae1190f59bee65 "
              "appid={f955c070-e044-456c-ac00-e9e4275b3f04}");
    EXPECT_EQ(netshLineProblems(netshAddSslcert(add)), "");
    // The cmd.exe form is what PowerShell breaks on: the tokenizer sees it.
    EXPECT_NE(netshLineProblems(netshAddSslcert(add, Shell::Cmd)), "");
    const SslcertAdd host{SslcertKey::HostnamePort, "lync's.example:443", "<thumbprint>",
                          "{f955c070-e044-456c-ac00-e9e4275b3f04}", "MY"};
    EXPECT_EQ(netshLineProblems(netshAddSslcert(host)), "");
    EXPECT_NE(netshAddSslcert(host, Shell::Cmd).find("certhash=\"<thumbprint>\""),
              std::string::npos);
    EXPECT_EQ(netshLineProblems(netshDeleteSslcert(SslcertKey::IpPort, "[::]:443") +
                                " appid='{f955c070-e044-456c-ac00-e9e4275b3f04}'"),
              "");
    EXPECT_EQ(withCmdForm("a", "b"), "a\n# in cmd.exe: b");
}

// Every remedy and finding prints a fix the one way: both forms, the
// PowerShell line first; the default and Hostname:port bindings with WAP's
// application id, as WAP and Set-DefaultCertificate make them.
TEST(NetshCommand, EveryFixIsPrintedInBothForms) {
    const auto add = defaultBindingAdd("<hash>");
    EXPECT_EQ(sslcertAddFix(add),
              "netsh http add sslcert ipport='0.0.0.0:443' certhash='<hash>' "
              "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}'\n"
              "# in cmd.exe: netsh http add sslcert ipport=0.0.0.0:443 certhash=\"<hash>\" "
              "appid={f955c070-e044-456c-ac00-e9e4275b3f04}");
    EXPECT_EQ(netshAddSslcert(defaultBindingAdd("AB", "[::]:443", "MY")),
              "netsh http add sslcert ipport='[::]:443' certhash='ab' "
              "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}' certstorename=MY");
    EXPECT_EQ(netshAddSslcert(hostnameBindingAdd("meet.contoso.com", "AB")),
              "netsh http add sslcert hostnameport='meet.contoso.com:443' certhash='ab' "
              "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}' certstorename=MY");
    EXPECT_EQ(sslcertDeleteFix(SslcertKey::HostnamePort, "a.example:443"),
              "netsh http delete sslcert hostnameport='a.example:443'\n"
              "# in cmd.exe: netsh http delete sslcert hostnameport=a.example:443");
}

TEST(NetshCommand, TheRuleAndTheEmitterPrintItRunnable) {
    Lab lab = seedLab();
    lab.defaultBinding.reset();
    bool seen = false;
    for (const auto& r : evaluateRules(lab))
        if (r.id == "lab.default-binding") {
            seen = true;
            EXPECT_EQ(netshLineProblems(r.remedy), "") << r.remedy;
        }
    EXPECT_TRUE(seen);
    EXPECT_EQ(netshLineProblems(emitPowerShell(seedLab(), kSeedThumbprint)), "");
}

}  // namespace
}  // namespace edgelab::provision
