// A writer that never stops: writes two large documents in turn with
// writeFileAtomic (as runner/lab_state.cpp writes state.json) until it is
// killed. The kill -9 test in atomic_file_test.cpp stops it at random moments.
#include <iostream>
#include <string>

#include "common/atomic_file.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: edgelab-test-atomic-writer FILE CONTENT-A-FILE CONTENT-B-FILE\n";
        return 2;
    }
    const std::string a = edgelab::readFile(argv[2]);
    const std::string b = edgelab::readFile(argv[3]);
    for (unsigned long i = 0;; ++i) edgelab::writeFileAtomic(argv[1], i % 2 ? a : b);
}
