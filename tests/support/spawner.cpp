// A stand-in for a test process, for dies_with_test_test: starts the program
// in its arguments as a test starts a server (diesWithTest), prints the
// child's pid and waits to be killed.
#include "net/asio.hpp"  // first: <utility> before Asio (see net/asio.hpp)

#include <unistd.h>

#include <boost/process.hpp>
#include <iostream>
#include <vector>

#include "tests/support/dies_with_test.hpp"

int main(int argc, char** argv) {
    namespace bp = boost::process;
    if (argc < 2) return 2;
    const std::vector<std::string> args(argv + 2, argv + argc);
    bp::child child(argv[1], bp::args = args, edgelab::test::diesWithTest());
    std::cout << child.id() << std::endl;
    child.detach();
    for (;;) ::pause();
}
