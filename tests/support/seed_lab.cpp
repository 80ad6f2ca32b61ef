#include "tests/support/seed_lab.hpp"

#include <fstream>

namespace edgelab::test {

std::filesystem::path sourceDir() { return EDGELAB_SOURCE_DIR; }
std::filesystem::path binDir() { return EDGELAB_BIN_DIR; }
std::filesystem::path labsDir() { return sourceDir() / "scenarios/labs"; }
std::filesystem::path seedLabFile() { return labsDir() / "seed-lab.json"; }

nlohmann::json seedLabJson() {
    std::ifstream in(seedLabFile());
    return nlohmann::json::parse(in);
}

provision::Lab seedLab() { return provision::loadLab(seedLabFile()); }

TestPki::TestPki(const provision::Lab& lab, std::string_view purpose)
    : dir(purpose), pki(provision::provisionPki(lab, dir.path())) {}

std::vector<std::string> labErrorsOf(const nlohmann::json& doc) {
    try {
        provision::parseLab(doc, "lab.json");
    } catch (const provision::LabParseError& e) {
        std::vector<std::string> out;
        for (const auto& err : e.errors()) out.push_back(err.str());
        return out;
    }
    return {};
}

}  // namespace edgelab::test
