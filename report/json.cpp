#include <cmath>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/utc_time.hpp"
#include "report/report.hpp"

namespace edgelab::report {

// The schema is documented in report/README.md; bump
// schemaVersion on any change that is not a new optional field.
std::string jsonText(const Report& r) {
    using nlohmann::ordered_json;
    Counts c = countOf(r);
    ordered_json doc;
    doc["schemaVersion"] = 1;
    doc["lab"] = r.labName;
    doc["startedAt"] = utcSeconds(r.started);
    doc["durationSeconds"] = std::round(r.seconds * 1000.0) / 1000.0;
    // What the run means: a consumer need not re-judge the lab's expectations.
    doc["outcome"] = outcomeOf(r);
    doc["summary"] = {{"total", c.total},      {"passed", c.passed}, {"failed", c.failed},
                      {"skipped", c.skipped},  {"warned", c.warned}, {"blocked", c.blocked},
                      {"expected", c.expected}};
    ordered_json results = ordered_json::array();
    for (auto& x : r.results) {
        ordered_json j;
        j["id"] = x.id;
        j["title"] = x.title;
        j["namespace"] = x.ns;
        j["verdict"] = checks::to_string(x.verdict);
        j["expected"] = isExpected(r, x);
        j["evidence"] = x.evidence;
        j["remedy"] = x.remedy;
        if (x.verdict == checks::Verdict::Blocked) j["blockedBy"] = x.blockedBy;
        j["durationSeconds"] = std::round(x.seconds * 1000.0) / 1000.0;
        results.push_back(std::move(j));
    }
    doc["results"] = std::move(results);
    return doc.dump(2) + "\n";
}

void writeJson(const std::filesystem::path& file, const Report& r) {
    writeFileAtomic(file, jsonText(r));
}

}  // namespace edgelab::report
