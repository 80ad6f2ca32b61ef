// One way to compare what users read with a golden file kept in the source
// tree: `expectGolden(text, "tests/report/golden/report.json")`. Running a
// test with EDGELAB_UPDATE_GOLDEN=1 set rewrites the file (atomically)
// instead; read the diff before committing it.
#pragma once

#include <filesystem>
#include <string>

namespace edgelab::test {

// The golden file's path from the repository root.
std::filesystem::path goldenPath(const std::filesystem::path& fromRoot);

// Fails the running test unless `actual` is the golden file's text, byte for
// byte; a missing golden file is a failure that says how to create it.
void expectGolden(const std::string& actual, const std::filesystem::path& fromRoot);

}  // namespace edgelab::test
