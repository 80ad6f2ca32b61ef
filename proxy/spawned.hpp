// What becomes of a coroutine's end. Boost 1.74's asio::detached drops an
// exception a spawned coroutine throws: a bad_alloc in an accept loop would
// stop that worker accepting with no line anywhere. Every co_spawn of the
// proxy names one of these instead, so nothing ends silently.
#pragma once

#include <exception>

#include "proxy/access_log.hpp"

namespace edgelab::proxy {

// A loop that must run as long as the process (an accept loop, the
// housekeeping, the store watch). An exception from it, or with `endIsFatal`
// any end of it, is logged (stderr and the access log, event "fatal") and
// ends the process with exit code 3, so that whoever started the proxy (the
// lab's supervisor, a service manager) sees it and can restart it. At a stop
// the io_context is stopped and the coroutine never completes: no call.
struct MustRunForever {
    const AccessLog* log;
    const char* what;
    bool endIsFatal = false;
    void operator()(std::exception_ptr thrown) const;
};

// One connection's coroutine: an exception it throws (a bug; the data path
// reports errors as error codes) is logged with the event "session-failed"
// and ends that connection only.
struct LogIfThrown {
    const AccessLog* log;
    const char* what;
    void operator()(std::exception_ptr thrown) const;
};

}  // namespace edgelab::proxy
