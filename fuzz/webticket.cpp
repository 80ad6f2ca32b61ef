// The Web Ticket Service's input: any bytes as a RequestSecurityToken body
// (parseRequestSecurityToken), as a SAML assertion handed back
// (verifySamlAssertion), and as the body of a signed-in POST and the value of
// X-MS-WebTicket through the front end's handler. Never a crash, never a 200
// for what is not a RequestSecurityToken or an assertion this key signed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backends/site.hpp"
#include "backends/wstrust.hpp"
#include "provision/ntlm.hpp"

using namespace edgelab::backends;

namespace {

SiteConfig site() {
    SiteConfig s;
    s.domain = "contoso.com";
    s.webServices = "lyncws.contoso.com";
    s.lyncdiscover = "lyncdiscover.contoso.com";
    s.serverFqdn = "lyncfe1.contoso.com";
    s.tokenKey = "fuzz-key";
    s.users = {{"alice@contoso.com", "CONTOSO\\alice", "Pa55w.rd"}};
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const SiteConfig s = site();
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto rst = parseRequestSecurityToken(text);
    if (!rst && rst.error().empty()) std::abort();
    const auto now = std::chrono::system_clock::now();
    if (verifySamlAssertion(text, s.tokenKey, now)) std::abort();  // nothing forged passes

    // A connection already signed in posts the bytes.
    ConnectionAuth signedIn;
    signedIn.signedInSipUri = "alice@contoso.com";
    Request post{http::verb::post, "/WebTicket/WebTicketService.svc", 11};
    post.set(http::field::host, "lyncws.contoso.com");
    post.set(http::field::content_type, size % 2 ? "text/xml" : "application/soap+xml");
    post.body() = text;
    post.prepare_payload();
    auto answer = handle(edgelab::provision::BackendRole::LyncFrontEnd, s, post, signedIn);
    if (answer.response.result() == http::status::ok && !rst) std::abort();

    Request user{http::verb::get, "/Autodiscover/AutodiscoverService.svc/root/user", 11};
    user.set(http::field::host, "lyncws.contoso.com");
    const std::string encoded =
        edgelab::ntlm::base64(edgelab::ntlm::Bytes(text.begin(), text.end()));
    for (const std::string& value : {"opaque=" + encoded, "opaque=" + text}) {
        if (value.find_first_of("\r\n") != std::string::npos) continue;
        user.set("X-MS-WebTicket", value);
        if (handle(edgelab::provision::BackendRole::LyncFrontEnd, s, user).response.result() ==
            http::status::ok)
            std::abort();
    }
    return 0;
}
