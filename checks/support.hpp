// What the check families share: the URL reader, the result
// builder and the one-line descriptions of evidence. Internal to checks/.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/catalogue.hpp"
#include "checks/evidence.hpp"
#include "common/ascii.hpp"
#include "common/lync_wap.hpp"
#include "common/remedies.hpp"
#include "provision/lab.hpp"

namespace edgelab::checks::support {

struct UrlParts {
    std::string scheme, host, path;
    int port = 0;
};
// libcurl's URL parser, so that odd URLs are read as a client reads them.
std::optional<UrlParts> parseUrl(const std::string& text);

std::string wholeDays(std::chrono::system_clock::duration d);

CheckResult result(const CheckDefinition& d, Verdict v, std::string evidence,
                   std::string remedy = {});

bool isPublic(const provision::Lab& lab, std::string_view host);
// The Location of a redirect that leaves the public namespace (another host,
// or a backend port such as 4443), if it does.
std::optional<std::string> redirectOutsideNamespace(const provision::Lab& lab,
                                                    const HttpExchange& x);
std::string leafSummary(const TlsHandshake& h);
std::string outcomeText(const TlsHandshake& h);
std::string describeExchange(const HttpExchange& x);
const provision::Backend* backendFor(const provision::Lab& lab, std::string_view host);

}  // namespace edgelab::checks::support
