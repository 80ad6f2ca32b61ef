#include "proxy/access_log.hpp"

#include "common/utc_time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "proxy/config.hpp"

namespace edgelab::proxy {

namespace {

std::string dumpLine(const nlohmann::json& line) {
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

AccessLog::AccessLog(const std::optional<std::filesystem::path>& file) {
    if (!file) return;
    fd_ = ::open(file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw ConfigError("/accessLog: cannot open " + file->string());
}

AccessLog::~AccessLog() {
    if (fd_ >= 0) ::close(fd_);
}

void AccessLog::write(nlohmann::json line) const {
    if (fd_ < 0) return;
    line["time"] = utcMillis(std::chrono::system_clock::now());
    const std::string text = dumpLine(line) + "\n";
    [[maybe_unused]] auto n = ::write(fd_, text.data(), text.size());
}

void logEvent(const AccessLog& log, nlohmann::json line) {
    std::cerr << "edgelab-proxy: " << dumpLine(line) << std::endl;
    log.write(std::move(line));
}

}  // namespace edgelab::proxy
