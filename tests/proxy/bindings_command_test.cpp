// `edgelab bindings` as real processes: concurrent writers serialise on the
// store's lock, and a writer killed at any moment leaves the old or the new
// store, never a torn one, and no temporary file for good.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/process.hpp>

#include "common/atomic_file.hpp"
#include "proxy/binding_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace edgelab::proxy {
namespace {

const fs::path kEdgelab = fs::path(EDGELAB_BIN_DIR) / "edgelab";
const std::string kHash = "0123456789ABCDEF0123456789ABCDEF01234567";

std::vector<std::string> addArgs(const fs::path& store, int i) {
    return {"bindings",
            "add",
            "--store",
            store.string(),
            "hostnameport=h" + std::to_string(i) + ".contoso.com:443",
            "certhash=" + kHash,
            "appid=" + std::string(kWapApplicationId)};
}

bp::child start(const std::vector<std::string>& args) {
    return bp::child(kEdgelab.string(), bp::args = args, bp::std_out > bp::null,
                     bp::std_err > bp::null);
}

std::vector<fs::path> temporaries(const fs::path& dir) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos)
            found.push_back(e.path());
    return found;
}

TEST(BindingsCommand, ConcurrentAddsAllLand) {
    const edgelab::test::TempDir dir("bindings-concurrent");
    const auto store = dir / "bindings.json";
    constexpr int kWriters = 40;
    std::vector<bp::child> writers;
    for (int i = 0; i < kWriters; ++i) writers.push_back(start(addArgs(store, i)));
    for (auto& w : writers) {
        w.wait();
        EXPECT_EQ(w.exit_code(), 0);
    }
    const auto loaded = loadBindingStore(store);
    ASSERT_EQ(loaded.bindings.size(), static_cast<std::size_t>(kWriters));
    std::set<std::string> hosts;
    for (const auto& b : loaded.bindings) hosts.insert(b.key.host);
    for (int i = 0; i < kWriters; ++i)
        EXPECT_TRUE(hosts.count("h" + std::to_string(i) + ".contoso.com")) << i;
}

// A store given through a symbolic link (a configuration-managed path, say):
// the file the link names gets the binding, and the link stays a link.
TEST(BindingsCommand, ThroughASymlinkTheLinkedStoreIsWritten) {
    const edgelab::test::TempDir dir("bindings-symlink");
    fs::create_directories(dir / "real");
    const auto real = dir / "real" / "bindings.json";
    const auto link = dir / "bindings.json";
    writeFileAtomic(real, "{\"bindings\": []}\n");
    fs::create_symlink("real/bindings.json", link);
    auto add = start(addArgs(link, 1));
    add.wait();
    EXPECT_EQ(add.exit_code(), 0);
    EXPECT_TRUE(fs::is_symlink(link));
    const auto loaded = loadBindingStore(real);
    ASSERT_EQ(loaded.bindings.size(), 1u);
    EXPECT_EQ(loaded.bindings[0].key.host, "h1.contoso.com");
    EXPECT_TRUE(temporaries(dir / "real").empty());
}

// Kills `edgelab bindings add` at random moments of its run (the range is one
// whole run, measured first) and checks the store after each kill.
TEST(BindingsCommand, KillNineAtRandomMomentsNeverTearsTheStore) {
    const edgelab::test::TempDir dir("bindings-kill");
    const auto store = dir / "bindings.json";
    const auto t0 = std::chrono::steady_clock::now();
    auto first = start(addArgs(store, 0));
    first.wait();
    ASSERT_EQ(first.exit_code(), 0);
    const auto oneRun = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);

    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<long> moment(0, oneRun.count() * 3 / 2);
    std::size_t previous = 1, killedMidway = 0;
    for (int i = 1; i <= 120; ++i) {
        auto writer = start(addArgs(store, i));
        std::this_thread::sleep_for(std::chrono::microseconds(moment(rng)));
        if (writer.running()) {  // still at work: killed in the middle
            ::kill(writer.id(), SIGKILL);
            ++killedMidway;
        }
        writer.wait();
        BindingStore now;
        ASSERT_NO_THROW(now = loadBindingStore(store)) << "after kill " << i;
        // The old store or the new one: one binding more at most.
        ASSERT_TRUE(now.bindings.size() == previous || now.bindings.size() == previous + 1)
            << now.bindings.size() << " after " << previous;
        previous = now.bindings.size();
    }
    EXPECT_GT(killedMidway, 0u);
    // A writer that runs to its end removes what killed writers left.
    auto last = start(addArgs(store, 1000));
    last.wait();
    EXPECT_EQ(last.exit_code(), 0);
    EXPECT_EQ(temporaries(dir), std::vector<fs::path>{});
    EXPECT_EQ(loadBindingStore(store).bindings.size(), previous + 1);
}

}  // namespace
}  // namespace edgelab::proxy
