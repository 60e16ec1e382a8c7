// Which SnapshotApi a command uses: the daemon's, when one serves the store
// (its socket answers), else a LocalApi on the store opened in this process.
// So every hoodyfs-snap verb works the same on a mounted container (through
// the daemon that serves the mount) as on an unmounted one.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cli/snapshot_api.h"

namespace hoodyfs::cli {

// How long a command waits for a daemon that holds the store's lock but
// does not answer yet (starting) or any more (stopping) to finish doing so.
inline constexpr std::chrono::seconds kHandOverWait{15};

// Errors: those of Snapshotter::Open (kNotFound: no store; kBusy: another
// process has held the store for kHandOverWait without a daemon answering).
Result<std::unique_ptr<SnapshotApi>> OpenApi(const std::string& store);

// kBusy naming the daemon when one serves `store`, else OK: for commands
// that need the store to themselves (import, export, fsck).
Status CheckNoDaemon(const std::string& store);

}  // namespace hoodyfs::cli
