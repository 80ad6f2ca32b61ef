// The check families, one file each; catalogue.cpp puts them in report order
// and plans their probes. Internal to checks/.
#pragma once

#include <string>
#include <vector>

#include "checks/catalogue.hpp"

namespace edgelab::checks::family {

// reach.cpp: the root causes that block everything on the target
CheckDefinition resolveCheck(const provision::Lab&);
CheckDefinition connectCheck(const provision::Lab&);
CheckDefinition answerCheck(const provision::Lab&);

// tls.cpp
CheckDefinition trustCheck(const provision::Lab&);
CheckDefinition sniCheck(const std::string& name);
CheckDefinition chainCheck(const std::string& name);
CheckDefinition noSniCheck(const provision::Lab&, const provision::ClientProfile&);
// tls.no-sni.default-binding: no handshake without SNI was served a
// certificate (every one reset): one cause for every profile's failure.
CheckDefinition defaultBindingCheck(const provision::Lab&);
CheckDefinition backendCertCheck(const provision::Lab&, const Target&);

// backends.cpp: backend.up.<backend>, one root cause per backend; `http`
// are the probes through the proxy, read for a real site's 5xx pattern
std::vector<CheckDefinition> backendUpChecks(const provision::Lab&, const Target&,
                                             const std::vector<HttpProbe>& http);

// lyncdiscover.cpp
CheckDefinition lyncdiscoverCheck(const provision::Lab&);

// webservices.cpp
CheckDefinition webServicesCheck(const provision::Lab&, const WebServicesPath&);
CheckDefinition authCheck(const provision::Lab&);
CheckDefinition simpleUrlCheck(const provision::Lab&, CheckId id, const std::string& name,
                               std::vector<ProbeId> probes);
CheckDefinition longPollCheck(const provision::Lab&, const Target&);

// owas.cpp
CheckDefinition owasNamesCheck(const provision::Lab&);
CheckDefinition owasWopiSrcCheck(const provision::Lab&);

// headers.cpp
CheckDefinition headersCheck(const provision::Lab&, std::vector<ProbeId> httpProbes);

}  // namespace edgelab::checks::family
