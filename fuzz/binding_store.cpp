// The binding store loader on any bytes: a store is parsed or refused with
// BindingStoreError (naming the JSON path), nothing else; what parses
// serialises and parses back to the same store.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/binding_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace edgelab::proxy;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    BindingStore store;
    try {
        store = parseBindingStore(text, "fuzz.json");
    } catch (const BindingStoreError&) {
        return 0;
    }
    if (!(parseBindingStore(serializeBindingStore(store), "again.json") == store)) std::abort();
    for (const auto& b : store.bindings)
        (void)selectBinding(store, b.key.host, "127.0.0.1", b.key.port);
    (void)selectBinding(store, std::nullopt, "127.0.0.1", 443);
    (void)parseNetshShow(formatNetshShow(store));
    return 0;
}
