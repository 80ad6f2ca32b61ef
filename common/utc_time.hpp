// UTC time as text, for every log line, report and token: one formatter,
// ISO 8601 / RFC 3339 in its three lengths.
#pragma once

#include <chrono>
#include <string>

namespace edgelab {

std::string utcDate(std::chrono::system_clock::time_point);     // 2026-11-27
std::string utcSeconds(std::chrono::system_clock::time_point);  // 2026-11-27T11:22:40Z
std::string utcMillis(std::chrono::system_clock::time_point);   // 2026-11-27T11:22:40.123Z

}  // namespace edgelab
