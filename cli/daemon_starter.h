// Finding the store's daemon from a command, and starting one when none
// runs: `hoodyfs mount` and `hoodyfs-snap bisect` need a daemon, which they
// start as a separate `hoodyfs serve --exit-when-idle` process. Nothing here
// links the daemon itself (HTTP server, FUSE): hoodyfs-snap stays small and
// starts fast (docs/design.md, "What a command costs").
#pragma once

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace hoodyfs::cli {

// An absolute path: realpath when it resolves; else made absolute as given
// (a dead mount may not resolve: its root can fail with ENOTCONN).
std::string AbsolutePath(const std::string& path);

// The store directory's real path. Errors: kNotFound (no such directory).
Result<std::string> ExistingStore(const std::string& store);

// The daemon that serves `store`: the one that answers, else a new one
// (`hoodyfs serve --store STORE --exit-when-idle`, the hoodyfs program
// beside this one, in a session of its own, logging to STORE/daemon.log);
// returns the new one's pid once it serves, or 0 when one answered. A
// daemon that is stopping (or another command's, starting) holds the
// store's lock for a moment while it does not answer: wait for it, bounded
// by kHandOverWait. Errors: kBusy, kIoError with the daemon's last log line.
Result<pid_t> EnsureDaemon(const std::string& store);

}  // namespace hoodyfs::cli
