// Certificates given to `edgelab audit --cert`: PEM (one or more) or DER.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.hpp"

namespace edgelab::audit {

// Every certificate in the bytes, named by SHA-1 thumbprint as Windows
// shows it. Throws std::runtime_error naming `source` when there is none.
std::vector<AuditCertificate> readCertificates(std::string_view bytes, const std::string& source);

}  // namespace edgelab::audit
