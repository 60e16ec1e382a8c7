// Test binaries that mount enter a private mount namespace before main,
// while the process has one thread (unshare(CLONE_NEWNS) refuses threaded
// callers): their mounts are invisible outside and vanish once every
// process of the test (the test, the daemons it starts) has exited, however
// it exited. Linking this file into a test binary is enough; the function
// tells whether it worked.
#pragma once

#include <string>

namespace hoodyfs::testing {

// "" when the process runs in its own mount namespace, else why not.
const std::string& PrivateMountNamespaceError();

}  // namespace hoodyfs::testing
