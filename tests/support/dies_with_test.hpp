// For a server a test starts: between fork and exec (Boost.Process's
// on_exec_setup), ask the kernel to send the child SIGTERM when the test
// process dies, so that a test ctest kills at its timeout leaves nothing
// running. The signal follows the thread that forked, so start servers from
// the test's own thread, not from a thread that ends before them.
#pragma once

#include <sys/prctl.h>
#include <unistd.h>

#include <utility>  // first: <utility> before Asio (see net/asio.hpp)

#include <boost/process/extend.hpp>
#include <csignal>

namespace edgelab::test {

// `parent`: the test's pid, taken before the fork; a test that died before
// prctl took effect is seen by its child's new parent.
inline void dieWithTest(pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
}

// The same as an argument of bp::child.
inline auto diesWithTest() {
    return boost::process::extend::on_exec_setup = [parent = ::getpid()](auto&) {
        dieWithTest(parent);
    };
}

}  // namespace edgelab::test
