// Store: starting the host's writeback of the data file early, every
// writeback_start_bytes of file data, so that a commit's fdatasync (and so a
// snapshot create, or an fsync past the log's reach) waits only for the few
// MiB written since, not for everything a streaming writer sent since the
// last commit (docs/design.md, "Writeback starts before the commit").
//
// Each start first waits for the previous one's writeback, and a writer
// that gets two steps ahead of the thread waits for it: the data the host
// holds dirty or in flight stays bounded, as the kernel bounds it for its
// own files (balance_dirty_pages), and a writer faster than the disk goes at
// the disk's pace instead of piling up a backlog that a commit must wait for.
//
// A hint and nothing more for durability: it makes nothing durable, its
// errors are its own (BackingFile waits on a descriptor of its own), and the
// store never counts on it. Durability comes only from the commit's Sync.
#include "base/log.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

void Store::NoteDataWritten(uint64_t bytes) {
  const uint64_t step = options_.writeback_start_bytes;
  if (step == 0 || bytes == 0) return;
  // Only the write that crosses the step wakes the thread: one lock and
  // notify per step, none on the other writes.
  const uint64_t before = unstarted_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  const uint64_t after = before + bytes;
  const bool crossed = before < step && after >= step;
  if (!crossed && after <= 2 * step) return;
  MutexLock l(writeback_mu_);
  if (crossed) {
    writeback_requested_ = true;
    writeback_cv_.notify_one();
  }
  // Pacing: the thread is a whole step behind (its last start still waits
  // for the disk): wait for it to take what this writer wrote.
  while (unstarted_bytes_.load(std::memory_order_relaxed) > 2 * step && !writeback_stopping_) {
    l.Wait(writeback_paced_);
  }
}

void Store::WritebackLoop() {
  MutexLock l(writeback_mu_);
  for (;;) {
    while (!writeback_requested_ && !writeback_stopping_) l.Wait(writeback_cv_);
    if (writeback_stopping_) return;
    writeback_requested_ = false;
    // What was written up to here is what this start takes: writers waiting
    // for room go on, and a write that crosses the step meanwhile asks again.
    unstarted_bytes_.store(0, std::memory_order_relaxed);
    writeback_paced_.notify_all();
    l.Unlock();
    Status s = device_->StartWriteback();
    if (!s.ok() && !writeback_failure_logged_) {
      // The commit's Sync reports the data file's state: this only loses
      // the head start.
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
  writeback_paced_.notify_all();
  if (writeback_.joinable()) writeback_.join();
}

}  // namespace hoodyfs::snapshotter
