#include "golden.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

#include "common/atomic_file.hpp"

namespace edgelab::test {

std::filesystem::path goldenPath(const std::filesystem::path& fromRoot) {
    return std::filesystem::path(EDGELAB_SOURCE_DIR) / fromRoot;
}

void expectGolden(const std::string& actual, const std::filesystem::path& fromRoot) {
    const auto file = goldenPath(fromRoot);
    if (std::getenv("EDGELAB_UPDATE_GOLDEN")) {
        std::filesystem::create_directories(file.parent_path());
        writeFileAtomic(file, actual);
    }
    ASSERT_TRUE(std::filesystem::exists(file))
        << "no golden file " << file << "; run the test with EDGELAB_UPDATE_GOLDEN=1 to write it";
    EXPECT_EQ(actual, readFile(file))
        << "golden " << file << " (EDGELAB_UPDATE_GOLDEN=1 rewrites it)";
}

}  // namespace edgelab::test
