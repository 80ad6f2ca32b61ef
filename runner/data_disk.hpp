// The lab's data disk (S8): a file-backed image in the work folder, a
// measurement of write-through on it, and a model of the database creation
// that the seed saw time out. runner/README.md says what is measured and
// what is modelled.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/finding.hpp"
#include "provision/lab.hpp"

namespace edgelab::runner {

struct WriteThroughSample {
    std::uint64_t maxBytes = 16ull << 20;    // stop after this much ...
    std::chrono::milliseconds maxTime{500};  // ... or this long, whichever first
    std::uint64_t blockBytes = 1ull << 20;   // one write() per block, as SQL writes extents
};

struct DiskMeasurement {
    std::filesystem::path image;
    std::uint64_t imageBytes = 0;      // the image's apparent size (the lab's sizeGB)
    std::uint64_t allocatedBytes = 0;  // what the file system holds for it (sparse)
    std::uint64_t bytesWritten = 0;
    double seconds = 0;
    double mbPerSec = 0;  // MB = 10^6 bytes, as disk vendors and SQL's docs count
};

// Creates (or resizes) the sparse image with ftruncate and writes up to the
// sample's bound with O_DSYNC, each write returning only once the data is on
// stable storage: write-through, as SQL Server opens its files. Throws
// std::runtime_error naming the file and the reason.
DiskMeasurement measureWriteThrough(const std::filesystem::path& image, std::uint64_t imageBytes,
                                    const WriteThroughSample& sample = {});

// The model. Pure: the measured rate in, the finding disk.write-through out
// (common/finding.hpp: PASS or FAIL, the evidence with the databases' size
// and the predicted creation time, the remedy when it fails).
//  - hostCache None or ReadOnly: writes go straight through, so creating the
//    files takes size / measured rate; it fails when that exceeds the
//    installer's timeout or the files do not fit on the disk.
//  - hostCache ReadWrite: fails whatever the rate, with the seed's account:
//    the host acknowledges writes from its cache and flushes them to network
//    storage, SQL asks for write-through, and 8 GB of rtcxds files never
//    complete within the installer's 10 minutes.
Finding evaluateDataDisk(const provision::DataDisk& disk, double measuredMBps);

}  // namespace edgelab::runner
