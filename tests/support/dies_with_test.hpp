// For a server a test starts: an argument of bp::child that makes the child
// end when the test process dies (edgelab::dieWithParent), so that a test
// ctest kills at its timeout leaves nothing running. The signal follows the
// thread that forked, so start servers from the test's own thread, not from
// a thread that ends before them.
#pragma once

#include <unistd.h>

#include <utility>  // first: <utility> before Asio (see net/asio.hpp)

#include <boost/process/extend.hpp>

#include "common/die_with_parent.hpp"

namespace edgelab::test {

inline auto diesWithTest() {
    return boost::process::extend::on_exec_setup = [parent = ::getpid()](auto&) {
        dieWithParent(parent);
    };
}

}  // namespace edgelab::test
