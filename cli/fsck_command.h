// `hoodyfs fsck [--data]`: the store's consistency check, and with --data a
// scrub that reads every block in use against its checksum and names each
// damaged block with the files, snapshots and containers that hold it.
#pragma once

#include <ostream>
#include <string>

#include "base/status.h"

namespace hoodyfs::cli {

// Runs on a store no daemon holds. Errors: kCorruption (an invariant broken,
// or damaged blocks found: the report is on `out` first), what opening the
// store returns.
Status RunFsck(const std::string& store, bool data, std::ostream& out);

}  // namespace hoodyfs::cli
