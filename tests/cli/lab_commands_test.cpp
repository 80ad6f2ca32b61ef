#include "cli/lab_commands.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgelab::cli {
namespace {

TEST(Shard, DeterministicByFileNameAndCoversEveryLabOnce) {
    std::vector<std::string> files = {"x/c.json", "y/a.json", "b.json", "d.json", "e.json"};
    EXPECT_EQ(selectShard(files, ""),
              (std::vector<std::string>{"y/a.json", "b.json", "x/c.json", "d.json", "e.json"}));
    auto s1 = selectShard(files, "1/2"), s2 = selectShard(files, "2/2");
    EXPECT_EQ(s1, (std::vector<std::string>{"y/a.json", "x/c.json", "e.json"}));
    EXPECT_EQ(s2, (std::vector<std::string>{"b.json", "d.json"}));
    std::reverse(files.begin(), files.end());
    EXPECT_EQ(selectShard(files, "1/2"), s1);  // order of the arguments does not matter
    EXPECT_THROW(selectShard(files, "0/2"), std::invalid_argument);
    EXPECT_THROW(selectShard(files, "3/2"), std::invalid_argument);
    EXPECT_THROW(selectShard(files, "1-2"), std::invalid_argument);
    EXPECT_THROW(selectShard(files, "1/2x"), std::invalid_argument);
}

}  // namespace
}  // namespace edgelab::cli
