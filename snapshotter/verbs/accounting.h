// Accounting: how many bytes of file data a generation holds.
//
// - referenced: the data visible from the generation (zfs REFER): mapped
//   4 KiB blocks of every visible file, plus inline file bytes.
// - written: the data the generation wrote itself: blocks its own chunk
//   maps hold that its parent's visible maps do not, plus inline bytes that
//   differ from the parent's.
// - exclusive: what deleting the generation's snapshot would free now:
//   blocks that only its own chunk maps reference and that reclaiming it
//   would release (0 while two or more generations descend from it).
//
// referenced(G) = referenced(parent) + what G's own records add or remove,
// so each generation costs its change log once. Frozen generations never
// change, so their numbers are cached in the genstats table; garbage
// collection drops the cache of a generation it merges another into. A
// head's numbers are computed on each call.
//
// Long walks read in batches (ChangeLogCursor) and pin the generations they
// read, so garbage collection cannot reshape them meanwhile.
//
// Thread-safety: may run while the store serves filesystem calls.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "base/types.h"
#include "index/records.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

class Store;

class Accounting {
 public:
  explicit Accounting(Store& store) : store_(store), internals_(store) {}

  // Errors: kNotFound (unknown generation), kCorruption, kIoError.
  Result<index::GenerationStats> Stats(GenId gen);
  // Errors: kNotFound, kCorruption, kIoError.
  Result<uint64_t> ExclusiveBytes(GenId gen);

 private:
  // gen's numbers given its parent's referenced bytes.
  Result<index::GenerationStats> Compute(GenId gen, uint64_t parent_referenced);

  Store& store_;
  StoreInternals internals_;
};

}  // namespace hoodyfs::snapshotter
