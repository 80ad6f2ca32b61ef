// The edgelab program run as a user runs it, for the tests of its commands:
// its exit code and everything it wrote.
#pragma once

#include <string>
#include <vector>

namespace edgelab::test {

struct Finished {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs build/bin/edgelab with `args` and waits for it. Both streams are read
// as they come, so a program that fills one while the other is read cannot
// stall.
Finished runEdgelab(const std::vector<std::string>& args);

// Gone: no such process, or a zombie waiting for init to reap it (a lab's
// servers outlive `edgelab up`, so their parent is init once it exits).
bool processGone(int pid);

}  // namespace edgelab::test
