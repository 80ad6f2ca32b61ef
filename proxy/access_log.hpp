// edgelab-proxy's access log: JSON lines, one per request and per refused
// handshake, and the events an operator must see (also on stderr).
#pragma once

#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

namespace edgelab::proxy {

// One write(2) per line on an O_APPEND descriptor: lines from every worker
// thread stay whole without a lock.
class AccessLog {
  public:
    // Throws ConfigError when the file cannot be opened.
    explicit AccessLog(const std::optional<std::filesystem::path>& file);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    bool enabled() const { return fd_ >= 0; }
    // Adds "time" (UTC, milliseconds).
    void write(nlohmann::json line) const;

  private:
    int fd_ = -1;
};

// Problems an operator must see go to stderr as well as to the access log.
void logEvent(const AccessLog& log, nlohmann::json line);

}  // namespace edgelab::proxy
