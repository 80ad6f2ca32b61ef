#include "tests/support/edgelab_process.hpp"

#include "net/asio.hpp"  // first: <utility> before Asio (see net/asio.hpp)

#include <boost/process.hpp>
#include <fstream>
#include <future>

#include "tests/support/dies_with_test.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::test {

Finished runEdgelab(const std::vector<std::string>& args) {
    namespace bp = boost::process;
    boost::asio::io_context ioc;
    std::future<std::string> out, err;
    bp::child c((binDir() / "edgelab").string(), bp::args = args, bp::std_out > out,
                bp::std_err > err, ioc, diesWithTest());
    ioc.run();
    c.wait();
    return {c.exit_code(), out.get(), err.get()};
}

bool processGone(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

}  // namespace edgelab::test
