#include "proxy/binding_store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/atomic_file.hpp"
#include "common/endpoint.hpp"
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

BindingStore parseBindingStore(std::string_view text, std::string_view source) {
    auto fail = [&](const std::string& where, const std::string& what) -> BindingStoreError {
        return BindingStoreError("binding store " + std::string(source) + ": " + where + ": " +
                                 what);
    };
    auto parsed = readJsonText(text, {.refuseDuplicateKeys = true});
    if (!parsed)
        throw BindingStoreError("binding store " + std::string(source) + ": " + parsed.error());
    const nlohmann::json& doc = *parsed;
    if (!doc.is_object() || !doc.contains("bindings") || !doc["bindings"].is_array()) {
        throw fail("/bindings", "expected an object with an array \"bindings\"");
    }
    BindingStore store;
    const auto& list = doc["bindings"];
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = "/bindings/" + std::to_string(i);
        const auto& j = list[i];
        if (!j.is_object()) throw fail(at, "expected an object");
        auto str = [&](const char* name) -> std::string {
            if (!j.contains(name) || !j[name].is_string()) {
                throw fail(at + "/" + name, "expected a string");
            }
            return j[name].get<std::string>();
        };
        Binding b;
        const bool host = j.contains("hostnameport");
        const bool ip = j.contains("ipport");
        if (host == ip) throw fail(at, "expected exactly one of hostnameport, ipport");
        const char* keyName = host ? "hostnameport" : "ipport";
        auto key =
            BindingKey::parse(host ? BindingKind::HostnamePort : BindingKind::IpPort, str(keyName));
        if (!key) throw fail(at + "/" + keyName, key.error());
        if (store.find(*key)) throw fail(at + "/" + keyName, "duplicate binding " + key->str());
        b.key = *key;
        auto hash = normaliseThumbprint(str("certificateHash"));
        if (!hash) throw fail(at + "/certificateHash", "expected 40 hex digits");
        b.certificateHash = *hash;
        b.applicationId = str("applicationId");
        if (!isGuidInBraces(b.applicationId)) {
            throw fail(at + "/applicationId", "expected a GUID in braces");
        }
        b.certificateStoreName =
            j.contains("certificateStoreName") ? str("certificateStoreName") : "MY";
        store.bindings.push_back(std::move(b));
    }
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

// An exclusive flock on `.NAME.lock` beside the store, released on close (and
// by the kernel when a holder is killed, so a crash never leaves it held).
class StoreLock {
  public:
    explicit StoreLock(const std::filesystem::path& store) {
        const auto dir =
            store.parent_path().empty() ? std::filesystem::path(".") : store.parent_path();
        const auto lock = dir / ("." + store.filename().string() + ".lock");
        fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            throw BindingStoreError("cannot open the lock " + lock.string() + ": " +
                                    std::strerror(errno));
        }
        while (::flock(fd_, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd_);
            throw BindingStoreError("cannot lock " + lock.string() + ": " + std::strerror(err));
        }
    }
    ~StoreLock() { ::close(fd_); }
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

  private:
    int fd_ = -1;
};

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
    StoreLock lock(file);
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
