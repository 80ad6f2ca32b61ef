// A directory of its own for one test (or one suite), removed when it goes
// out of scope; kept when the running test failed (or EDGELAB_KEEP is set),
// so its logs can be read.
#pragma once

#include <filesystem>
#include <string_view>

namespace edgelab::test {

class TempDir {
  public:
    // Created by mkdtemp(3) under the system temporary directory, named
    // "edgelab-<purpose>-XXXXXX": unique across processes and reruns.
    explicit TempDir(std::string_view purpose);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    operator const std::filesystem::path&() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }
    std::string string() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

}  // namespace edgelab::test
