// Building the responses the handlers return: status, headers a Windows
// server sends, and a body, shaped to the request (version, keep-alive).
#pragma once

#include <string>
#include <string_view>

#include "backends/site.hpp"

namespace edgelab::backends {

Response makeResponse(const Request& req, http::status status, std::string_view contentType,
                      std::string body);

// An IIS-style HTML page for a status (404, 401, 400, 405).
Response errorPage(const Request& req, http::status status, std::string_view detail = {});

// 302 with IIS's "Object moved" page pointing where Location does.
Response objectMoved(const Request& req, const std::string& location);

// 401 with Windows authentication, as IIS sends it for Negotiate and NTLM.
Response windowsAuthChallenge(const Request& req);

bool isGetOrHead(const Request& req);

// `prefix` and `bytes` random bytes in lower-case hex: the identifiers this
// front end hands out (SAML assertion ids, UCWA application ids).
std::string randomHexId(std::string_view prefix, std::size_t bytes);

}  // namespace edgelab::backends
