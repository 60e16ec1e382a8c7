// Which SnapshotApi a command uses: the daemon's, when one serves the store
// (its socket answers), else a LocalApi on the store opened in this process.
// So every hoodyfs-snap verb works the same on a mounted container (through
// the daemon that serves the mount) as on an unmounted one.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

// How long a command waits for a daemon that holds the store's lock but
// does not answer yet (starting) or any more (stopping) to finish doing so.
inline constexpr std::chrono::seconds kHandOverWait{15};

// Runs `attempt` again while it fails with kBusy: the store's lock is held
// by a daemon that is starting or stopping, which does not answer yet (or
// any more). Each attempt should first ask the daemon. Pauses 2 ms, doubling
// to 100 ms, for at most kHandOverWait; then returns the last result.
template <class Attempt>
auto RetryThroughHandOver(Attempt attempt) -> decltype(attempt()) {
  const auto deadline = std::chrono::steady_clock::now() + kHandOverWait;
  for (auto pause = std::chrono::milliseconds(2);;
       pause = std::min(pause * 2, std::chrono::milliseconds(100))) {
    auto result = attempt();
    if (result.ok() || result.status().code() != Code::kBusy ||
        std::chrono::steady_clock::now() > deadline) {
      return result;
    }
    std::this_thread::sleep_for(pause);
  }
}

// Errors: those of Snapshotter::Open (kNotFound: no store; kBusy: another
// process has held the store for kHandOverWait without a daemon answering).
Result<std::unique_ptr<SnapshotApi>> OpenApi(const std::string& store);

// kBusy naming the daemon when one serves `store`, else OK: for commands
// that need the store to themselves (import, export, fsck).
Status CheckNoDaemon(const std::string& store);

}  // namespace hoodyfs::cli
