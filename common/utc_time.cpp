#include "common/utc_time.hpp"

#include <cstdio>
#include <ctime>

namespace edgelab {

namespace {

enum class Length { Date, Seconds, Millis };

std::string utcText(std::chrono::system_clock::time_point t, Length length) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    const int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
    char buf[48];
    if (length == Length::Date) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, tm.tm_mday);
    } else if (length == Length::Seconds) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
            1000;
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    }
    return buf;
}

}  // namespace

std::string utcDate(std::chrono::system_clock::time_point t) { return utcText(t, Length::Date); }
std::string utcSeconds(std::chrono::system_clock::time_point t) {
    return utcText(t, Length::Seconds);
}
std::string utcMillis(std::chrono::system_clock::time_point t) {
    return utcText(t, Length::Millis);
}

}  // namespace edgelab
