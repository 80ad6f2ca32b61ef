// The numbers of the domain that more than one layer relies on, defined
// once. docs/design.md ("Facts") holds them with their sources.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace edgelab {

// The application id Web Application Proxy gives its HTTP.sys certificate
// bindings (`netsh http show sslcert` on a WAP server, "Application ID";
// Microsoft Learn, "netsh http" commands). AD FS's own is another.
inline constexpr std::string_view kWapApplicationId = "{f955c070-e044-456c-ac00-e9e4275b3f04}";

// The application id AD FS (and WAP as its proxy) gives its own bindings:
// the federation service name on 443 and, for device and certificate
// authentication, on 49443 (captures in public AD FS troubleshooting, e.g.
// chrisbrownie/AdfsAnalyzer issue 41). The audit does not judge them.
inline constexpr std::string_view kAdfsApplicationId = "{5d89a20c-beab-4389-9447-324788eb944a}";

// The port of a Lync 2013 front end's external web site, where a reverse
// proxy publishes https://NAME/ (external 443 -> internal 4443). Microsoft
// Learn / TechNet, "Reverse proxy requirements in Lync Server 2013".
inline constexpr std::uint16_t kLyncExternalWebPort = 4443;

// How long a Lync front end holds a UCWA event channel GET open by default
// (configurable 180-1800 s); a proxy that cuts an idle transaction sooner
// cuts every client's events. UCWA documentation, "events" resource.
inline constexpr std::chrono::seconds kUcwaEventChannelHold{180};

}  // namespace edgelab
