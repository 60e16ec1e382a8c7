// Which SnapshotApi a command uses: the daemon's, when one serves the store
// (its socket answers), else a LocalApi on the store opened in this process.
// So every hoodyfs-snap verb works the same on a mounted container (through
// the daemon that serves the mount) as on an unmounted one.
#pragma once

#include <memory>
#include <string>

#include "cli/snapshot_api.h"

namespace hoodyfs::cli {

// Errors: those of Snapshotter::Open (kNotFound: no store; kBusy: another
// process holds the store but no daemon answers, named with its pid when
// known).
Result<std::unique_ptr<SnapshotApi>> OpenApi(const std::string& store);

// kBusy naming the daemon when one serves `store`, else OK: for commands
// that need the store to themselves (import, export, fsck).
Status CheckNoDaemon(const std::string& store);

}  // namespace hoodyfs::cli
