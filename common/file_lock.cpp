#include "common/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace edgelab {

ExclusiveFileLock::ExclusiveFileLock(const std::filesystem::path& lockFile) {
    fd_ = ::open(lockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw std::runtime_error("cannot open the lock " + lockFile.string() + ": " +
                                 std::strerror(errno));
    }
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd_);
        throw std::runtime_error("cannot lock " + lockFile.string() + ": " + std::strerror(err));
    }
}

ExclusiveFileLock::~ExclusiveFileLock() { ::close(fd_); }

}  // namespace edgelab
