// Exit codes of hoodyfs and hoodyfs-snap, so scripts can tell failures
// apart (docs/cli.md lists them). 0 is success.
#pragma once

#include "base/status.h"

namespace hoodyfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // anything not listed below
inline constexpr int kExitUsage = 2;       // bad flags or arguments; bad input values
inline constexpr int kExitNotFound = 3;    // unknown store, container or snapshot
inline constexpr int kExitConflict = 4;    // already exists (container, alias)
inline constexpr int kExitBusy = 5;        // in use (mounted, pinned, store locked)
inline constexpr int kExitNoSpace = 6;     // the disk is full
inline constexpr int kExitCorruption = 7;  // the store failed a check

int ExitCodeFor(const Status& status);

}  // namespace hoodyfs::cli
