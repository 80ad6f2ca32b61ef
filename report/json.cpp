#include <cmath>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/utc_time.hpp"
#include "report/report.hpp"

namespace edgelab::report {

namespace {

using nlohmann::ordered_json;

double millis(double seconds) { return std::round(seconds * 1000.0) / 1000.0; }

ordered_json handshakeJson(const HandshakeFacts& h) {
    ordered_json j;
    j["id"] = h.probe;
    j["address"] = h.address;
    j["sni"] = h.sni ? ordered_json(*h.sni) : ordered_json(nullptr);
    j["profile"] = h.profile;
    j["outcome"] = h.outcome;
    j["durationSeconds"] = millis(h.seconds);
    if (h.certificate)
        j["certificate"] = {{"thumbprint", h.certificate->thumbprint},
                            {"subject", h.certificate->subject},
                            {"issuer", h.certificate->issuer},
                            {"notAfter", utcSeconds(h.certificate->notAfter)}};
    return j;
}

// "probes" and "applications": added to schema version 1 (optional fields),
// written only when the run gathered evidence.
void addFacts(ordered_json& doc, const ReportFacts& f) {
    if (f.empty()) return;
    ordered_json tls = ordered_json::array(), http = ordered_json::array(),
                 signin = ordered_json::array(), apps = ordered_json::array();
    for (const auto& h : f.handshakes) tls.push_back(handshakeJson(h));
    for (const auto& x : f.exchanges) {
        ordered_json j{{"id", x.probe}, {"url", x.url}, {"status", x.status}};
        if (!x.location.empty()) j["location"] = x.location;
        http.push_back(std::move(j));
    }
    for (const auto& s : f.signins) {
        ordered_json steps = ordered_json::array();
        for (const auto& st : s.steps)
            steps.push_back(ordered_json{
                {"name", st.name}, {"status", st.status}, {"durationSeconds", millis(st.seconds)}});
        signin.push_back(ordered_json{{"id", s.probe}, {"steps", std::move(steps)}});
    }
    for (const auto& a : f.applications)
        apps.push_back(ordered_json{
            {"name", a.name}, {"externalUrl", a.externalUrl}, {"backendUrl", a.backendUrl}});
    doc["probes"] = {
        {"tls", std::move(tls)}, {"http", std::move(http)}, {"signin", std::move(signin)}};
    doc["applications"] = std::move(apps);
}

}  // namespace

// The schema is documented in report/README.md; bump
// schemaVersion on any change that is not a new optional field.
std::string jsonText(const Report& r) {
    Counts c = countOf(r);
    ordered_json doc;
    doc["schemaVersion"] = kSchemaVersion;
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
    addFacts(doc, r.facts);
    return doc.dump(2) + "\n";
}

void writeJson(const std::filesystem::path& file, const Report& r) {
    writeFileAtomic(file, jsonText(r));
}

}  // namespace edgelab::report
