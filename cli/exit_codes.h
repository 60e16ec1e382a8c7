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

// The table above as --help prints it.
inline constexpr char kExitCodesHelp[] =
    "Exit codes: 0 success, 1 other failure, 2 bad usage or value, 3 not found, 4 already "
    "exists, 5 in use (mounted, pinned, store held by another process), 6 no space, 7 the store "
    "failed a check. Errors are one line on stderr naming the problem; a refused command changes "
    "nothing.";

}  // namespace hoodyfs::cli
