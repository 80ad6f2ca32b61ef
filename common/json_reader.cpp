#include "common/json_reader.hpp"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "common/matching.hpp"

namespace edgelab {

using json = nlohmann::json;

std::string describeJsonErrors(std::string_view source, const std::vector<JsonError>& errors) {
    std::string text = source.empty() ? "" : std::string(source) + ": ";
    if (errors.size() == 1) return text + errors.front().str();
    text += std::to_string(errors.size()) + " errors";
    for (const auto& e : errors) text += "\n  " + e.str();
    return text;
}

std::string describeJsonValue(const json& v) {
    std::string d = v.dump();
    if (d.size() > 60) d = d.substr(0, 57) + "...";
    switch (v.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::null:
            return "null";
        default:
            return d;
    }
}

std::string nearestKey(std::string_view key, const std::set<std::string, std::less<>>& known) {
    std::string best;
    std::size_t bestDistance = 3;
    for (const auto& k : known) {
        const auto d = editDistance(key, k);
        if (d < bestDistance || (d == bestDistance && best.empty() && d <= 2)) {
            if (d <= std::max<std::size_t>(2, k.size() / 4)) {
                best = k;
                bestDistance = d;
            }
        }
    }
    return best;
}

JsonObjectReader::JsonObjectReader(const json& obj, std::string path,
                                   std::vector<JsonError>& errors)
    : obj_(obj), path_(std::move(path)), errors_(errors) {}

std::string JsonObjectReader::at(std::string_view key) const {
    return path_ + "/" + jsonPointerToken(key);
}

void JsonObjectReader::error(std::string_view key, std::string message) const {
    errors_.push_back({at(key), std::move(message)});
}

const json* JsonObjectReader::get(std::string_view key) {
    known_.emplace(key);
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(std::string(key));
    return it == obj_.end() ? nullptr : &*it;
}

std::optional<std::string> JsonObjectReader::string(std::string_view key, bool required) {
    const json* v = get(key);
    if (!v) {
        if (required) error(key, "required, expected a string");
        return std::nullopt;
    }
    if (!v->is_string()) {
        error(key, "expected a string, got " + describeJsonValue(*v));
        return std::nullopt;
    }
    return v->get<std::string>();
}

std::optional<bool> JsonObjectReader::boolean(std::string_view key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
        error(key, "expected true or false, got " + describeJsonValue(*v));
        return std::nullopt;
    }
    return v->get<bool>();
}

std::optional<double> JsonObjectReader::number(std::string_view key, double min, double max) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
        error(key, "expected a number, got " + describeJsonValue(*v));
        return std::nullopt;
    }
    const double d = v->get<double>();
    if (d < min || d > max) {
        std::ostringstream m;
        m << "expected a number from " << min << " to " << max << ", got " << v->dump();
        error(key, m.str());
        return std::nullopt;
    }
    return d;
}

std::optional<int> JsonObjectReader::integer(std::string_view key, int min, int max,
                                             bool required) {
    const json* v = get(key);
    if (!v) {
        if (required) error(key, "required, expected a whole number");
        return std::nullopt;
    }
    const bool tooBig = v->is_number_unsigned() && v->get<std::uint64_t>() > std::uint64_t(max);
    if (!v->is_number_integer()) {
        error(key, "expected a whole number, got " + describeJsonValue(*v));
        return std::nullopt;
    }
    const auto i = v->get<long long>();
    if (tooBig || i < min || i > max) {
        error(key, "expected a whole number from " + std::to_string(min) + " to " +
                       std::to_string(max) + ", got " + v->dump());
        return std::nullopt;
    }
    return static_cast<int>(i);
}

std::optional<std::uint64_t> JsonObjectReader::count(std::string_view key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    // A document built in memory keeps a non-negative integer as signed.
    const bool ok =
        v->is_number_unsigned() || (v->is_number_integer() && v->get<std::int64_t>() >= 0);
    if (!ok) {
        error(key, "expected a non-negative whole number, got " + describeJsonValue(*v));
        return std::nullopt;
    }
    return v->get<std::uint64_t>();
}

std::vector<std::string> JsonObjectReader::strings(std::string_view key) {
    std::vector<std::string> out;
    const json* v = get(key);
    if (!v) return out;
    if (!v->is_array()) {
        error(key, "expected an array of strings, got " + describeJsonValue(*v));
        return out;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string())
            errors_.push_back({at(key) + "/" + std::to_string(i),
                               "expected a string, got " + describeJsonValue((*v)[i])});
        else
            out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

const json* JsonObjectReader::object(std::string_view key, bool required) {
    const json* v = get(key);
    if (!v) {
        if (required) error(key, "required, expected an object");
        return nullptr;
    }
    if (!v->is_object()) {
        error(key, "expected an object, got " + describeJsonValue(*v));
        return nullptr;
    }
    return v;
}

const json* JsonObjectReader::array(std::string_view key, bool required) {
    const json* v = get(key);
    if (!v) {
        if (required) error(key, "required, expected an array");
        return nullptr;
    }
    if (!v->is_array()) {
        error(key, "expected an array, got " + describeJsonValue(*v));
        return nullptr;
    }
    return v;
}

std::string JsonObjectReader::choiceError(const std::string& got,
                                          const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    std::string m = "expected one of " + list + ", got \"" + got + "\"";
    for (const auto& n : names)
        if (editDistance(got, n) <= 1 + n.size() / 4) return m + " (did you mean \"" + n + "\"?)";
    return m;
}

void JsonObjectReader::finish() {
    if (!obj_.is_object()) return;
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
        if (known_.count(it.key())) continue;
        std::string m = "unknown key";
        if (auto best = nearestKey(it.key(), known_); !best.empty())
            m += " (did you mean \"" + best + "\"?)";
        errors_.push_back({at(it.key()), m});
    }
}

bool isJsonObject(const json& v, const std::string& path, std::vector<JsonError>& errors) {
    if (v.is_object()) return true;
    errors.push_back({path, "expected an object, got " + describeJsonValue(v)});
    return false;
}

}  // namespace edgelab
