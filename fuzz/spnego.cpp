// Windows authentication's tokens: any bytes as a SPNEGO token (parseSpnego)
// and as an NTLM message (the decoders, the MsvAvFlags of a response), then
// as the Authorization of the Negotiate and NTLM legs on one connection
// through the front end's handler. Never a crash; never signed in by bytes
// that did not answer the connection's challenge with a password.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backends/site.hpp"
#include "backends/spnego.hpp"
#include "provision/ntlm.hpp"

using namespace edgelab::backends;
namespace ntlm = edgelab::ntlm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ntlm::Bytes bytes(data, data + size);
    auto token = parseSpnego(bytes);
    if (!token && token.error().empty()) std::abort();
    (void)looksLikeSpnego(bytes);
    (void)ntlm::messageType(bytes);
    (void)ntlm::decodeNegotiate(bytes);
    (void)ntlm::decodeChallenge(bytes);
    if (auto m = ntlm::decodeAuthenticate(bytes)) (void)ntlm::clientAvFlags(*m);
    (void)ntlm::decodeAvPairs(bytes);

    static const SiteConfig site = [] {
        SiteConfig s;
        s.domain = "contoso.com";
        s.webServices = "lyncws.contoso.com";
        s.serverFqdn = "lyncfe1.contoso.com";
        s.tokenKey = "fuzz-key";
        s.users = {{"alice@contoso.com", "CONTOSO\\alice", "Pa55w.rd"}};
        return s;
    }();
    ConnectionAuth connection;
    Request req{http::verb::post, "/WebTicket/WebTicketService.svc", 11};
    req.set(http::field::host, "lyncws.contoso.com");
    for (const char* scheme : {"Negotiate ", "NTLM ", "Negotiate ", "Negotiate "}) {
        req.set(http::field::authorization, scheme + ntlm::base64(bytes));
        auto reply = handle(edgelab::provision::BackendRole::LyncFrontEnd, site, req, connection);
        if (!connection.signedInSipUri.empty()) std::abort();
        (void)reply;
    }
    return 0;
}
