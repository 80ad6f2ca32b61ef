// The answers edgelab-proxy gives itself (refusals, routing errors, backend
// failures): small HTML pages naming the reason, never cached.
#pragma once

#include <string>
#include <string_view>

#include "proxy/publishing.hpp"

namespace edgelab::proxy {

// `textHtml` is markup already escaped by the caller.
std::string errorPage(unsigned code, std::string_view title, const std::string& textHtml);

// The 502/504 page naming the application and why its backend failed.
std::string backendFailurePage(const PublishingRule& rule, http::status status,
                               const std::string& why);

http::response<http::string_body> localReply(http::status status, std::string body,
                                             unsigned version, bool keepAlive,
                                             const std::string& location = {});

}  // namespace edgelab::proxy
