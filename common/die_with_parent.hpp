// For a child between fork and exec: the kernel sends it SIGTERM when the
// thread that started it ends (PR_SET_PDEATHSIG), so a parent killed with
// SIGKILL leaves no child running. `parent` is the parent's pid, read before
// the fork: a parent that died before prctl took effect shows as a different
// parent, and the child exits at once.
#pragma once

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

namespace edgelab {

inline void dieWithParent(pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
}

}  // namespace edgelab
