// UCWA 2.0 as a Lync 2013 front end serves it to a signed-in client
// (Microsoft's UCWA documentation: "Create an application", "Events",
// "Application"): the applications a user created, each with its event
// channel (ack numbering, the hold a P-GET's timeout= asks for, one pending
// P-GET at a time). Kept per front-end process in a registry the handlers
// share; the handlers stay functions of (site, request).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backends/site.hpp"
#include "common/parsed.hpp"

namespace edgelab::backends {

// The body of POST applications: {"UserAgent","EndpointId","Culture"} (names
// in any case, as the front end's JSON reader takes them), each a non-empty
// string; the culture a language tag (en-US).
struct ApplicationRequest {
    std::string userAgent;
    std::string endpointId;
    std::string culture;
};
Parsed<ApplicationRequest> parseApplicationRequest(std::string_view body);

// The event channel's timeout= in seconds: 180 when absent; a whole number,
// brought into 180..1800 (UCWA's range) when outside it; anything else fails.
inline constexpr int kDefaultEventTimeoutSec = 180;
inline constexpr int kMinEventTimeoutSec = 180;
inline constexpr int kMaxEventTimeoutSec = 1800;
Parsed<int> parseEventTimeout(std::optional<std::string_view> raw);

// How long the lab holds a P-GET that asked for `timeoutSec`: the lab's
// `eventHold` is the hold of a P-GET without timeout= (180 s on a real front
// end), and every timeout is scaled by the same factor (eventHold / 180 s).
std::chrono::milliseconds scaledHold(const SiteConfig& site, int timeoutSec);
double holdScale(const SiteConfig& site);

// Answers everything under /ucwa once the caller knows who the bearer token
// names (nullopt: no valid token, the OAuth challenge is answered).
Reply handleUcwa(const SiteConfig& site, const Request& req, std::string_view lowerPath,
                 std::string_view query, const std::optional<std::string>& user);

}  // namespace edgelab::backends
