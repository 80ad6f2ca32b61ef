#include "runner/data_disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "common/remedies.hpp"
#include "provision/powershell.hpp"

namespace edgelab::runner {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + std::strerror(errno));
}

std::string fixed(double v, int digits) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(digits);
    s << v;
    return s.str();
}

}  // namespace

DiskMeasurement measureWriteThrough(const std::filesystem::path& image, std::uint64_t imageBytes,
                                    const WriteThroughSample& sample) {
    DiskMeasurement m;
    m.image = image;
    m.imageBytes = imageBytes;
    int fd = ::open(image.c_str(), O_RDWR | O_CREAT | O_DSYNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot open data disk image", image);
    if (::ftruncate(fd, static_cast<off_t>(imageBytes)) != 0) {
        ::close(fd);
        fail("cannot size data disk image", image);
    }
    std::vector<char> block(sample.blockBytes, '\x5a');
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t limit = std::min(sample.maxBytes, imageBytes);
    while (m.bytesWritten < limit) {
        std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), limit - m.bytesWritten));
        ssize_t w = ::pwrite(fd, block.data(), n, static_cast<off_t>(m.bytesWritten));
        if (w < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            fail("cannot write data disk image", image);
        }
        m.bytesWritten += static_cast<std::uint64_t>(w);
        if (std::chrono::steady_clock::now() - start >= sample.maxTime) break;
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct stat st {};
    if (::fstat(fd, &st) == 0) m.allocatedBytes = static_cast<std::uint64_t>(st.st_blocks) * 512;
    ::close(fd);
    m.mbPerSec = m.seconds > 0 ? static_cast<double>(m.bytesWritten) / 1e6 / m.seconds : 0;
    return m;
}

Finding evaluateDataDisk(const provision::DataDisk& disk, double measuredMBps) {
    Finding f;
    f.id = "disk.write-through";
    f.title = "The databases can be created on the data disk within the installer's timeout (S8)";
    f.ns = "data disk " + disk.path;
    f.lesson = "S8";
    std::vector<provision::Database> dbs = disk.databases;
    if (dbs.empty()) dbs.push_back({"rtcxds", 4, 4});
    std::string names;
    double databaseGB = 0;  // every database's data and log files
    for (const auto& db : dbs) {
        databaseGB += db.dataGB + db.logGB;
        names += (names.empty() ? "" : ", ") + db.name + " " + fixed(db.dataGB, 0) + " GB + " +
                 fixed(db.logGB, 0) + " GB log";
    }
    // The modelled creation time at the measured rate.
    const double predictedSeconds =
        measuredMBps > 0 ? databaseGB * 1000.0 / measuredMBps : INFINITY;
    const std::string rate = fixed(measuredMBps, 1) + " MB/s write-through measured";
    const std::string timeout = std::to_string(disk.installerTimeoutSec) + " s installer timeout";
    const std::string remedy =
        remedyText(f.id, "", {{"command", provision::installDatabasesCommand(disk)}});

    if (disk.hostCache == provision::HostCache::ReadWrite) {
        f.verdict = Verdict::Fail;
        f.evidence = "host cache ReadWrite on " + disk.path + ": " + names +
                     " are created through a write-back cache on network storage that SQL's "
                     "write-through writes wait on; the seed's install timed out after " +
                     std::to_string(disk.installerTimeoutSec / 60) +
                     " minutes (InstallDatabaseInternalFailure: Timeout expired) (" + rate +
                     " on the lab image, not used: the cache, not the disk, is the failure)";
        f.remedy = remedy;
        return f;
    }
    if (disk.sizeGB < databaseGB) {
        f.verdict = Verdict::Fail;
        f.evidence = "data disk " + fixed(disk.sizeGB, 0) + " GB cannot hold " + names + " (" +
                     fixed(databaseGB, 0) + " GB)";
        f.remedy = remedy;
        return f;
    }
    const bool within = predictedSeconds <= disk.installerTimeoutSec;
    f.verdict = within ? Verdict::Pass : Verdict::Fail;
    f.evidence = "host cache " + provision::to_string(disk.hostCache) + ": " + names + " = " +
                 fixed(databaseGB, 0) + " GB at " + rate + " -> about " +
                 fixed(predictedSeconds, 0) + " s, " + (within ? "within" : "beyond") + " the " +
                 timeout;
    if (!within) f.remedy = remedy;
    return f;
}

}  // namespace edgelab::runner
