// A Lync 2013 front end's external web services (the IIS site on 4443), as an
// anonymous client and a client with a token see them. Routes by the Host
// header as IIS does with host headers: lyncdiscover, the external web
// services name and the server's own name, meet, dialin.
#pragma once

#include <string_view>

#include "backends/site.hpp"

namespace edgelab::backends {

Reply handleLyncFrontEnd(const SiteConfig& site, const Request& req, ConnectionAuth& connection);

// The Accept value a client sends to get the autodiscover root in XML
// (MS-OCDISCWS); JSON is the default.
inline constexpr std::string_view kAutodiscoverXml =
    "application/vnd.microsoft.rtc.autodiscover+xml;v=1";

// The two challenges a front end sends on a resource that needs an OAuth token.
inline constexpr std::string_view kBearerChallenge =
    "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", "
    "client_id=\"00000004-0000-0ff1-ce00-000000000000\"";
// Its href names the host the request was for (hostOfHostHeader of Host), as
// a front end builds it from the request: behind a proxy that rewrites Host
// to another backend name it is that internal name; "" = the web services.
std::string msRtcOAuthChallenge(const SiteConfig& site, std::string_view host = {});

}  // namespace edgelab::backends
