#include "audit/wap.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/json_text.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

namespace {

using nlohmann::json;

class ObjectReader {
  public:
    ObjectReader(const json& object, std::string path, std::string_view source,
                 std::vector<std::string>& notes)
        : object_(object), path_(std::move(path)), source_(source), notes_(notes) {}

    const json* find(std::string_view name) const {
        const std::string wanted = asciiLower(name);
        for (auto it = object_.begin(); it != object_.end(); ++it)
            if (asciiLower(it.key()) == wanted) return &it.value();
        return nullptr;
    }

    // A field the audit judges: a string, or absent (PowerShell prints a
    // missing string as null).
    std::string text(std::string_view name, std::string fallback = "") const {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        if (!v->is_string()) fail(name, "expected a string, got " + shown(*v));
        return v->get<std::string>();
    }

    // A field the audit never judges: a string, a number or true/false as
    // its text, a GUID object's "Guid"; anything else takes the fallback.
    std::string lenientText(std::string_view name, std::string fallback = "") {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        if (v->is_string()) return v->get<std::string>();
        if (v->is_number_integer() || v->is_boolean()) return v->dump();
        if (v->is_object())
            if (const json* g = v->contains("Guid") ? &(*v)["Guid"] : nullptr; g && g->is_string())
                return g->get<std::string>();
        note(name, shown(*v) + " is not text; " +
                       (fallback.empty() ? std::string("left empty") : fallback + " assumed"));
        return fallback;
    }

    // An enum PowerShell may print by name or, from a .NET enum, by number.
    // The CIM class documents names only (strings), so a number is kept as
    // "" (unknown) with a note, and what depends on it is not judged.
    std::string enumName(std::string_view name, std::string fallback) {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        if (v->is_string()) return v->get<std::string>();
        note(name, shown(*v) + " is not one of the documented names; not judged");
        return "";
    }

    bool flag(std::string_view name) {
        const json* v = find(name);
        if (!v || v->is_null()) return false;
        if (v->is_boolean()) return v->get<bool>();
        if (v->is_string() &&
            (iequals(v->get<std::string>(), "true") || iequals(v->get<std::string>(), "false")))
            return iequals(v->get<std::string>(), "true");
        if (v->is_number_integer() && (v->get<long long>() == 0 || v->get<long long>() == 1))
            return v->get<long long>() == 1;
        note(name, shown(*v) + " is not true or false; false (WAP's default) assumed");
        return false;
    }

    int number(std::string_view name, int fallback) {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        double d = -1;
        if (v->is_number()) d = v->get<double>();
        if (v->is_string()) {
            const std::string s = v->get<std::string>();
            if (!s.empty() && s.size() < 12 && s.find_first_not_of("0123456789") == s.npos)
                d = std::stod(s);
        }
        if (d >= 0 && d <= 1'000'000'000 && std::floor(d) == d) return static_cast<int>(d);
        note(name, shown(*v) + " is not a whole number of seconds; WAP's default " +
                       std::to_string(fallback) + " assumed");
        return fallback;
    }

    [[noreturn]] void fail(std::string_view name, const std::string& what) const {
        throw WapInputError(std::string(source_) + ": " + path_ + "/" + std::string(name) + ": " +
                            what);
    }

  private:
    static std::string shown(const json& v) {
        if (v.is_structured()) return std::string("an ") + v.type_name();
        std::string text = v.dump();
        return text.size() > 40 ? text.substr(0, 40) + "..." : text;
    }

    void note(std::string_view name, const std::string& what) {
        notes_.push_back(path_ + "/" + std::string(name) + ": " + what);
    }

    const json& object_;
    std::string path_;
    std::string_view source_;
    std::vector<std::string>& notes_;
};

const char* const kKnown[] = {"Name",
                              "ID",
                              "ExternalUrl",
                              "BackendServerUrl",
                              "ExternalPreauthentication",
                              "ADFSRelyingPartyName",
                              "ExternalCertificateThumbprint",
                              "BackendServerCertificateValidation",
                              "DisableTranslateUrlInRequestHeaders",
                              "DisableTranslateUrlInResponseHeaders",
                              "InactiveTransactionsTimeoutSec"};

bool isKnown(const std::string& key) {
    for (const char* k : kKnown)
        if (iequals(k, key)) return true;
    return false;
}

WapApplication applicationOf(const json& object, const std::string& path, std::string_view source,
                             std::vector<std::string>& notes) {
    if (!object.is_object())
        throw WapInputError(std::string(source) + ": " + (path.empty() ? "/" : path) +
                            ": expected an object (an application)");
    ObjectReader r(object, path, source, notes);
    WapApplication a;
    a.externalUrl = r.text("ExternalUrl");
    a.backendServerUrl = r.text("BackendServerUrl");
    if (a.externalUrl.empty()) r.fail("ExternalUrl", "missing: every application has one");
    if (a.backendServerUrl.empty())
        r.fail("BackendServerUrl", "missing: every application has one");
    const std::string thumb = r.text("ExternalCertificateThumbprint");
    a.externalCertificateThumbprint = proxy::normaliseThumbprint(thumb).value_or(thumb);
    a.name = r.lenientText("Name", a.externalUrl);
    a.id = r.lenientText("ID");
    a.externalPreauthentication = r.enumName("ExternalPreauthentication", "ADFS");
    a.adfsRelyingPartyName = r.lenientText("ADFSRelyingPartyName");
    a.backendServerCertificateValidation = r.enumName("BackendServerCertificateValidation", "None");
    if (a.backendServerCertificateValidation.empty()) a.backendServerCertificateValidation = "None";
    a.disableTranslateUrlInRequestHeaders = r.flag("DisableTranslateUrlInRequestHeaders");
    a.disableTranslateUrlInResponseHeaders = r.flag("DisableTranslateUrlInResponseHeaders");
    a.inactiveTransactionsTimeoutSec = r.number("InactiveTransactionsTimeoutSec", 300);
    for (auto it = object.begin(); it != object.end(); ++it)
        if (!isKnown(it.key()))
            // CimClass and the like nest deeply: their shape is enough.
            a.otherFields.emplace_back(it.key(), it.value().is_structured()
                                                     ? std::string(it.value().type_name())
                                                     : it.value().dump());
    return a;
}

// Windows PowerShell 5.1 prints an array piped whole as an object:
// {"value": [...], "Count": N}.
const json* wrapped(const json& doc) {
    if (!doc.is_object() || doc.size() != 2) return nullptr;
    const json* value = nullptr;
    bool count = false;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        if (iequals(it.key(), "value") && it.value().is_array()) value = &it.value();
        if (iequals(it.key(), "count") && it.value().is_number_integer()) count = true;
    }
    return count ? value : nullptr;
}

WapCapture fromJson(const json& doc, std::string_view source) {
    WapCapture out;
    const json* list = doc.is_array() ? &doc : wrapped(doc);
    if (list) {
        out.format = doc.is_array() ? "ConvertTo-Json (array)"
                                    : "ConvertTo-Json (Windows PowerShell 5.1 value/Count wrapper)";
        const std::string prefix = doc.is_array() ? "" : "/value";
        for (std::size_t i = 0; i < list->size(); ++i)
            out.applications.push_back(
                applicationOf((*list)[i], prefix + "/" + std::to_string(i), source, out.notes));
    } else {
        out.format = "ConvertTo-Json (one object)";
        out.applications.push_back(applicationOf(doc, "", source, out.notes));
    }
    return out;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool isIdentifier(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

// Format-Table's header rule: dashes in columns ("----  -----------").
bool isTableRule(std::string_view line) {
    const auto t = trimmed(line);
    return t.size() >= 3 && t.front() == '-' &&
           t.find_first_not_of("- ") == std::string_view::npos &&
           t.find(' ') != std::string_view::npos;
}

struct ListRecord {
    json object = json::object();
    std::size_t line = 0;
    std::string last;  // the field a continuation line extends
};

// `| Format-List`: records of "Name : value" lines parted by empty lines; a
// long value goes on over indented lines.
void refuseFormatTable(std::string_view text, std::string_view source) {
    std::size_t number = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        ++number;
        if (isTableRule(text.substr(pos, nl - pos)))
            throw WapInputError(std::string(source) + ": line " + std::to_string(number) +
                                ": Format-Table output, which cuts values to the column; capture "
                                "with Get-WebApplicationProxyApplication | ConvertTo-Json > "
                                "wap.json (or | Format-List)");
        pos = nl + 1;
    }
}

WapCapture fromFormatList(std::string_view text, std::string_view source) {
    refuseFormatTable(text, source);
    std::vector<ListRecord> records;
    std::size_t number = 0;
    bool open = false;
    for (std::size_t pos = 0; pos <= text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view raw = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++number;
        const auto line = trimmed(raw);
        if (line.empty()) {
            open = false;
            continue;
        }
        const auto colon = line.find(" :");
        const auto label = colon == std::string_view::npos ? "" : trimmed(line.substr(0, colon));
        if (isIdentifier(label)) {
            if (!open) records.push_back({json::object(), number, ""});
            open = true;
            records.back().object[std::string(label)] =
                std::string(trimmed(line.substr(colon + 2)));
            records.back().last = std::string(label);
        } else if (open) {
            auto& value = records.back().object[records.back().last];
            value = value.get<std::string>() + std::string(line);
        } else {
            throw WapInputError(std::string(source) + ": line " + std::to_string(number) +
                                ": expected 'Name : value' (Format-List) or JSON (ConvertTo-Json)");
        }
    }
    WapCapture out;
    out.format = "Format-List";
    for (std::size_t i = 0; i < records.size(); ++i)
        out.applications.push_back(applicationOf(
            records[i].object,
            "record " + std::to_string(i + 1) + " (line " + std::to_string(records[i].line) + ")",
            source, out.notes));
    return out;
}

}  // namespace

WapCapture parseWapCapture(std::string_view text, std::string_view source) {
    const auto start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos)
        throw WapInputError(std::string(source) + ": nothing to read (no JSON, no Format-List)");
    if (text[start] == '[' || text[start] == '{') {
        // common/json_text: a syntax error with its line and column, a number
        // too large for a double with its JSON path, never an exception.
        const auto parsed = readJsonText(text);
        if (!parsed) throw WapInputError(std::string(source) + ": " + parsed.error());
        return fromJson(*parsed, source);
    }
    return fromFormatList(text, source);
}

std::vector<WapApplication> parseWapApplications(std::string_view text, std::string_view source) {
    return parseWapCapture(text, source).applications;
}

}  // namespace edgelab::audit
