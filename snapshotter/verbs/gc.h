// GarbageCollector: reclaims dropped generations (deleted snapshots, heads a
// restore discarded, heads and snapshots of deleted containers).
//
// A dropped generation D that nothing pins is reclaimed once it has at most
// one child:
// - no child: every record D wrote is deleted (chunk maps release their
//   blocks);
// - one child C: D is merged into C. For each record D wrote, C's own
//   version (if any) already hides it, so D's goes (releasing its blocks);
//   otherwise D's version moves to C (same value, same block references). A
//   whiteout that would hide nothing under D's parent is dropped. Then C
//   takes D's place under D's parent.
// Readers of C see the same tree before, during and after a merge.
// A dropped generation with two or more children stays until enough of
// them are gone (a deleted snapshot that two copies descend from). Pruning
// (GcOptions::prune_shared) deletes those of its records that no live
// generation below it can see any more: every child hides the key with its
// own version, or is itself a dropped, unpinned generation whose children
// all do. Pruning walks the generation's whole change log each time, so the
// daemon's periodic collection leaves it to explicit `gc` runs.
//
// Chunked and resumable: each batch of at most GcOptions::batch_records change-log
// entries is one short write scope that also deletes the entries it
// handled, so progress is persisted with the work, and a crash at any point
// resumes from the change log at the next run. Freed blocks come back to
// the host (hole-punched) once the commit that freed them is durable.
//
// Thread-safety: may run while the store serves filesystem calls; one
// collector at a time per store (callers serialize).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::index {
class KvScope;
enum class Table : uint8_t;
}  // namespace hoodyfs::index

namespace hoodyfs::snapshotter {

class Store;

struct GcStats {
  size_t expired = 0;         // snapshots deleted because their expiry passed
  size_t generations = 0;     // generations reclaimed (deleted or merged)
  uint64_t records = 0;       // versioned records deleted or moved
  uint64_t blocks_freed = 0;  // 4 KiB data blocks released
};

struct GcOptions {
  bool prune_shared = true;
  // Change-log entries per write scope (tests make it small to interrupt
  // collections half way).
  size_t batch_records = 256;
  // After the collection, free runs of at least this many blocks go back
  // to the host (a hole punched per run). 1, an explicit `gc`: every
  // scattered block, the user asked for the space. The collection a
  // delete, a container delete or a discarding restore runs on its own,
  // and the daemon's periodic one, pass Store::kBackgroundPunchBlocks, as
  // the flusher does: under a writer, 1,000 deletes that each punched
  // their ~256 scattered blocks one call at a time held the data file's
  // inode lock against its writes ~53,000 times a minute (p99 of 4 KiB
  // writes 1.2 -> 11.8 ms; benchmarks.md "Deleting under a writer").
  // Shorter runs stay free in the store, where the next writes reuse them.
  uint32_t return_space_min_blocks = 1;
};

// The options of a collection nobody asked for by name: the one a delete, a
// container delete or a restore that discards the head runs after it, and
// the daemon's periodic one. Short free runs stay in the store for reuse.
GcOptions ImplicitCollection();

struct GcProgress {
  size_t generations_done = 0;
  size_t generations_pending = 0;
  uint64_t records_done = 0;
};
using GcProgressFn = std::function<void(const GcProgress&)>;

class GarbageCollector {
 public:
  explicit GarbageCollector(Store& store) : store_(store), internals_(store) {}

  // Reclaims every eligible dropped generation, repeating while reclaiming
  // makes more eligible, then makes the result durable.
  // Errors: kNoSpace, kIoError, kCorruption.
  Result<GcStats> CollectAll(const GcOptions& options = {}, const GcProgressFn& progress = {});

 private:
  // Reclaims `gen` if it is still dropped, unpinned and has at most one
  // child; true when it was reclaimed.
  Result<bool> Collect(GenId gen, const GcOptions& options, GcStats* stats,
                       const GcProgressFn& progress, GcProgress* state);
  // One batch; sets *finished when the generation is gone.
  Status CollectBatch(GenId gen, size_t batch_records, GcStats* stats, bool* finished,
                      bool* skipped);
  // Deletes the records of a dropped generation with several children that
  // no live generation sees.
  Status Prune(GenId gen, size_t batch_records, GcStats* stats);
  // True when no live generation below `gen` sees gen's version of the key.
  Result<bool> Unseen(const index::KvScope& s, GenId gen, index::Table table,
                      std::string_view logical, int depth);

  Store& store_;
  StoreInternals internals_;
};

}  // namespace hoodyfs::snapshotter
