// writeFileAtomic under kill -9: the file is always one whole version, and
// the temporaries of killed writers are removed by the next writer.
#include "common/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/process.hpp>

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace edgelab::provision {
namespace {

// A state.json-like document of about 256 KiB, so a write takes long enough
// to be killed in the middle of it.
std::string document(char tag) {
    std::string s = "{\"lab\": \"" + std::string(1, tag) + "\", \"processes\": [";
    for (int i = 0; i < 4000; ++i) {
        if (i) s += ",";
        s += "{\"name\": \"backend-" + std::to_string(i) + "\", \"pid\": " + std::to_string(i) +
             ", \"tag\": \"" + std::string(20, tag) + "\"}";
    }
    return s + "]}\n";
}

std::size_t temporariesIn(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        n += e.path().filename().string().find(".tmp-") != std::string::npos;
    return n;
}

// A rename over a symbolic link would replace the link with a plain file and
// leave the file it names as it was.
TEST(AtomicFile, ThroughASymlinkTheNamedFileIsWrittenAndTheLinkStays) {
    const edgelab::test::TempDir dir("atomic-symlink");
    fs::create_directories(dir / "real");
    writeFileAtomic(dir / "real" / "state.json", "old\n");
    fs::create_symlink("real/state.json", dir / "link.json");
    fs::create_symlink("link.json", dir / "link-of-link.json");
    writeFileAtomic(dir / "link-of-link.json", "new\n");
    EXPECT_TRUE(fs::is_symlink(dir / "link.json"));
    EXPECT_TRUE(fs::is_symlink(dir / "link-of-link.json"));
    EXPECT_EQ(readFile(dir / "real" / "state.json"), "new\n");
    // A link to a file not there yet: the file is created where it points.
    fs::create_symlink("real/later.json", dir / "dangling.json");
    writeFileAtomic(dir / "dangling.json", "created\n");
    EXPECT_TRUE(fs::is_symlink(dir / "dangling.json"));
    EXPECT_EQ(readFile(dir / "real" / "later.json"), "created\n");
    // A loop of links is an error naming the file, not a hang.
    fs::create_symlink("loop-b", dir / "loop-a");
    fs::create_symlink("loop-a", dir / "loop-b");
    try {
        writeFileAtomic(dir / "loop-a", "x");
        FAIL() << "wrote through a loop";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("loop-a"), std::string::npos) << e.what();
    }
}

TEST(AtomicFile, KillNineAtRandomMomentsLeavesOneWholeVersion) {
    const edgelab::test::TempDir dir("atomic-kill");
    const std::string a = document('a'), b = document('b');
    writeFileAtomic(dir / "a.src", a);
    writeFileAtomic(dir / "b.src", b);
    writeFileAtomic(dir / "state.json", a);

    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> moment(0, 20000);  // microseconds
    std::size_t leftBehind = 0;
    for (int i = 0; i < 100; ++i) {
        bp::child writer((fs::path(EDGELAB_BIN_DIR) / "edgelab-test-atomic-writer").string(),
                         (dir / "state.json").string(), (dir / "a.src").string(),
                         (dir / "b.src").string());
        std::this_thread::sleep_for(std::chrono::microseconds(moment(rng)));
        ASSERT_TRUE(writer.running()) << "the writer never stops by itself";
        ::kill(writer.id(), SIGKILL);
        writer.wait();
        const std::string now = readFile(dir / "state.json");
        ASSERT_TRUE(now == a || now == b)
            << "torn after kill " << i << ": " << now.size() << " bytes";
        leftBehind = std::max(leftBehind, temporariesIn(dir));
    }
    // The next writer cleans up whatever the killed ones left.
    writeFileAtomic(dir / "state.json", a);
    EXPECT_EQ(temporariesIn(dir), 0u) << "the worst kill left " << leftBehind;
    EXPECT_EQ(readFile(dir / "state.json"), a);
}

}  // namespace
}  // namespace edgelab::provision
