#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

namespace edgelab::test {

TempDir::TempDir(std::string_view purpose) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("edgelab-" + std::string(purpose) + "-XXXXXX"))
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    if ((test != nullptr && test->result()->Failed()) || std::getenv("EDGELAB_KEEP") != nullptr) {
        std::cerr << "kept for diagnosis: " << path_.string() << "\n";
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace edgelab::test
