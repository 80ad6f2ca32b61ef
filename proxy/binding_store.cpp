#include "proxy/binding_store.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
#include "common/file_lock.hpp"
#include "common/json_reader.hpp"
#include "common/json_text.hpp"
#include "proxy/netsh_show.hpp"

namespace edgelab::proxy {

namespace {

bool isGuidInBraces(std::string_view s) {
    // {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}
    if (s.size() != 38 || s.front() != '{' || s.back() != '}') return false;
    for (std::size_t i = 1; i < 37; ++i) {
        const bool dash = (i == 9 || i == 14 || i == 19 || i == 24);
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

std::string_view kindKeyword(BindingKind kind) {
    return kind == BindingKind::HostnamePort ? "hostnameport" : "ipport";
}

}  // namespace

std::string BindingKey::str() const { return host + ":" + std::to_string(port); }

Parsed<BindingKey> BindingKey::parse(BindingKind kind, std::string_view text) {
    auto fail = [&](const std::string& why) {
        return Parsed<BindingKey>::failure(std::string(kindKeyword(kind)) + "=" +
                                           std::string(text) + ": " + why);
    };
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return fail("expected HOST:PORT");
    const std::string_view host = text.substr(0, colon);
    const std::string_view portText = text.substr(colon + 1);
    const auto port = parsePort(portText);
    if (!port) return fail(port.error());
    BindingKey key{kind, asciiLower(host), *port};
    if (kind == BindingKind::IpPort) {
        in_addr addr{};
        if (::inet_pton(AF_INET, key.host.c_str(), &addr) != 1) {
            return fail("expected an IPv4 address (0.0.0.0 for every address)");
        }
    } else {
        for (char c : key.host) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                  c == '*')) {
                return fail("not a host name");
            }
        }
    }
    return key;
}

const Binding* BindingStore::find(const BindingKey& key) const {
    for (const auto& b : bindings) {
        if (b.key == key) return &b;
    }
    return nullptr;
}

std::string_view describe(NoBindingReason reason) {
    switch (reason) {
        case NoBindingReason::NoSniNoDefault:
            return "no SNI and no IP:port (default) binding";
        case NoBindingReason::UnknownSni:
            return "no hostname:port binding for the SNI name and no IP:port (default) binding";
    }
    return "no binding";
}

BindingLookup selectBinding(const BindingStore& store, std::optional<std::string_view> sni,
                            std::string_view listenerAddress, std::uint16_t publishedPort) {
    if (sni) {
        if (const Binding* b = store.find(
                BindingKey{BindingKind::HostnamePort, asciiLower(*sni), publishedPort})) {
            return {b, NoBindingReason::UnknownSni};
        }
    }
    const auto reason = sni ? NoBindingReason::UnknownSni : NoBindingReason::NoSniNoDefault;
    if (const Binding* b = store.find(
            BindingKey{BindingKind::IpPort, std::string(listenerAddress), publishedPort})) {
        return {b, reason};
    }
    return {store.find(BindingKey{BindingKind::IpPort, "0.0.0.0", publishedPort}), reason};
}

std::string formatNetshShow(const BindingStore& store) {
    std::ostringstream out;
    out << "\nSSL Certificate bindings:\n-------------------------\n\n";
    auto field = [&](std::string_view label, std::string_view value) {
        out << formatNetshField(label, value) << "\n";
    };
    for (const auto& b : store.bindings) {
        field(netshKeyLabel(b.key.kind == BindingKind::HostnamePort ? NetshKeyKind::HostnamePort
                                                                    : NetshKeyKind::IpPort),
              b.key.str());
        // netsh prints the hash in lower case.
        field("Certificate Hash", asciiLower(b.certificateHash));
        field("Application ID", b.applicationId);
        field("Certificate Store Name",
              b.certificateStoreName.empty() ? "(null)" : b.certificateStoreName);
        field("Verify Client Certificate Revocation", "Enabled");
        field("Verify Revocation Using Cached Client Certificate Only", "Disabled");
        field("Usage Check", "Enabled");
        field("Revocation Freshness Time", "0");
        field("URL Retrieval Timeout", "0");
        field("Ctl Identifier", "(null)");
        field("Ctl Store Name", "(null)");
        field("DS Mapper Usage", "Disabled");
        field("Negotiate Client Certificate", "Disabled");
        out << "\n";
    }
    return out.str();
}

Parsed<Binding> bindingOf(const NetshEntry& entry) {
    if (entry.kind == NetshKeyKind::CentralCertificateStore)
        return Parsed<Binding>::failure("a Central Certificate Store binding is not emulated");
    const auto kind =
        entry.kind == NetshKeyKind::IpPort ? BindingKind::IpPort : BindingKind::HostnamePort;
    auto key = BindingKey::parse(kind, entry.key);
    if (!key) return Parsed<Binding>::failure(key.error());
    const std::string* hash = entry.field("Certificate Hash");
    auto thumbprint = hash ? normaliseThumbprint(*hash) : std::nullopt;
    if (!thumbprint) return Parsed<Binding>::failure(entry.key + ": no readable Certificate Hash");
    const std::string* appid = entry.field("Application ID");
    const std::string* storeName = entry.field("Certificate Store Name");
    Binding b{*key, *thumbprint, appid ? asciiLower(*appid) : "",
              storeName && *storeName != "(null)" ? *storeName : ""};
    return b;
}

BindingStore parseNetshShow(std::string_view text) {
    const auto show = parseNetshText(decodeCapturedText(text).utf8);
    BindingStore store;
    for (const auto& entry : show.entries) {
        auto b = bindingOf(entry);
        if (b && !store.find(b->key)) store.bindings.push_back(std::move(*b));
    }
    return store;
}

Parsed<NetshArguments> parseNetshArguments(const std::vector<std::string>& words) {
    using Failure = Parsed<NetshArguments>;
    NetshArguments args;
    bool haveKey = false;
    for (const auto& word : words) {
        const auto eq = word.find('=');
        if (eq == std::string::npos) {
            return Failure::failure("expected keyword=value, got '" + word + "'");
        }
        const std::string keyword = asciiLower(word.substr(0, eq));
        const std::string value = word.substr(eq + 1);
        if (keyword == "hostnameport" || keyword == "ipport") {
            if (haveKey) return Failure::failure("give one of hostnameport= or ipport=, once");
            auto key = BindingKey::parse(
                keyword == "ipport" ? BindingKind::IpPort : BindingKind::HostnamePort, value);
            if (!key) return Failure::failure(key.error());
            args.key = *key;
            haveKey = true;
        } else if (keyword == "certhash") {
            auto hash = normaliseThumbprint(value);
            if (!hash) return Failure::failure("certhash=" + value + ": expected 40 hex digits");
            args.certhash = *hash;
        } else if (keyword == "appid") {
            if (!isGuidInBraces(value)) {
                return Failure::failure("appid=" + value + ": expected a GUID in braces, {...}");
            }
            args.appid = asciiLower(value);
        } else if (keyword == "certstorename") {
            if (value.empty()) return Failure::failure("certstorename= needs a name");
            args.certstorename = value;
        } else {
            return Failure::failure("unknown keyword '" + keyword +
                                    "' (expected hostnameport, ipport, certhash, appid, "
                                    "certstorename)");
        }
    }
    if (!haveKey) return Failure::failure("missing hostnameport=NAME:PORT or ipport=ADDR:PORT");
    return args;
}

std::vector<std::string> formatNetshArguments(const NetshArguments& a) {
    std::vector<std::string> words{std::string(kindKeyword(a.key.kind)) + "=" + a.key.str()};
    if (a.certhash) words.push_back("certhash=" + *a.certhash);
    if (a.appid) words.push_back("appid=" + *a.appid);
    if (a.certstorename) words.push_back("certstorename=" + *a.certstorename);
    return words;
}

StoreChange addBinding(const BindingStore& store, const NetshArguments& a) {
    if (!a.certhash) return {std::nullopt, "add needs certhash="};
    if (!a.appid) return {std::nullopt, "add needs appid={...}"};
    if (store.find(a.key)) {
        // netsh's own words for ERROR_ALREADY_EXISTS.
        return {std::nullopt,
                "SSL Certificate add failed, Error: 183 Cannot create a file when "
                "that file already exists. (" +
                    a.key.str() + ")"};
    }
    BindingStore next = store;
    next.bindings.push_back(Binding{a.key, *a.certhash, *a.appid, a.certstorename.value_or("MY")});
    return {next, ""};
}

StoreChange deleteBinding(const BindingStore& store, const BindingKey& key) {
    if (!store.find(key)) {
        return {std::nullopt,
                "SSL Certificate deletion failed, Error: 2 The system cannot find "
                "the file specified. (" +
                    key.str() + ")"};
    }
    BindingStore next = store;
    std::erase_if(next.bindings, [&](const Binding& b) { return b.key == key; });
    return {next, ""};
}

StoreChange setDefaultBinding(const BindingStore& store, std::string_view matchHost,
                              const BindingKey& defaultKey) {
    const std::string host = asciiLower(matchHost);
    const Binding* source = nullptr;
    for (const auto& b : store.bindings) {
        if (b.key.kind == BindingKind::HostnamePort && b.key.host == host &&
            (!source || b.key.port < source->key.port)) {
            source = &b;
        }
    }
    if (!source) {
        return {std::nullopt, "no hostnameport binding for '" + host + "' to copy from"};
    }
    BindingStore next = store;
    Binding copy{defaultKey, source->certificateHash, source->applicationId,
                 source->certificateStoreName};
    std::erase_if(next.bindings, [&](const Binding& b) { return b.key == defaultKey; });
    next.bindings.push_back(copy);
    return {next, ""};
}

namespace {

// The binding's key: exactly one of hostnameport, ipport.
std::optional<BindingKey> readBindingKey(JsonObjectReader& r) {
    const bool host = r.get("hostnameport") != nullptr;
    const bool ip = r.get("ipport") != nullptr;
    if (host == ip) {
        r.errors().push_back({r.path(), "expected exactly one of hostnameport, ipport"});
        return std::nullopt;
    }
    const char* keyName = host ? "hostnameport" : "ipport";
    auto text = r.string(keyName);
    if (!text) return std::nullopt;
    auto key = BindingKey::parse(host ? BindingKind::HostnamePort : BindingKind::IpPort, *text);
    if (!key) {
        r.error(keyName, key.error());
        return std::nullopt;
    }
    return *key;
}

// One binding, or nothing when it has an error (each one is in `errors`).
std::optional<Binding> readBinding(const nlohmann::json& j, const std::string& at,
                                   std::vector<JsonError>& errors) {
    if (!isJsonObject(j, at, errors)) return std::nullopt;
    const std::size_t before = errors.size();
    JsonObjectReader r(j, at, errors);
    Binding b;
    auto key = readBindingKey(r);
    if (auto text = r.string("certificateHash", true)) {
        auto hash = normaliseThumbprint(*text);
        if (!hash) r.error("certificateHash", "expected 40 hex digits, got \"" + *text + "\"");
        b.certificateHash = hash.value_or("");
    }
    if (auto id = r.string("applicationId", true)) {
        if (!isGuidInBraces(*id))
            r.error("applicationId", "expected a GUID in braces, got \"" + *id + "\"");
        b.applicationId = *id;
    }
    b.certificateStoreName = r.string("certificateStoreName").value_or("MY");
    r.finish();
    if (!key || errors.size() != before) return std::nullopt;
    b.key = *key;
    return b;
}

}  // namespace

BindingStore parseBindingStore(std::string_view text, std::string_view source) {
    const std::string where = "binding store " + std::string(source);
    auto parsed = readJsonText(text, {.refuseDuplicateKeys = true});
    if (!parsed) throw BindingStoreError(where + ": " + parsed.error());
    std::vector<JsonError> errors;
    BindingStore store;
    if (isJsonObject(*parsed, "", errors)) {
        JsonObjectReader root(*parsed, "", errors);
        const nlohmann::json* list = root.array("bindings", true);
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            const std::string at = "/bindings/" + std::to_string(i);
            auto b = readBinding((*list)[i], at, errors);
            if (!b) continue;
            const char* keyName =
                b->key.kind == BindingKind::HostnamePort ? "/hostnameport" : "/ipport";
            if (store.find(b->key))
                errors.push_back({at + keyName, "duplicate binding " + b->key.str()});
            else
                store.bindings.push_back(std::move(*b));
        }
        root.finish();
    }
    if (!errors.empty()) throw BindingStoreError(describeJsonErrors(where, errors));
    return store;
}

std::string serializeBindingStore(const BindingStore& store) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : store.bindings) {
        nlohmann::json j;
        j[std::string(kindKeyword(b.key.kind))] = b.key.str();
        j["certificateHash"] = b.certificateHash;
        j["applicationId"] = b.applicationId;
        j["certificateStoreName"] = b.certificateStoreName;
        list.push_back(std::move(j));
    }
    return nlohmann::json{{"bindings", list}}.dump(2) + "\n";
}

BindingStore loadBindingStore(const std::filesystem::path& file, MissingStore missing) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        if (missing == MissingStore::Empty && !ec) return {};
        throw BindingStoreError("binding store " + file.string() +
                                ": missing (a store that disappears is refused like a "
                                "corrupt one)");
    }
    std::string text;
    try {
        text = readFile(file);
    } catch (const std::exception& e) {
        throw BindingStoreError(e.what());
    }
    return parseBindingStore(text, file.string());
}

void saveBindingStore(const std::filesystem::path& file, const BindingStore& store) {
    writeFileAtomic(file, serializeBindingStore(store));
}

namespace {

// The lock every writer of the store takes: `.NAME.lock` beside it.
std::filesystem::path storeLockFile(const std::filesystem::path& store) {
    const auto dir = store.parent_path().empty() ? std::filesystem::path(".") : store.parent_path();
    return dir / ("." + store.filename().string() + ".lock");
}

}  // namespace

StoreUpdate updateBindingStore(const std::filesystem::path& path,
                               const std::function<StoreChange(const BindingStore&)>& change) {
    // One lock for every name of the store: through a link, the lock is the
    // real file's.
    std::filesystem::path file;
    try {
        file = followSymlinks(path);
    } catch (const std::exception& e) {
        throw BindingStoreError(e.what());
    }
    std::optional<ExclusiveFileLock> lock;
    try {
        lock.emplace(storeLockFile(file));
    } catch (const std::exception& e) {
        throw BindingStoreError(e.what());
    }
    StoreUpdate update;
    update.before = loadBindingStore(file, MissingStore::Empty);
    update.change = change(update.before);
    if (update.change.store) saveBindingStore(file, *update.change.store);
    return update;
}

std::optional<std::string> normaliseThumbprint(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == ' ' || c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out += asciiUpperChar(c);
    }
    if (out.size() != 40) return std::nullopt;
    return out;
}

}  // namespace edgelab::proxy
