// The source tree, the built programs, and the seed lab
// (scenarios/labs/seed-lab.json): the lab most tests start from.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "provision/lab.hpp"
#include "provision/pki.hpp"
#include "tests/support/temp_dir.hpp"

namespace edgelab::test {

std::filesystem::path sourceDir();
std::filesystem::path binDir();
std::filesystem::path labsDir();  // scenarios/labs
std::filesystem::path seedLabFile();

// The seed lab as its file says it, to be changed by a test before parsing.
nlohmann::json seedLabJson();
provision::Lab seedLab();

// The errors parsing a lab document gives, as the lines a user reads (empty
// when it parses).
std::vector<std::string> labErrorsOf(const nlohmann::json& doc);

// A lab's PKI (root, issuing CA, proxy and backend certificates) in a
// temporary directory of its own.
struct TestPki {
    explicit TestPki(const provision::Lab& lab, std::string_view purpose = "pki");
    TempDir dir;
    provision::LabPki pki;
};

}  // namespace edgelab::test
