#include "proxy/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "proxy/config.hpp"

namespace edgelab::proxy {

namespace {

std::string nowIso8601() {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

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
    line["time"] = nowIso8601();
    const std::string text = dumpLine(line) + "\n";
    [[maybe_unused]] auto n = ::write(fd_, text.data(), text.size());
}

void logEvent(const AccessLog& log, nlohmann::json line) {
    std::cerr << "edgelab-proxy: " << dumpLine(line) << std::endl;
    log.write(std::move(line));
}

}  // namespace edgelab::proxy
