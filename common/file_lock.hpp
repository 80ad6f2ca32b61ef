// An exclusive flock(2) on a lock file, held for the object's life: released
// on close, and by the kernel when the holder is killed, so a crash never
// leaves it held. Writers of one file (the binding store, a run's CA) take
// the same lock file and so go one at a time, across processes.
#pragma once

#include <filesystem>

namespace edgelab {

class ExclusiveFileLock {
  public:
    // Creates `lockFile` if missing and waits for the lock. Throws
    // std::runtime_error naming the file and the system's reason.
    explicit ExclusiveFileLock(const std::filesystem::path& lockFile);
    ~ExclusiveFileLock();
    ExclusiveFileLock(const ExclusiveFileLock&) = delete;
    ExclusiveFileLock& operator=(const ExclusiveFileLock&) = delete;

  private:
    int fd_ = -1;
};

}  // namespace edgelab
