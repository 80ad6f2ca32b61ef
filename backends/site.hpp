// What a backend simulator answers: pure handlers from a Beast request to a
// Beast response, one per role, built from the names of the lab (SiteConfig).
// The server (server.hpp) only reads, writes, holds and enforces limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/lync_wap.hpp"
#include "net/asio.hpp"
#include "provision/lab.hpp"

namespace edgelab::backends {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Beast 1.74 hands out boost::string_view; handlers work with the standard one.
inline std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// A test account the front end signs in (the lab's users[]).
struct SiteUser {
    std::string sipUri;   // alice@example.test
    std::string account;  // EXAMPLE\alice or alice@example.test
    std::string password;
    // The external web services FQDN of the pool the user is homed on; "" or
    // this site's own: here. Elsewhere: the user resource answers a redirect
    // there, as a Director does ([MS-OCDISCWS] 3.1.5.3).
    std::string homeWebServices;
};

// A UCWA application a user created (POST applications), until deleted.
struct UcwaApplication {
    std::string owner;  // the SIP URI its token named
    std::string userAgent;
    std::string endpointId;
    std::string culture;
    long nextAck = 1;  // the ack the event channel expects next
};

// The applications of one front-end process, shared by its connections.
struct UcwaRegistry {
    std::mutex mutex;
    std::map<std::string, UcwaApplication> applications;  // by id
};

// The names one backend answers for and writes into its answers. All host
// names are lower-case FQDNs without a port.
struct SiteConfig {
    std::string domain;           // example.com (SIP domain)
    std::string webServices;      // external web services FQDN, lyncws.DOMAIN
    std::string meet;             // meet.DOMAIN
    std::string dialin;           // dialin.DOMAIN
    std::string lyncdiscover;     // lyncdiscover.DOMAIN
    std::string owas;             // owas.DOMAIN
    std::string serverFqdn;       // the server's own FQDN (lyncfe1.DOMAIN, owas1.DOMAIN)
    std::string owasInternalUrl;  // the OWAS farm InternalURL ("" = https://serverFqdn/)
    std::chrono::milliseconds eventHold{kUcwaEventChannelHold};  // UCWA event channel
    std::uint16_t listenPort = kLyncExternalWebPort;  // the port the backend really listens on
    std::vector<SiteUser> users;  // who can sign in (front end); nobody by default
    std::string tokenKey;         // signs the web tickets and OAuth tokens it issues
    std::shared_ptr<UcwaRegistry> ucwa = std::make_shared<UcwaRegistry>();
};

// What one client connection has proven so far. NTLM authenticates the
// connection, not a request ([MS-NLMP] 1.3.1.1, RFC 4559 section 4): the
// challenge a connection was sent is the one its next message must answer,
// and once it has, the connection is signed in until it closes.
struct ConnectionAuth {
    std::string pendingScheme;     // "NTLM" or "Negotiate" while a challenge is out
    std::string pendingChallenge;  // the 8-byte server challenge sent on this connection
    std::string signedInSipUri;    // set once the handshake completed
    bool spnego = false;           // the NTLM messages travel in SPNEGO tokens
    std::string negotiateMessage;  // the NTLM NEGOTIATE and CHALLENGE as sent, for the MIC
    std::string challengeMessage;
};

// A response and how long the server waits before sending it (the UCWA event
// channel is a GET the front end holds open; a handler never sleeps).
struct Reply {
    Reply() = default;
    Reply(Response r) : response(std::move(r)) {}  // NOLINT: {response} reads as a reply

    Response response;
    std::chrono::milliseconds holdFor{0};
    // A held reply with a key is replaced by the next held reply with the
    // same key (UCWA allows one pending P-GET per application): the earlier
    // request is then answered `ifReplaced` at once.
    std::string holdKey;
    std::optional<Response> ifReplaced;
};

Reply handle(provision::BackendRole role, const SiteConfig& site, const Request& req,
             ConnectionAuth& connection);
// The same for a request on a connection of its own (nothing proven yet).
Reply handle(provision::BackendRole role, const SiteConfig& site, const Request& req);

// The role names of the command line: "lync-frontend" and "owas".
std::string roleName(provision::BackendRole role);

}  // namespace edgelab::backends
