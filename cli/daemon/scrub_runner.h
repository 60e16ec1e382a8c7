// ScrubRunner: the daemon's background scrub (POST/GET/DELETE
// /api/v1/scrub). One scrub at a time, on a thread of its own, beside the
// mounts: the engine's scrub yields to them (snapshotter/engine/scrub.h).
// The last scrub's status stays readable until the next one starts.
// Block repairs (PUT /api/v1/scrub/blocks/N) run on the request's thread.
//
// Thread-safety: every method may be called from any thread. The
// destructor cancels a running scrub and waits for it, so the store it
// reads outlives it.
#pragma once

#include <atomic>
#include <thread>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "cli/api/scrub_api.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

class ScrubRunner final : public ScrubService {
 public:
  explicit ScrubRunner(snapshotter::Snapshotter& snap) : snap_(snap) {}
  ~ScrubRunner() override;
  ScrubRunner(const ScrubRunner&) = delete;
  ScrubRunner& operator=(const ScrubRunner&) = delete;

  Result<ScrubStatus> Start(const ScrubRequest& request) override EXCLUDES(mu_);
  Result<ScrubStatus> Current() override EXCLUDES(mu_);
  Status Cancel() override EXCLUDES(mu_);
  // The repair holds no lock of the runner's: it may run beside a scrub
  // (the engine's BlockRepairer may be called beside any use of the
  // store). Afterwards it takes mu_ to note the result on the last scrub's
  // entry for the block, if it lists one (GET /api/v1/scrub then says
  // "repaired").
  Result<BlockRepairReply> RepairBlock(uint64_t block, std::span<const std::byte> bytes) override
      EXCLUDES(mu_);
  // 1 while a scrub runs, else 0 (the daemon is not idle meanwhile).
  size_t running() EXCLUDES(mu_);

 private:
  void Work(ScrubRequest request) EXCLUDES(mu_);
  // Notes a repair on status_'s entry for `block`; none: nothing to note.
  // A running scrub's status is left alone: its damage list is filled only
  // when it ends, from what it reads then.
  void NoteRepair(uint64_t block, snapshotter::BlockRepairResult result) REQUIRES(mu_);

  snapshotter::Snapshotter& snap_;
  Mutex mu_;
  bool started_ GUARDED_BY(mu_) = false;  // a status exists
  ScrubStatus status_ GUARDED_BY(mu_);
  std::atomic<bool> cancel_{false};
  std::thread thread_ GUARDED_BY(mu_);
};

}  // namespace hoodyfs::cli
