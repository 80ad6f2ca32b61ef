#include "runner/data_disk.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

using namespace edgelab::runner;
namespace fs = std::filesystem;

TEST(DataDisk, ImageIsSparseAtTheLabsSizeAndTheRateIsMeasured) {
    const edgelab::test::TempDir dir("disk");
    WriteThroughSample sample;
    sample.maxBytes = 2ull << 20;  // tiny: the model, not the disk, is under test
    sample.blockBytes = 256 << 10;
    auto m = measureWriteThrough(dir / "data.img", 10ull << 30, sample);
    EXPECT_EQ(fs::file_size(dir / "data.img"), 10ull << 30);
    EXPECT_EQ(m.bytesWritten, 2ull << 20);
    EXPECT_LT(m.allocatedBytes, 1ull << 30);  // sparse: only the sample is on disk
    EXPECT_GT(m.mbPerSec, 0);
}

TEST(DataDisk, UnwritableImageNamesTheFile) {
    try {
        measureWriteThrough("/nonexistent-dir/data.img", 1 << 20);
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/data.img"), std::string::npos);
    }
}

TEST(DataDisk, NoCacheWithinTheTimeoutPasses) {
    edgelab::provision::DataDisk disk;       // 10 GB, None, rtcxds 4 + 4 by default
    auto v = evaluateDataDisk(disk, 100.0);  // 8000 MB / 100 MB/s = 80 s
    EXPECT_EQ(v.verdict, edgelab::Verdict::Pass) << v.evidence;
    EXPECT_EQ(v.id, "disk.write-through");
    EXPECT_EQ(v.ns, "data disk " + disk.path);
    EXPECT_EQ(v.remedy, "");
    // 8 GB of files, about 80 s at the rate.
    EXPECT_NE(v.evidence.find(" = 8 GB at 100.0 MB/s write-through measured -> about 80 s, within"),
              std::string::npos)
        << v.evidence;
}

TEST(DataDisk, SlowWriteThroughBeyondTheTimeoutFails) {
    edgelab::provision::DataDisk disk;
    auto v = evaluateDataDisk(disk, 10.0);  // 800 s > 600 s
    EXPECT_EQ(v.verdict, edgelab::Verdict::Fail);
    EXPECT_NE(v.evidence.find("beyond"), std::string::npos);
}

TEST(DataDisk, ReadWriteCacheFailsWithTheSeedsRemedy) {
    edgelab::provision::DataDisk disk;
    disk.hostCache = edgelab::provision::HostCache::ReadWrite;
    auto v = evaluateDataDisk(disk, 1000.0);  // fast disk: the cache still fails it
    EXPECT_EQ(v.verdict, edgelab::Verdict::Fail);
    EXPECT_NE(v.evidence.find("timed out"), std::string::npos);
    EXPECT_NE(v.remedy.find("Install-CsDatabase -LocalDatabases -DatabasePaths 'F:\\CsData'"),
              std::string::npos);
    EXPECT_NE(v.remedy.find("host cache None"), std::string::npos);
}

TEST(DataDisk, TooSmallADiskFails) {
    edgelab::provision::DataDisk disk;
    disk.sizeGB = 5;
    auto v = evaluateDataDisk(disk, 1000.0);
    EXPECT_EQ(v.verdict, edgelab::Verdict::Fail);
    EXPECT_NE(v.evidence.find("cannot hold"), std::string::npos);
}
