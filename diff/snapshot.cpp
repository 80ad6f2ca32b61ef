// A JSON report read back into what a diff compares (report/README.md's
// schema), with nlohmann/json; every refusal names the JSON path.
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "diff/diff.hpp"
#include "report/report.hpp"

namespace edgelab::diff {

namespace {

using nlohmann::json;

// Reads fields and keeps the first problem met, naming its JSON path; what
// it cannot read it returns empty, and parseReport reports the problem.
struct Reader {
    std::string problem;

    void refuse(std::string why) {
        if (problem.empty()) problem = std::move(why);
    }
    std::string text(const json& obj, const std::string& key, const std::string& path,
                     bool required = true) {
        if (!obj.is_object()) {
            refuse(path + ": expected an object");
            return {};
        }
        if (!obj.contains(key) || obj.at(key).is_null()) {
            if (required) refuse(path + "/" + key + ": missing");
            return {};
        }
        const json& v = obj.at(key);
        if (!v.is_string()) {
            refuse(path + "/" + key + ": expected a string");
            return {};
        }
        return v.get<std::string>();
    }
    // The array at obj[key], or an empty one (and the problem) when it is not.
    const json& array(const json& obj, const std::string& key, const std::string& path) {
        static const json none = json::array();
        if (!obj.is_object() || !obj.contains(key)) {
            refuse(path + "/" + key + ": missing");
            return none;
        }
        if (!obj.at(key).is_array()) {
            refuse(path + "/" + key + ": expected an array");
            return none;
        }
        return obj.at(key);
    }
};

void readResults(Reader& in, const json& doc, Snapshot& s) {
    const json& results = in.array(doc, "results", "");
    for (std::size_t i = 0; i < results.size(); ++i) {
        const std::string path = "/results/" + std::to_string(i);
        const json& r = results[i];
        s.results.push_back({in.text(r, "id", path), in.text(r, "title", path, false),
                             in.text(r, "namespace", path, false), in.text(r, "verdict", path),
                             in.text(r, "evidence", path, false), in.text(r, "remedy", path, false),
                             in.text(r, "blockedBy", path, false)});
    }
}

// probes.tls[]: the handshake's outcome and the leaf certificate served:
// what the binding that answered holds.
void readHandshakes(Reader& in, const json& tls, Snapshot& s) {
    for (std::size_t i = 0; i < tls.size(); ++i) {
        const std::string path = "/probes/tls/" + std::to_string(i);
        auto& f = s.facts[in.text(tls[i], "id", path)];
        f["outcome"] = in.text(tls[i], "outcome", path, false);
        if (!tls[i].is_object() || !tls[i].contains("certificate")) continue;
        const json& c = tls[i]["certificate"];
        for (const char* k : {"thumbprint", "subject", "issuer", "notAfter"})
            f[std::string("certificate.") + k] = in.text(c, k, path + "/certificate", false);
    }
}

void readFacts(Reader& in, const json& doc, Snapshot& s) {
    if (doc.contains("probes")) {
        const json& probes = doc["probes"];
        if (probes.is_object() && probes.contains("tls"))
            readHandshakes(in, in.array(probes, "tls", "/probes"), s);
        if (probes.is_object() && probes.contains("http")) {
            const json& http = in.array(probes, "http", "/probes");
            for (std::size_t i = 0; i < http.size(); ++i) {
                const std::string path = "/probes/http/" + std::to_string(i);
                s.facts[in.text(http[i], "id", path)]["location"] =
                    in.text(http[i], "location", path, false);
            }
        }
    }
    if (doc.contains("applications")) {
        const json& apps = in.array(doc, "applications", "");
        for (std::size_t i = 0; i < apps.size(); ++i) {
            const std::string path = "/applications/" + std::to_string(i);
            s.facts["application:" + in.text(apps[i], "name", path)]["backendUrl"] =
                in.text(apps[i], "backendUrl", path, false);
        }
    }
}

Parsed<Snapshot> read(const json& doc) {
    if (!doc.is_object())
        return Parsed<Snapshot>::failure("expected a JSON object (an edgelab report)");
    if (!doc.contains("schemaVersion"))
        return Parsed<Snapshot>::failure("/schemaVersion: missing (not an edgelab report)");
    if (!doc["schemaVersion"].is_number_integer())
        return Parsed<Snapshot>::failure("/schemaVersion: expected an integer");
    Snapshot s;
    s.schemaVersion = doc["schemaVersion"].get<int>();
    if (s.schemaVersion != report::kSchemaVersion)
        return Parsed<Snapshot>::failure(
            "/schemaVersion: " + std::to_string(s.schemaVersion) +
            " is another schema version; this edgelab reads schema version " +
            std::to_string(report::kSchemaVersion) +
            " (rerun the checks with this edgelab, or diff with the edgelab that wrote the "
            "report)");
    Reader in;
    s.lab = in.text(doc, "lab", "");
    s.startedAt = in.text(doc, "startedAt", "", false);
    s.outcome = in.text(doc, "outcome", "", false);
    readResults(in, doc, s);
    readFacts(in, doc, s);
    if (!in.problem.empty()) return Parsed<Snapshot>::failure(in.problem);
    return s;
}

}  // namespace

Parsed<Snapshot> parseReport(std::string_view jsonText) {
    const auto doc = readJsonText(jsonText);
    if (!doc) return Parsed<Snapshot>::failure(doc.error());
    return read(*doc);
}

}  // namespace edgelab::diff
