// Store: starting the host's writeback of the data file early, every
// writeback_start_bytes of file data, so that a commit's fdatasync (and so a
// snapshot create, an fsync past the log's reach) waits only for the tail
// written since, not for everything a streaming writer sent since the last
// commit (docs/design.md, "Writeback starts before the commit").
//
// A hint and nothing more: it makes nothing durable and the store never
// counts on it. Durability still comes only from the commit's Sync.
#include "base/log.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

void Store::NoteDataWritten(uint64_t bytes) {
  const uint64_t step = options_.writeback_start_bytes;
  if (step == 0 || bytes == 0) return;
  // Only the write that crosses the step wakes the thread: one lock and
  // notify per step, none on the other writes of the FUSE write path.
  const uint64_t before = unstarted_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (before >= step || before + bytes < step) return;
  {
    MutexLock l(writeback_mu_);
    writeback_requested_ = true;
  }
  writeback_cv_.notify_one();
}

void Store::WritebackLoop() {
  MutexLock l(writeback_mu_);
  for (;;) {
    while (!writeback_requested_ && !writeback_stopping_) l.Wait(writeback_cv_);
    if (writeback_stopping_) return;
    writeback_requested_ = false;
    l.Unlock();
    // Reset before the call: bytes written while it runs count towards the
    // next step, and a write that crosses it meanwhile asks again.
    unstarted_bytes_.store(0, std::memory_order_relaxed);
    Status s = device_->StartWriteback();
    if (!s.ok() && !writeback_failure_logged_) {
      // The commit's Sync reports the data file's state (its errors are
      // not consumed by starting writeback); this only loses the head start.
      writeback_failure_logged_ = true;
      Log(LogLevel::kWarning, dir_ + ": starting the data file's writeback failed (" +
                                  s.ToString() + "); commits will sync it all, as before");
    }
    l.Lock();
  }
}

void Store::StopWriteback() {
  {
    MutexLock l(writeback_mu_);
    writeback_stopping_ = true;
  }
  writeback_cv_.notify_all();
  if (writeback_.joinable()) writeback_.join();
}

}  // namespace hoodyfs::snapshotter
