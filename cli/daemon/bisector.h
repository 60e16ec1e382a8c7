// Bisector: `git bisect run` for a whole container (hoodyfs-snap bisect).
//
// Candidates are the snapshots on the ancestor path from `bad` back to
// `good` (an error when good is not an ancestor of bad), oldest first. For
// each one tested, an O(1) throwaway copy of it is made and mounted at a
// temporary path, and the command runs with HOODYFS_ROOT set to the mount
// and the mount as its working directory (chrooted into it with `chroot`):
// exit 0 means good, 125 skip, anything else bad. The copy is unmounted
// and deleted before the next step, and everything is cleaned up however
// the bisect ends (an error, a cancel). The live head is never touched,
// and the candidates are pinned meanwhile (deleting one is refused: "in use
// (bisect)").
//
// Runs in the daemon (it owns the mounts); the command runs as a child of
// the daemon, in a process group of its own that a cancel kills.
//
// Thread-safety: one Run per bisect; Cancel may come from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "cli/api/bisect_types.h"
#include "cli/daemon/mount_manager.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

class Bisector final : public BisectService {
 public:
  // `scratch` is a directory for mountpoints and logs (created per bisect
  // and removed after).
  Bisector(snapshotter::Snapshotter& snap, MountManager& mounts, std::string scratch);

  // Errors: kInvalidArgument (bad id, empty command, good not an ancestor
  // of bad), kNotFound, kExists (a bisect with this id runs), kIoError
  // (the command could not start), kStale... ("cancelled"), and what
  // copying, mounting or diffing returns.
  Result<BisectReport> Run(const BisectRequest& request) override;
  // Stops a running bisect: its command's process group gets SIGTERM, and
  // Run returns "cancelled" after cleaning up. kNotFound when none runs.
  Status Cancel(const std::string& id) override;
  // Cancels every running bisect (shutdown).
  void CancelAll();
  // The steps a running bisect has finished (progress).
  Result<std::vector<BisectStep>> Progress(const std::string& id) override;
  size_t running();

 private:
  struct Running {
    std::atomic<bool> cancelled{false};
    std::atomic<pid_t> child{0};
    Mutex mu;
    std::vector<BisectStep> steps GUARDED_BY(mu);
  };
  Result<std::vector<snapshotter::SnapshotInfo>> Candidates(const BisectRequest& r);
  Result<BisectStep> Test(const BisectRequest& r, Running& run, const std::string& snapshot,
                          int step, const std::string& dir);

  snapshotter::Snapshotter& snap_;
  MountManager& mounts_;
  std::string scratch_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Running>> running_ GUARDED_BY(mu_);  // by id
};

}  // namespace hoodyfs::cli
