// An Office Web Apps Server farm as Lync uses it: WOPI discovery and the
// presentation pages. OWAS writes URLs built from the Host it was asked for
// into headers and bodies; a proxy rewrites headers but never bodies, which is
// why the seed's client saw the backend's name (docs/design.md S5).
#pragma once

#include <string_view>

#include "backends/site.hpp"

namespace edgelab::backends {

Reply handleOwas(const SiteConfig& site, const Request& req);

// Whether a WopiSrc query value arrived as OWAS sends it: double-encoded
// ("https%253A%252F%252F..."). Decoded (a raw ':' or '/') or encoded once
// ("%3A", "%2F") means something on the way normalised the URL.
bool wopiSrcIntact(std::string_view rawWopiSrc);

// The version OWAS 2013 SP1 reports; Lync does not check it.
inline constexpr std::string_view kOfficeVersion = "15.0.4569.1506";

}  // namespace edgelab::backends
