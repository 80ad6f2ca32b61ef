#include "provision/powershell.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::provision {
namespace {

const std::filesystem::path kSource(EDGELAB_SOURCE_DIR);

// The seed's certificate hash: the golden file holds the seed's own commands
// for the seed's lab, under the lab's domain.
constexpr const char* kSeedThumbprint = "F7F6B300FE4D569FD598E1C9722571CF9AD780DD";

TEST(PowerShell, SeedLabMatchesTheGoldenScript) {
    const Lab lab = test::seedLab();
    const std::string script = emitPowerShell(lab, kSeedThumbprint);
    const auto golden = kSource / "tests/provision/golden/seed-lab.ps1";
    if (std::getenv("EDGELAB_UPDATE_GOLDEN")) writeFileAtomic(golden, script);
    EXPECT_EQ(script, readFile(golden));
}

TEST(PowerShell, CarriesTheSeedsCommands) {
    const Lab lab = test::seedLab();
    const std::string script = emitPowerShell(lab, kSeedThumbprint);
    EXPECT_NE(script.find("Add-WebApplicationProxyApplication -Name 'Lync Web Services' "
                          "-ExternalPreAuthentication PassThrough -ExternalUrl "
                          "\"https://lyncws.kloud.example/\" -BackendServerUrl "
                          "\"https://lyncws.kloud.example:4443/\" -ExternalCertificateThumbprint "
                          "$certificate\n"),
              std::string::npos);
    EXPECT_NE(script.find("netsh http add sslcert ipport=0.0.0.0:443 "
                          "certhash=f7f6b300fe4d569fd598e1c9722571cf9ad780dd "
                          "appid={f955c070-e044-456c-ac00-e9e4275b3f04}\n"),
              std::string::npos);
    EXPECT_NE(script.find("Install-CsDatabase -LocalDatabases -DatabasePaths F:\\CsData\n"),
              std::string::npos);
}

TEST(PowerShell, FlagsAndQuotesFollowTheLab) {
    Lab lab = test::seedLab();
    lab.applications[0].name = "Lync's Web Services";
    lab.applications[0].disableTranslateUrlInResponseHeaders = true;
    lab.applications[0].inactiveTransactionsTimeoutSec = 900;
    lab.defaultBinding.reset();
    lab.dataDisk.reset();
    const std::string script = emitPowerShell(lab, kSeedThumbprint);
    EXPECT_NE(script.find("-Name 'Lync''s Web Services'"), std::string::npos);
    EXPECT_NE(script.find("$certificate -DisableTranslateUrlInResponseHeaders "
                          "-InactiveTransactionsTimeoutSec 900\n"),
              std::string::npos);
    EXPECT_EQ(script.find("netsh"), std::string::npos);
    EXPECT_EQ(script.find("Install-CsDatabase"), std::string::npos);
}

}  // namespace
}  // namespace edgelab::provision
