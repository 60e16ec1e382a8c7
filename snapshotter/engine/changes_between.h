// What differs between two generations at the level of keys: the inodes
// and the directory entries (parent, name) of which some record version
// differs. Diff (verbs/diff.h) builds its file-by-file answer on the same
// path walk; a mount's restore (fusefs::Session::InvalidateDifference) uses
// the keys as they are, to tell the kernel exactly which cached names and
// inodes went stale.
//
// Why it is exact enough: from generation G a key's visible version is the
// one written by G or its nearest ancestor, so a key can differ between A
// and B only if some generation on the path from A up to their lowest
// common ancestor, or from B up to it, wrote it; each generation's change
// log lists what it wrote. The answer is a superset (a key written and then
// written back to the same value still counts), never a subset.
//
// Cost: one change-log entry read per record written on the path, in
// batches of short read scopes; nothing walks the tree.
//
// Thread-safety: may run while the store serves filesystem calls; the
// generations on the path are pinned for the walk (GenerationPath::pins).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

// The generations whose change logs can hold a difference between A and B:
// from each up to (not including) their lowest common ancestor, or both
// whole lineages when they have none. Each of them, and A and B, is pinned
// with `reason` while the object lives.
struct GenerationPath {
  std::vector<GenId> gens;
  std::vector<Store::Pin> pins;
};

// Errors: kNotFound (an unknown generation).
Result<GenerationPath> PathBetween(Store& store, GenId a, GenId b, const std::string& reason);

struct ChangedKeys {
  // Every inode with a differing inode record, xattr, data chunk or
  // back-reference, and every directory whose entries or readdir cookies
  // differ. Sorted, unique.
  std::vector<Ino> inodes;
  // Every directory entry (parent, name) whose version differs: added,
  // removed, or pointing elsewhere. Sorted, unique.
  std::vector<std::pair<Ino, std::string>> names;
  uint64_t records_read = 0;  // change-log entries read: what it cost
};

// The keys that differ between A and B, or nullopt as soon as more than
// `max_records` change-log entries would have to be read (the caller has a
// cheaper way: fusefs falls back to invalidating everything the kernel
// holds). Errors: kNotFound (an unknown generation), kCorruption, kIoError.
Result<std::optional<ChangedKeys>> ChangedBetween(Store& store, GenId a, GenId b,
                                                  uint64_t max_records);

}  // namespace hoodyfs::snapshotter
