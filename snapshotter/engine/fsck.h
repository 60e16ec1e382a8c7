// Fsck: the store's consistency checker (Store::CheckInvariants). Read-only;
// it reports the first broken invariant as kCorruption naming it:
//  - every versioned record's generation exists, and the change log lists
//    exactly the (generation, table, key) triples that have records;
//  - block refcounts equal the number of chunk-record versions referencing
//    each block; referenced blocks are used in the free map, and used blocks
//    are exactly the blocks with records (free and used are disjoint and
//    together cover the data file);
//  - every snapshot names a frozen generation, and the alias index holds
//    exactly the snapshots' aliases;
//  - in every generation that is not dropped: entries, readdir cookies and back-references agree,
//    entries point at existing inodes of the recorded type, link counts match
//    the entries, directories have exactly one parent, mapped blocks lie
//    within the file size and add up to the inode's block count;
//  - every reservation names a container, a regular file of its head and
//    only blocks the head does not map, and their bits add up to the store's
//    reserved total (Store::reserved_blocks).
//
// CheckCollected (Store::CheckFullyCollected) is the check for after a full
// garbage collection: no dropped generation is left that could have been
// reclaimed (none with fewer than two children), and every chunk-map
// version is seen by some live generation, so the data blocks in use are
// exactly those the live heads and snapshots reference.
//
// The data itself (every block against its checksum) is the scrub's:
// snapshotter/engine/scrub.h (`hoodyfs fsck --data`, `hoodyfs scrub`).
//
// Cost: O(records x generations); for tests and `hoodyfs fsck`, not the hot path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/kv_store.h"

namespace hoodyfs::snapshotter {

class EngineInternals;
class Store;

class Fsck {
 public:
  explicit Fsck(Store& store) : store_(store) {}
  Status Run();
  Status CheckCollected();

 private:
  Status CheckRecordsAndChangeLog();
  Status CheckBlocks();
  Status CheckCatalog();
  Status CheckReservations();
  Status CheckGeneration(GenId gen);
  // The store's inside, as the engine sees it (store_internals.h).
  EngineInternals internals() const;
  Store& store_;
};

}  // namespace hoodyfs::snapshotter
