// The proxy's TLS binding store, with the rules HTTP.sys applies to choose a
// certificate for a handshake (DESIGN.md, "Binding store").
//
// Everything here is pure: values in, values out. The file I/O lives in
// loadBindingStore/saveBindingStore at the bottom.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgelab::proxy {

// The application id WAP registers its bindings with.
inline constexpr std::string_view kWapApplicationId = "{f955c070-e044-456c-ac00-e9e4275b3f04}";

enum class BindingKind { HostnamePort, IpPort };

// `hostnameport=name:port` or `ipport=address:port` (0.0.0.0 is the wildcard).
struct BindingKey {
    BindingKind kind = BindingKind::HostnamePort;
    std::string host;  // lower-case name, or an IPv4 address in dotted form
    std::uint16_t port = 443;

    std::string str() const;  // "host:port"
    bool operator==(const BindingKey&) const = default;

    // Parses "host:port" as the given kind; nullopt with *error set when the
    // text is not one (an ipport needs an IPv4 address, the port 1..65535).
    static std::optional<BindingKey> parse(BindingKind kind, std::string_view text,
                                           std::string* error = nullptr);
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
enum class NoBindingReason { NoSniNoDefault, UnknownSni };
std::string_view describe(NoBindingReason);

struct BindingLookup {
    const Binding* binding = nullptr;  // null: refuse the handshake
    NoBindingReason reason = NoBindingReason::NoSniNoDefault;
};

// HTTP.sys's choice for one ClientHello on a listener that stands for
// `publishedPort`: with SNI, the hostnameport binding for that name; without,
// the ipport binding for the listener's address, else 0.0.0.0, else none.
BindingLookup selectBinding(const BindingStore& store, std::optional<std::string_view> sni,
                            std::string_view listenerAddress, std::uint16_t publishedPort);

// `netsh http show sslcert` layout: heading, dashed line, one block per binding.
std::string formatNetshShow(const BindingStore& store);

// Reads the layout above back (real netsh output too, CRLF or LF).
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

struct NetshParse {
    std::optional<NetshArguments> arguments;
    std::string error;  // set when arguments is empty
};

NetshParse parseNetshArguments(const std::vector<std::string>& words);
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

// A missing file is an empty store; a malformed one throws BindingStoreError.
BindingStore loadBindingStore(const std::filesystem::path& file);
// Atomically (provision/atomic_file.hpp): a crash leaves the old or the new file.
void saveBindingStore(const std::filesystem::path& file, const BindingStore& store);

// "AB12..." from any case and spacing the way certlm shows it; nullopt when not
// 40 hex digits.
std::optional<std::string> normaliseThumbprint(std::string_view text);

}  // namespace edgelab::proxy
