// BlockAllocator: which 4 KiB blocks of the data file are in use. The
// persistent truth is the kFreeMap table (one bitmap record per group of
// kFreeMapGroupBlocks blocks), written through the memtable in the same
// scope as the references that use or release the blocks, so every commit
// holds a consistent pair of refcounts and free map.
//
// A freed block is quarantined in memory until the commit that freed it is
// durable and no reader can still reach it (the owner calls
// ReleaseQuarantine then): a crash never finds a reused block under a
// committed pointer, and an in-flight read never sees another file's bytes.
//
// A released block keeps its old bytes in the host file: it is not punched
// at release, so a later write into it is an overwrite the host filesystem
// need not allocate for, and the fsync that freed it never waits for a
// punch. The owner gives such space back to the host lazily, in runs
// (TakeUnpunched, then Unreserve after punching).
//
// Allocate and AddGroups undo themselves if their scope rolls back; Free
// must only be called when the scope is sure to commit (Meta defers it to
// OnCommit).
//
// Thread-safety: none of its own; the owner calls Allocate/Free/AddGroups
// under a WriteScope and ReleaseQuarantine under a WriteScope too.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/kv_store.h"

namespace hoodyfs::index {

struct BlockRun {
  BlockNo start;
  uint32_t count = 0;
};

class BlockAllocator {
 public:
  // Loads the free map, replacing the used set. Blocks this allocator holds
  // in quarantine stay quarantined (the map shows them free).
  // Errors: kCorruption (malformed map, or one that shows a quarantined
  // block in use or beyond its end), kIoError.
  Status Load(const KvScope& scope);

  uint64_t capacity_blocks() const { return groups_.size() * uint64_t{kGroupBlocks}; }
  uint64_t used_blocks() const { return used_; }
  uint64_t quarantined_blocks() const { return quarantined_; }
  // Blocks an allocation can take now: neither used, quarantined nor
  // reserved (block 0 never is). Cost: one add per group.
  uint64_t free_blocks() const;

  // Adds `groups` empty groups at the end (the owner grew the data file).
  void AddGroups(WriteScope& scope, uint64_t groups);

  // Allocates one contiguous run of 1..max_blocks free blocks, preferring to
  // continue after the previous allocation.
  // Errors: kNoSpace when no block is free (the owner grows and retries).
  Result<BlockRun> Allocate(WriteScope& scope, uint32_t max_blocks);

  // Two-step allocation for writes that do their data I/O between two
  // scopes: Reserve marks a run busy in memory only (a crash forgets it, so
  // nothing leaks), Claim makes it used in the scope that references it, and
  // Unreserve gives back a run that was never claimed.
  // REQUIRES: the state lock held exclusively.
  Result<BlockRun> Reserve(uint32_t max_blocks);
  // A rollback of `scope` returns the run to reserved, or frees it when
  // `free_on_rollback` (the run was reserved inside the same scope).
  void Claim(WriteScope& scope, BlockRun run, bool free_on_rollback = false);
  void Unreserve(BlockRun run);

  // Frees blocks used until now; they stay unallocatable until
  // ReleaseQuarantine(epoch) with epoch >= scope.epoch().
  void Free(WriteScope& scope, BlockNo block);

  // Makes blocks freed in epochs <= `durable_epoch` allocatable again, and
  // remembers them as unpunched (still backed by the host file). Returns them
  // as sorted, merged runs.
  std::vector<BlockRun> ReleaseQuarantine(uint64_t durable_epoch);
  // The runs ReleaseQuarantine(durable_epoch) would release, sorted and
  // merged, without releasing them.
  std::vector<BlockRun> QuarantinedRuns(uint64_t durable_epoch) const;

  // Released blocks not yet punched and not allocated again since.
  uint64_t unpunched_blocks() const { return unpunched_; }
  // Takes at most `max_runs` runs of at least `min_blocks` free, unpunched
  // blocks (shorter runs stay, for reuse): they are reserved, so nothing is
  // allocated there while the owner punches them with no lock held, and no
  // longer unpunched. The owner Unreserve()s each afterwards.
  std::vector<BlockRun> TakeUnpunched(uint32_t min_blocks, size_t max_runs);

  bool IsUsed(BlockNo block) const;

 private:
  static constexpr uint32_t kGroupBlocks = 4096;
  static constexpr uint32_t kWords = kGroupBlocks / 64;
  struct Group {
    uint64_t used[kWords] = {};
    uint64_t quarantine[kWords] = {};
    uint64_t reserved[kWords] = {};
    // Free (or reserved) blocks whose host bytes were never punched since
    // their release. A subset of neither used nor quarantined.
    uint64_t unpunched[kWords] = {};
    uint32_t free_count = kGroupBlocks;  // neither used, quarantined nor reserved
    uint32_t unpunched_count = 0;
  };
  void Persist(WriteScope& scope, uint64_t group) const;
  // Sets or clears `count` bits from block `start` in one bitmap of a group.
  void SetBits(BlockRun run, uint64_t (Group::*map)[kWords], bool on);
  bool Busy(const Group& g, uint32_t bit) const;
  // Clears the unpunched bits of `run` that are set.
  void ForgetUnpunched(BlockRun run);
  void ReserveBlockZero();

  std::vector<Group> groups_;
  uint64_t used_ = 0;
  uint64_t quarantined_ = 0;
  uint64_t unpunched_ = 0;
  uint64_t cursor_ = 0;  // next-fit position (block number)
  std::map<uint64_t, std::vector<BlockNo>> quarantine_by_epoch_;
};

}  // namespace hoodyfs::index
