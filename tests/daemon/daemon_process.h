// Starting and stopping a real `hoodyfs serve` daemon from a test: a child
// process in its own process group that dies with the test process
// (PR_SET_PDEATHSIG), started with --ready-fd so the test waits for it to
// serve without polling.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::testing {

// Starts `hoodyfs --store STORE serve ARGS...`, logging to `log`; returns
// its pid once it serves. Errors: kIoError with the log's contents.
Result<pid_t> StartDaemonProcess(const std::string& store, const std::vector<std::string>& args,
                                 const std::string& log);
// Sends `sig` and reaps the daemon; returns its wait status.
int StopDaemonProcess(pid_t pid, int sig);

}  // namespace hoodyfs::testing
