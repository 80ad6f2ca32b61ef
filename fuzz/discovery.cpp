// What a signing-in client reads from a server's answers, as the checks read
// it (checks/discovery.hpp): any text as an autodiscover document (JSON or
// XML), as WWW-Authenticate values and as a URL gives links or nothing,
// never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "checks/discovery.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace edgelab::checks;
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto links = autodiscoverLinks(text);
    (void)resolveLink(links.redirect, "https://lyncws.contoso.com/Autodiscover/x");
    (void)msRtcOAuthOf({text, "MsRtcOAuth " + text});
    (void)notPublicReason(text, {"lyncws.contoso.com"});
    (void)resolveLink(text, text);
    (void)withQueryParameter(text, "timeout=900");
    return 0;
}
