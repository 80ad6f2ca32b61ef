#include "proxy/binding_store.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "tests/support/golden.hpp"
#include "tests/support/temp_dir.hpp"

namespace edgelab::proxy {
namespace {

namespace fs = std::filesystem;

const std::string kHashA = "0123456789ABCDEF0123456789ABCDEF01234567";
const std::string kHashB = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";

BindingKey host(std::string name, std::uint16_t port = 443) {
    return {BindingKind::HostnamePort, std::move(name), port};
}
BindingKey ip(std::string addr, std::uint16_t port = 443) {
    return {BindingKind::IpPort, std::move(addr), port};
}

BindingStore labStore() {
    BindingStore s;
    s.bindings.push_back({host("lyncws.contoso.com"), kHashA, std::string(kWapApplicationId)});
    s.bindings.push_back({host("owas.contoso.com"), kHashA, std::string(kWapApplicationId)});
    return s;
}

TEST(SelectBinding, SniPicksTheHostnameBinding) {
    auto store = labStore();
    auto r = selectBinding(store, "LyncWS.contoso.com", "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->key, host("lyncws.contoso.com"));
}

TEST(SelectBinding, UnknownSniIsRefused) {
    auto r = selectBinding(labStore(), "other.contoso.com", "127.4.0.1", 443);
    EXPECT_EQ(r.binding, nullptr);
    EXPECT_EQ(r.reason, NoBindingReason::UnknownSni);
}

// HTTP.sys's order, case by case: hostname:port by SNI, then IP:port for the
// listener's address, then 0.0.0.0, else refused.
BindingStore storeWithDefaults() {
    auto store = labStore();
    store.bindings.push_back({ip("0.0.0.0"), kHashB, std::string(kWapApplicationId)});
    return store;
}

TEST(SelectBindingOrder, ExactNameWinsOverTheDefault) {
    const auto store = storeWithDefaults();
    auto r = selectBinding(store, "owas.contoso.com", "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->key, host("owas.contoso.com"));
}

TEST(SelectBindingOrder, NameMatchIgnoresAsciiCase) {
    const auto store = storeWithDefaults();
    auto r = selectBinding(store, "OWAS.Contoso.COM", "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->key, host("owas.contoso.com"));
}

TEST(SelectBindingOrder, TrailingDotMatchesNoHostnameAndFallsBackToIpPort) {
    const auto store = storeWithDefaults();
    auto r = selectBinding(store, "owas.contoso.com.", "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->key, ip("0.0.0.0"));
    EXPECT_EQ(selectBinding(labStore(), "owas.contoso.com.", "127.4.0.1", 443).binding, nullptr);
}

TEST(SelectBindingOrder, UnknownSniFallsBackToTheDefault) {
    const auto store = storeWithDefaults();
    auto r = selectBinding(store, "intranet.contoso.com", "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->certificateHash, kHashB);
}

TEST(SelectBindingOrder, UnknownSniTakesTheListenersAddressBeforeTheWildcard) {
    auto store = storeWithDefaults();
    store.bindings.push_back({ip("127.4.0.1"), kHashA, std::string(kWapApplicationId)});
    EXPECT_EQ(selectBinding(store, "x.contoso.com", "127.4.0.1", 443).binding->key,
              ip("127.4.0.1"));
    EXPECT_EQ(selectBinding(store, "x.contoso.com", "127.4.0.2", 443).binding->key, ip("0.0.0.0"));
}

TEST(SelectBindingOrder, NoMatchAnywhereIsRefusedWithTheReason) {
    auto store = storeWithDefaults();
    auto other = selectBinding(store, "x.contoso.com", "127.4.0.1", 8443);
    EXPECT_EQ(other.binding, nullptr);
    EXPECT_EQ(other.reason, NoBindingReason::UnknownSni);
    auto none = selectBinding(store, std::nullopt, "127.4.0.1", 8443);
    EXPECT_EQ(none.binding, nullptr);
    EXPECT_EQ(none.reason, NoBindingReason::NoSniNoDefault);
}

TEST(SelectBinding, SniOnAnotherPortIsRefused) {
    EXPECT_EQ(selectBinding(labStore(), "lyncws.contoso.com", "127.4.0.1", 4443).binding, nullptr);
}

TEST(SelectBinding, NoSniWithoutIpPortBindingIsRefused) {
    auto r = selectBinding(labStore(), std::nullopt, "127.4.0.1", 443);
    EXPECT_EQ(r.binding, nullptr);
    EXPECT_EQ(r.reason, NoBindingReason::NoSniNoDefault);
}

TEST(SelectBinding, NoSniUsesTheWildcard) {
    auto store = labStore();
    store.bindings.push_back({ip("0.0.0.0"), kHashB, std::string(kWapApplicationId)});
    auto r = selectBinding(store, std::nullopt, "127.4.0.1", 443);
    ASSERT_NE(r.binding, nullptr);
    EXPECT_EQ(r.binding->certificateHash, kHashB);
}

TEST(SelectBinding, SpecificAddressWinsOverWildcard) {
    auto store = labStore();
    store.bindings.push_back({ip("0.0.0.0"), kHashB, std::string(kWapApplicationId)});
    store.bindings.push_back({ip("127.4.0.1"), kHashA, std::string(kWapApplicationId)});
    EXPECT_EQ(selectBinding(store, std::nullopt, "127.4.0.1", 443).binding->certificateHash,
              kHashA);
    EXPECT_EQ(selectBinding(store, std::nullopt, "127.4.0.2", 443).binding->certificateHash,
              kHashB);
    EXPECT_EQ(selectBinding(store, std::nullopt, "127.4.0.1", 8443).binding, nullptr);
}

TEST(NetshShow, MatchesGolden) {
    auto store = labStore();
    store.bindings.push_back({ip("0.0.0.0"), kHashB, "{4dc3e181-e14b-4a21-b022-59fc669b0914}"});
    test::expectGolden(formatNetshShow(store), "tests/proxy/golden/netsh_show.txt");
}

TEST(NetshShow, ReadsItsOwnOutputBack) {
    auto store = labStore();
    store.bindings.push_back({ip("0.0.0.0"), kHashB, "{4dc3e181-e14b-4a21-b022-59fc669b0914}"});
    EXPECT_EQ(parseNetshShow(formatNetshShow(store)), store);
}

TEST(NetshShow, ReadsWindowsLineEndings) {
    std::string text = formatNetshShow(labStore());
    std::string crlf;
    for (char c : text) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    EXPECT_EQ(parseNetshShow(crlf), labStore());
}

TEST(NetshArguments, RoundTrip) {
    const std::vector<std::string> words{
        "hostnameport=lyncws.contoso.com:443", "certhash=" + kHashA,
        "appid={f955c070-e044-456c-ac00-e9e4275b3f04}", "certstorename=MY"};
    auto parsed = parseNetshArguments(words);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(formatNetshArguments(*parsed), words);
    auto again = parseNetshArguments(formatNetshArguments(*parsed));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->key, parsed->key);
}

TEST(NetshArguments, KeywordsAreCaseInsensitiveAndHashIsNormalised) {
    auto parsed =
        parseNetshArguments({"IPPORT=0.0.0.0:443",
                             "CertHash=" + std::string("01 23 45 67 89 ab cd ef 01 23 45 67 "
                                                       "89 ab cd ef 01 23 45 67"),
                             "AppId={F955C070-E044-456C-AC00-E9E4275B3F04}"});
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->key, ip("0.0.0.0"));
    EXPECT_EQ(*parsed->certhash, kHashA);
    EXPECT_EQ(*parsed->appid, "{f955c070-e044-456c-ac00-e9e4275b3f04}");
}

TEST(NetshArguments, ErrorsNameTheArgument) {
    EXPECT_NE(parseNetshArguments({"ipport=lyncws:443"}).error().find("IPv4"), std::string::npos);
    EXPECT_NE(parseNetshArguments({"ipport=0.0.0.0:99999"}).error().find("port"),
              std::string::npos);
    EXPECT_NE(parseNetshArguments({"ipport=0.0.0.0:443", "certhash=12"}).error().find("certhash"),
              std::string::npos);
    EXPECT_NE(parseNetshArguments({"ipport=0.0.0.0:443", "appid=abc"}).error().find("appid"),
              std::string::npos);
    EXPECT_NE(parseNetshArguments({"certhash=" + kHashA}).error().find("missing"),
              std::string::npos);
    EXPECT_NE(parseNetshArguments({"frob=1"}).error().find("frob"), std::string::npos);
}

TEST(StoreChanges, AddRefusesAnExistingKeyAndNeedsHashAndAppId) {
    auto args = parseNetshArguments({"hostnameport=lyncws.contoso.com:443", "certhash=" + kHashB,
                                     "appid={f955c070-e044-456c-ac00-e9e4275b3f04}"});
    auto r = addBinding(labStore(), *args);
    EXPECT_FALSE(r.store);
    EXPECT_NE(r.error.find("183"), std::string::npos);
    auto noHash = parseNetshArguments({"ipport=0.0.0.0:443"});
    EXPECT_NE(addBinding(labStore(), *noHash).error.find("certhash"), std::string::npos);
}

TEST(StoreChanges, AddThenDelete) {
    auto args = parseNetshArguments({"ipport=0.0.0.0:443", "certhash=" + kHashB,
                                     "appid={f955c070-e044-456c-ac00-e9e4275b3f04}"});
    auto added = addBinding(labStore(), *args);
    ASSERT_TRUE(added.store) << added.error;
    EXPECT_EQ(added.store->bindings.size(), 3u);
    EXPECT_EQ(added.store->find(ip("0.0.0.0"))->certificateStoreName, "MY");
    auto deleted = deleteBinding(*added.store, ip("0.0.0.0"));
    ASSERT_TRUE(deleted.store);
    EXPECT_EQ(*deleted.store, labStore());
    auto again = deleteBinding(*deleted.store, ip("0.0.0.0"));
    EXPECT_NE(again.error.find("Error: 2"), std::string::npos);
}

TEST(StoreChanges, SetDefaultCopiesHashAndAppIdFromTheMatchingHost) {
    auto store = labStore();
    store.bindings[1].certificateHash = kHashB;
    store.bindings[1].applicationId = "{11111111-2222-3333-4444-555555555555}";
    auto r = setDefaultBinding(store, "OWAS.contoso.com", ip("0.0.0.0"));
    ASSERT_TRUE(r.store) << r.error;
    const Binding* def = r.store->find(ip("0.0.0.0"));
    ASSERT_NE(def, nullptr);
    EXPECT_EQ(def->certificateHash, kHashB);
    EXPECT_EQ(def->applicationId, "{11111111-2222-3333-4444-555555555555}");
    // Running it again replaces, never duplicates.
    auto r2 = setDefaultBinding(*r.store, "lyncws.contoso.com", ip("0.0.0.0"));
    ASSERT_TRUE(r2.store);
    EXPECT_EQ(r2.store->bindings.size(), 3u);
    EXPECT_EQ(r2.store->find(ip("0.0.0.0"))->certificateHash, kHashA);
}

TEST(StoreChanges, SetDefaultWithoutAMatchingHostFails) {
    auto r = setDefaultBinding(labStore(), "meet.contoso.com", ip("0.0.0.0"));
    EXPECT_FALSE(r.store);
    EXPECT_NE(r.error.find("meet.contoso.com"), std::string::npos);
}

TEST(StoreFile, RoundTrips) {
    auto store = labStore();
    store.bindings.push_back({ip("127.4.0.1", 8443), kHashB, std::string(kWapApplicationId), ""});
    EXPECT_EQ(parseBindingStore(serializeBindingStore(store), "mem"), store);
}

TEST(StoreFile, MalformedNamesTheFileAndThePath) {
    try {
        parseBindingStore(R"({"bindings":[{"ipport":"0.0.0.0:443","certificateHash":"xyz",
                              "applicationId":"{f955c070-e044-456c-ac00-e9e4275b3f04}"}]})",
                          "/tmp/b.json");
        FAIL() << "accepted a bad hash";
    } catch (const BindingStoreError& e) {
        EXPECT_NE(std::string(e.what()).find("/tmp/b.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("/bindings/0/certificateHash"), std::string::npos);
    }
    EXPECT_THROW(parseBindingStore("{\"bindings\": [", "x"), BindingStoreError);
    EXPECT_THROW(parseBindingStore("{}", "x"), BindingStoreError);
    EXPECT_THROW(parseBindingStore(R"({"bindings":[{"ipport":"0.0.0.0:443","hostnameport":"a:1",
        "certificateHash":"0123456789ABCDEF0123456789ABCDEF01234567",
        "applicationId":"{f955c070-e044-456c-ac00-e9e4275b3f04}"}]})",
                                   "x"),
                 BindingStoreError);
}

class StoreOnDisk : public ::testing::Test {
  protected:
    edgelab::test::TempDir dir{"binding-store"};
};

TEST_F(StoreOnDisk, MissingFileIsRefusedUnlessTheCallerAllowsIt) {
    try {
        loadBindingStore(dir / "none.json");
        FAIL() << "a missing store was accepted";
    } catch (const BindingStoreError& e) {
        EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("none.json"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(loadBindingStore(dir / "none.json", MissingStore::Empty).bindings.empty());
}

TEST_F(StoreOnDisk, UpdateCreatesAMissingStoreAndLeavesItOnARefusedChange) {
    auto args = parseNetshArguments(
        {"ipport=0.0.0.0:443", "certhash=" + kHashA, "appid=" + std::string(kWapApplicationId)});
    ASSERT_TRUE(args);
    auto first = updateBindingStore(dir / "b.json",
                                    [&](const BindingStore& s) { return addBinding(s, *args); });
    ASSERT_TRUE(first.change.store);
    EXPECT_TRUE(first.before.bindings.empty());
    EXPECT_EQ(loadBindingStore(dir / "b.json").bindings.size(), 1u);
    const std::string written = readFile(dir / "b.json");
    auto again = updateBindingStore(dir / "b.json",
                                    [&](const BindingStore& s) { return addBinding(s, *args); });
    EXPECT_FALSE(again.change.store);
    EXPECT_NE(again.change.error.find("183"), std::string::npos);
    EXPECT_EQ(readFile(dir / "b.json"), written);
}

TEST_F(StoreOnDisk, TheNextWriterRemovesTemporariesOfDeadWriters) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ASSERT_GT(child, 0);
    ::waitpid(child, nullptr, 0);  // reaped: its pid names no process now
    const fs::path dead = dir / (".b.json.tmp-" + std::to_string(child) + "-1f");
    const fs::path alive = dir / (".b.json.tmp-" + std::to_string(::getppid()) + "-2f");
    std::ofstream(dead) << "{\"bind";
    std::ofstream(alive) << "{\"bind";
    saveBindingStore(dir / "b.json", labStore());
    EXPECT_FALSE(fs::exists(dead));
    EXPECT_TRUE(fs::exists(alive));  // a live writer's file is never touched
    EXPECT_EQ(loadBindingStore(dir / "b.json"), labStore());
}

TEST_F(StoreOnDisk, SaveThenLoad) {
    saveBindingStore(dir / "b.json", labStore());
    EXPECT_EQ(loadBindingStore(dir / "b.json"), labStore());
}

TEST_F(StoreOnDisk, TornWriteIsRefused) {
    saveBindingStore(dir / "b.json", labStore());
    const std::string full = serializeBindingStore(labStore());
    std::ofstream(dir / "b.json", std::ios::trunc) << full.substr(0, full.size() / 2);
    EXPECT_THROW(loadBindingStore(dir / "b.json"), BindingStoreError);
}

TEST_F(StoreOnDisk, CrashBeforeRenameLeavesTheOldStore) {
    // What writeFileAtomic leaves when killed before its rename: a temporary
    // beside the store, never the store itself.
    saveBindingStore(dir / "b.json", labStore());
    BindingStore next = labStore();
    next.bindings.pop_back();
    const std::string half = serializeBindingStore(next).substr(0, 20);
    std::ofstream(dir / ".b.json.tmp-1234-abcd") << half;
    EXPECT_EQ(loadBindingStore(dir / "b.json"), labStore());
    saveBindingStore(dir / "b.json", next);
    EXPECT_EQ(loadBindingStore(dir / "b.json"), next);
}

}  // namespace
}  // namespace edgelab::proxy
