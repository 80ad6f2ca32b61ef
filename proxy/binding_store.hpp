// The proxy's TLS binding store, with the rules HTTP.sys applies to choose a
// certificate for a handshake (docs/design.md, Binding lookup).
//
// Everything here is pure: values in, values out. The file I/O lives in
// loadBindingStore/saveBindingStore at the bottom.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/lync_wap.hpp"
#include "common/parsed.hpp"

namespace edgelab::proxy {

// The application id WAP registers its bindings with (common/lync_wap.hpp).
using edgelab::kWapApplicationId;

struct NetshEntry;  // proxy/netsh_show.hpp

enum class BindingKind { HostnamePort, IpPort };

// `hostnameport=name:port` or `ipport=address:port` (0.0.0.0 is the wildcard).
struct BindingKey {
    BindingKind kind = BindingKind::HostnamePort;
    std::string host;  // lower-case name, or an IPv4 address in dotted form
    std::uint16_t port = 443;

    std::string str() const;  // "host:port"
    bool operator==(const BindingKey&) const = default;

    // Parses "host:port" as the given kind, or says why the text is not one
    // (an ipport needs an IPv4 address, the port 1..65535).
    static Parsed<BindingKey> parse(BindingKind kind, std::string_view text);
};

struct Binding {
    BindingKey key;
    std::string certificateHash;  // SHA-1 thumbprint, 40 upper-case hex digits
    std::string applicationId;    // a GUID in braces
    std::string certificateStoreName = "MY";
    bool operator==(const Binding&) const = default;
};

struct BindingStore {
    std::vector<Binding> bindings;

    const Binding* find(const BindingKey& key) const;
    bool operator==(const BindingStore&) const = default;
};

// Why a handshake found no binding; the proxy logs it.
enum class NoBindingReason {
    NoSniNoDefault,  // no SNI, and no IP:port binding for the listener or 0.0.0.0
    UnknownSni,      // SNI matched no Hostname:port binding, and no IP:port binding either
};
std::string_view describe(NoBindingReason);

struct BindingLookup {
    const Binding* binding = nullptr;  // null: refuse the handshake
    NoBindingReason reason = NoBindingReason::NoSniNoDefault;
};

// HTTP.sys's choice for one ClientHello on a listener that stands for
// `publishedPort`, in HTTP.sys's order: the hostnameport binding for the SNI
// name (ASCII case-insensitive; a trailing dot is kept, so "name." matches no
// hostname binding, as RFC 6066 section 3 forbids it in SNI), then, with no
// SNI or no hostname match, the ipport binding for the listener's address,
// then 0.0.0.0, else none.
BindingLookup selectBinding(const BindingStore& store, std::optional<std::string_view> sni,
                            std::string_view listenerAddress, std::uint16_t publishedPort);

// `netsh http show sslcert` layout, netsh's labels and spacing exactly:
// heading, dashed line, one block per binding (proxy/netsh_show.hpp).
std::string formatNetshShow(const BindingStore& store);

// A binding of a netsh capture (proxy/netsh_show.hpp) as the store holds it,
// or why the store cannot hold it (a Central Certificate Store entry, an
// IPv6 key, no readable hash).
Parsed<Binding> bindingOf(const NetshEntry& entry);

// Reads netsh's output back (real captures too: UTF-16 or UTF-8, CRLF or LF),
// keeping the bindings the store can hold; the first of a repeated key wins.
BindingStore parseNetshShow(std::string_view text);

// A netsh `add sslcert` / `delete sslcert` argument list:
// hostnameport=NAME:PORT | ipport=ADDR:PORT, certhash=..., appid={...},
// certstorename=... (keywords are case-insensitive, as netsh's).
struct NetshArguments {
    BindingKey key;
    std::optional<std::string> certhash;
    std::optional<std::string> appid;
    std::optional<std::string> certstorename;
};

Parsed<NetshArguments> parseNetshArguments(const std::vector<std::string>& words);
std::vector<std::string> formatNetshArguments(const NetshArguments& arguments);

// The outcome of a change: the new store, or why it was refused.
struct StoreChange {
    std::optional<BindingStore> store;
    std::string error;
};

// netsh add sslcert: needs certhash and appid; an existing key is refused.
StoreChange addBinding(const BindingStore& store, const NetshArguments& arguments);
// netsh delete sslcert: an absent key is refused.
StoreChange deleteBinding(const BindingStore& store, const BindingKey& key);
// The seed's Set-DefaultCertificate: copy the hash and application id of the
// hostnameport binding for `matchHost` (any port, the lowest first) to the
// ipport binding `defaultKey`, replacing one already there.
StoreChange setDefaultBinding(const BindingStore& store, std::string_view matchHost,
                              const BindingKey& defaultKey);

// The store file: {"bindings": [{"hostnameport"|"ipport": "...",
// "certificateHash": "...", "applicationId": "{...}", "certificateStoreName": "MY"}]}.
class BindingStoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Throws BindingStoreError naming `source` and the JSON path at fault.
BindingStore parseBindingStore(std::string_view json, std::string_view source);
std::string serializeBindingStore(const BindingStore& store);

// A malformed store throws BindingStoreError. A missing one is an empty store
// only where the caller says so (the proxy's first start, the `bindings`
// commands, as netsh on a fresh system); a reload refuses it like a corrupt
// one, so deleting or renaming the file never takes the sites down.
enum class MissingStore { Refuse, Empty };
BindingStore loadBindingStore(const std::filesystem::path& file,
                              MissingStore missing = MissingStore::Refuse);
// Atomically (common/atomic_file.hpp): a crash leaves the old or the new file.
void saveBindingStore(const std::filesystem::path& file, const BindingStore& store);

// One read-modify-write of the store file, serialised with every other
// writer by an advisory lock (flock) on the sibling file `.NAME.lock`: two
// concurrent `bindings add` both land. A missing store is empty here. The
// change's error is returned untouched (nothing written); I/O errors throw.
struct StoreUpdate {
    BindingStore before;
    StoreChange change;
};
StoreUpdate updateBindingStore(const std::filesystem::path& file,
                               const std::function<StoreChange(const BindingStore&)>& change);

// "AB12..." from any case and spacing the way certlm shows it; nullopt when not
// 40 hex digits.
std::optional<std::string> normaliseThumbprint(std::string_view text);

}  // namespace edgelab::proxy
