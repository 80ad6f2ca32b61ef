#include "audit/wap.hpp"

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/json_text.hpp"
#include "proxy/binding_store.hpp"

namespace edgelab::audit {

namespace {

using nlohmann::json;

class ObjectReader {
  public:
    ObjectReader(const json& object, std::string path, std::string_view source)
        : object_(object), path_(std::move(path)), source_(source) {}

    const json* find(std::string_view name) const {
        const std::string wanted = asciiLower(name);
        for (auto it = object_.begin(); it != object_.end(); ++it)
            if (asciiLower(it.key()) == wanted) return &it.value();
        return nullptr;
    }

    // PowerShell prints a missing string as null.
    std::string text(std::string_view name, std::string fallback = "") const {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        if (!v->is_string()) fail(name, "expected a string");
        return v->get<std::string>();
    }

    bool flag(std::string_view name) const {
        const json* v = find(name);
        if (!v || v->is_null()) return false;
        if (!v->is_boolean()) fail(name, "expected true or false");
        return v->get<bool>();
    }

    int number(std::string_view name, int fallback) const {
        const json* v = find(name);
        if (!v || v->is_null()) return fallback;
        if (!v->is_number_integer() || v->get<long long>() < 0 ||
            v->get<long long>() > 1'000'000'000)
            fail(name, "expected a whole number of seconds");
        return v->get<int>();
    }

    [[noreturn]] void fail(std::string_view name, const std::string& what) const {
        throw WapInputError(std::string(source_) + ": " + path_ + "/" + std::string(name) + ": " +
                            what);
    }

  private:
    const json& object_;
    std::string path_;
    std::string_view source_;
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
        if (asciiLower(k) == asciiLower(key)) return true;
    return false;
}

WapApplication applicationOf(const json& object, const std::string& path, std::string_view source) {
    if (!object.is_object())
        throw WapInputError(std::string(source) + ": " + (path.empty() ? "/" : path) +
                            ": expected an object (an application)");
    ObjectReader r(object, path, source);
    WapApplication a;
    a.name = r.text("Name");
    a.id = r.text("ID");
    a.externalUrl = r.text("ExternalUrl");
    a.backendServerUrl = r.text("BackendServerUrl");
    if (a.externalUrl.empty()) r.fail("ExternalUrl", "missing: every application has one");
    if (a.backendServerUrl.empty())
        r.fail("BackendServerUrl", "missing: every application has one");
    a.externalPreauthentication = r.text("ExternalPreauthentication", "ADFS");
    a.adfsRelyingPartyName = r.text("ADFSRelyingPartyName");
    const std::string thumb = r.text("ExternalCertificateThumbprint");
    a.externalCertificateThumbprint = proxy::normaliseThumbprint(thumb).value_or(thumb);
    a.backendServerCertificateValidation = r.text("BackendServerCertificateValidation", "None");
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

}  // namespace

std::vector<WapApplication> parseWapApplications(std::string_view text, std::string_view source) {
    auto parsed = readJsonText(text);
    if (!parsed) throw WapInputError(std::string(source) + ": " + parsed.error());
    const json& doc = *parsed;
    std::vector<WapApplication> apps;
    if (doc.is_array()) {
        for (std::size_t i = 0; i < doc.size(); ++i)
            apps.push_back(applicationOf(doc[i], "/" + std::to_string(i), source));
    } else {
        apps.push_back(applicationOf(doc, "", source));
    }
    return apps;
}

}  // namespace edgelab::audit
