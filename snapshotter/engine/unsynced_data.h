// UnsyncedData: the byte ranges of the data file written since its last
// sync, so that an fsync of a small change carries those bytes in its log
// record instead of syncing the data file first: one device flush where
// there were two (docs/design.md, "What one fsync costs").
//
// Bounded: past `max_bytes` of ranges (or after a change no record can
// carry, a growth of the file) it stops remembering, and Take says the data
// file must be synced instead, until a sync that covers it.
//
// Thread-safety: every method takes an internal mutex. Note runs on any
// writer; Take, Mark and Synced run on the flusher side (KvStore's flush
// mutex serializes them), which is what makes "every range noted before
// Mark is covered by the sync that follows" hold.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace hoodyfs::snapshotter {

class UnsyncedData {
 public:
  struct Range {
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  explicit UnsyncedData(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // A write of [offset, offset + length) completed. Call it before the
  // metadata that points at the range is recorded.
  void Note(uint64_t offset, uint64_t length) EXCLUDES(mu_);
  // A change of the data file that no log record can carry (it grew): the
  // next Take returns nullopt.
  void NoteUnloggable() EXCLUDES(mu_);

  // Every range noted since the last Take or covering sync, forgotten here
  // (the caller logs their bytes); nullopt when they do not fit (sync the
  // data file then, between Mark and Synced).
  std::optional<std::vector<Range>> Take() EXCLUDES(mu_);

  // Before a sync of the data file: what it will cover. After it succeeded,
  // Synced(mark) forgets what it covered.
  uint64_t Mark() const EXCLUDES(mu_);
  void Synced(uint64_t mark) EXCLUDES(mu_);

 private:
  struct Noted {
    uint64_t seq;
    Range range;
  };
  const uint64_t max_bytes_;
  mutable Mutex mu_;
  uint64_t seq_ GUARDED_BY(mu_) = 0;  // of the newest Note
  std::vector<Noted> noted_ GUARDED_BY(mu_);
  uint64_t noted_bytes_ GUARDED_BY(mu_) = 0;
  // Seq of the newest Note not remembered (0: none): Take fails until a
  // sync marked at or after it succeeds.
  uint64_t overflow_seq_ GUARDED_BY(mu_) = 0;
};

}  // namespace hoodyfs::snapshotter
