// Exit codes shared by every edgelab command (README, "The command").
#pragma once

namespace edgelab {

enum ExitCode : int {
    kExitOk = 0,           // all passed, or matched the lab's expectations
    kExitCheckFailed = 1,  // a check (or a rule) failed
    kExitBadInput = 2,     // bad input or usage; the message names the problem
    kExitLabDown = 3,      // the lab or the target could not be brought up / reached
};

}  // namespace edgelab
