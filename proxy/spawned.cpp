#include "proxy/spawned.hpp"

#include <unistd.h>

#include <string>

#include "common/exit_code.hpp"

namespace edgelab::proxy {

namespace {

std::string describe(std::exception_ptr thrown) {
    if (!thrown) return "it returned";
    try {
        std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
        return std::string("exception: ") + e.what();
    } catch (...) {
        return "an exception of an unknown type";
    }
}

}  // namespace

void MustRunForever::operator()(std::exception_ptr thrown) const {
    if (!thrown && !endIsFatal) return;
    logEvent(*log, {{"event", "fatal"}, {"loop", what}, {"reason", describe(thrown)}});
    // Other workers may be in the middle of anything: no destructors, no
    // atexit handlers, only the exit code (the log lines are written already).
    ::_exit(kExitLabDown);
}

void LogIfThrown::operator()(std::exception_ptr thrown) const {
    if (!thrown) return;
    logEvent(*log,
             {{"event", "session-failed"}, {"coroutine", what}, {"reason", describe(thrown)}});
}

}  // namespace edgelab::proxy
