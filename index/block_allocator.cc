#include "index/block_allocator.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "index/keys.h"
#include "index/schema.h"

namespace hoodyfs::index {

static_assert(kFreeMapGroupBlocks == 4096, "BlockAllocator's group size is the format's");

Status BlockAllocator::Load(const KvScope& scope) {
  groups_.clear();
  used_ = 0;
  HOODY_ASSIGN_OR_RETURN(KvIterator it, scope.NewIterator(Table::kFreeMap));
  for (it.Seek(""); it.Valid(); it.Next()) {
    if (it.key().size() != 8 || it.value().size() != sizeof(Group::used)) {
      return Status::Corruption("malformed free-map record");
    }
    const uint64_t g = GetBig64(it.key().data());
    if (g != groups_.size()) return Status::Corruption("free-map groups are not dense");
    Group group;
    std::memcpy(group.used, it.value().data(), sizeof(group.used));
    uint32_t used = 0;
    for (uint64_t w : group.used) used += static_cast<uint32_t>(__builtin_popcountll(w));
    group.free_count = kGroupBlocks - used;
    used_ += used;
    groups_.push_back(group);
    if (groups_.size() == 1) ReserveBlockZero();
  }
  HOODY_RETURN_IF_ERROR(it.status());
  // The free map shows a quarantined block as free, but until its release a
  // reader may still reach it: keep it unallocatable across a reload.
  for (const auto& [epoch, blocks] : quarantine_by_epoch_) {
    for (BlockNo b : blocks) {
      const uint64_t gi = b.value / kGroupBlocks;
      const uint32_t bit = b.value % kGroupBlocks;
      const uint64_t mask = uint64_t{1} << (bit % 64);
      if (gi >= groups_.size() || (groups_[gi].used[bit / 64] & mask) != 0) {
        return Status::Corruption("free map disagrees with the quarantine at block " +
                                  std::to_string(b.value));
      }
      groups_[gi].quarantine[bit / 64] |= mask;
      --groups_[gi].free_count;
    }
  }
  return Status::OK();
}

void BlockAllocator::Persist(WriteScope& scope, uint64_t group) const {
  const Group& g = groups_[group];
  scope.Put(Table::kFreeMap, FreeMapKey(group),
            std::string_view(reinterpret_cast<const char*>(g.used), sizeof(g.used)));
}

void BlockAllocator::AddGroups(WriteScope& scope, uint64_t groups) {
  const size_t before = groups_.size();
  scope.OnRollback([this, before] { groups_.resize(before); });
  for (uint64_t i = 0; i < groups; ++i) {
    groups_.emplace_back();
    if (groups_.size() == 1) ReserveBlockZero();
    Persist(scope, groups_.size() - 1);
  }
}

void BlockAllocator::ReserveBlockZero() {
  // Block number 0 means "hole" in chunk maps, so it never holds data.
  groups_[0].reserved[0] |= 1;
  --groups_[0].free_count;
}

bool BlockAllocator::Busy(const Group& g, uint32_t bit) const {
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const uint32_t w = bit / 64;
  return ((g.used[w] | g.quarantine[w] | g.reserved[w]) & mask) != 0;
}

bool BlockAllocator::IsUsed(BlockNo block) const {
  const uint64_t g = block.value / kGroupBlocks;
  if (g >= groups_.size()) return false;
  const uint32_t bit = block.value % kGroupBlocks;
  return (groups_[g].used[bit / 64] >> (bit % 64)) & 1;
}

void BlockAllocator::SetBits(BlockRun run, uint64_t (Group::*map)[kWords], bool on) {
  Group& g = groups_[run.start.value / kGroupBlocks];
  const uint32_t first = run.start.value % kGroupBlocks;
  HOODY_ASSERT(first + run.count <= kGroupBlocks, "a run never crosses a group");
  for (uint32_t i = first; i < first + run.count; ++i) {
    const uint64_t mask = uint64_t{1} << (i % 64);
    HOODY_ASSERT(((g.*map)[i / 64] & mask) != (on ? mask : 0), "bit already in that state");
    if (on) {
      (g.*map)[i / 64] |= mask;
    } else {
      (g.*map)[i / 64] &= ~mask;
    }
  }
}

uint64_t BlockAllocator::free_blocks() const {
  uint64_t n = 0;
  for (const Group& g : groups_) n += g.free_count;
  return n;
}

Result<BlockRun> BlockAllocator::Reserve(uint32_t max_blocks) {
  HOODY_ASSERT(max_blocks > 0, "empty allocation");
  const uint64_t n_groups = groups_.size();
  if (n_groups == 0) return Status::NoSpace("data file has no blocks");
  const uint64_t start_group = (cursor_ / kGroupBlocks) % n_groups;
  for (uint64_t i = 0; i <= n_groups; ++i) {
    const uint64_t gi = (start_group + i) % n_groups;
    Group& g = groups_[gi];
    if (g.free_count == 0) continue;
    uint32_t bit = (i == 0 && cursor_ / kGroupBlocks == gi) ? cursor_ % kGroupBlocks : 0;
    // Find the first free bit, skipping whole busy words.
    while (bit < kGroupBlocks) {
      const uint32_t w = bit / 64;
      if ((g.used[w] | g.quarantine[w] | g.reserved[w]) == ~uint64_t{0}) {
        bit = (w + 1) * 64;
        continue;
      }
      if (!Busy(g, bit)) break;
      ++bit;
    }
    if (bit >= kGroupBlocks) continue;  // free blocks lie before the cursor: next pass
    uint32_t count = 0;
    while (count < max_blocks && bit + count < kGroupBlocks && !Busy(g, bit + count)) ++count;
    const BlockRun run{BlockNo(gi * kGroupBlocks + bit), count};
    SetBits(run, &Group::reserved, true);
    g.free_count -= count;
    cursor_ = run.start.value + count;
    return run;
  }
  return Status::NoSpace("every block of the data file is in use");
}

void BlockAllocator::Claim(WriteScope& scope, BlockRun run, bool free_on_rollback) {
  // About to hold new data: nothing to punch there any more. (A rollback
  // leaves the bits clear: the host keeps those bytes until the block is
  // reused, which costs space, never correctness.)
  ForgetUnpunched(run);
  SetBits(run, &Group::reserved, false);
  SetBits(run, &Group::used, true);
  used_ += run.count;
  Persist(scope, run.start.value / kGroupBlocks);
  scope.OnRollback([this, run, free_on_rollback] {
    SetBits(run, &Group::used, false);
    used_ -= run.count;
    if (free_on_rollback) {
      groups_[run.start.value / kGroupBlocks].free_count += run.count;
    } else {
      SetBits(run, &Group::reserved, true);
    }
  });
}

void BlockAllocator::Unreserve(BlockRun run) {
  SetBits(run, &Group::reserved, false);
  groups_[run.start.value / kGroupBlocks].free_count += run.count;
}

Result<BlockRun> BlockAllocator::Allocate(WriteScope& scope, uint32_t max_blocks) {
  HOODY_ASSIGN_OR_RETURN(BlockRun run, Reserve(max_blocks));
  Claim(scope, run, /*free_on_rollback=*/true);
  return run;
}

void BlockAllocator::Free(WriteScope& scope, BlockNo block) {
  const uint64_t gi = block.value / kGroupBlocks;
  HOODY_ASSERT(gi < groups_.size(), "freeing a block beyond the data file");
  SetBits(BlockRun{block, 1}, &Group::used, false);
  SetBits(BlockRun{block, 1}, &Group::quarantine, true);
  --used_;
  ++quarantined_;
  quarantine_by_epoch_[scope.epoch()].push_back(block);
  Persist(scope, gi);
}

std::vector<BlockRun> BlockAllocator::QuarantinedRuns(uint64_t durable_epoch) const {
  std::vector<BlockNo> blocks;
  auto end = quarantine_by_epoch_.upper_bound(durable_epoch);
  for (auto it = quarantine_by_epoch_.begin(); it != end; ++it) {
    blocks.insert(blocks.end(), it->second.begin(), it->second.end());
  }
  // Sorted, so neighbours freed at different times come back as one run.
  std::sort(blocks.begin(), blocks.end());
  std::vector<BlockRun> runs;
  for (BlockNo b : blocks) {
    if (!runs.empty() && runs.back().start.value + runs.back().count == b.value) {
      ++runs.back().count;
    } else {
      runs.push_back(BlockRun{b, 1});
    }
  }
  return runs;
}

std::vector<BlockRun> BlockAllocator::ReleaseQuarantine(uint64_t durable_epoch) {
  std::vector<BlockRun> released = QuarantinedRuns(durable_epoch);
  auto end = quarantine_by_epoch_.upper_bound(durable_epoch);
  for (auto it = quarantine_by_epoch_.begin(); it != end; ++it) {
    for (BlockNo b : it->second) {
      Group& g = groups_[b.value / kGroupBlocks];
      const uint32_t bit = b.value % kGroupBlocks;
      const uint64_t mask = uint64_t{1} << (bit % 64);
      g.quarantine[bit / 64] &= ~mask;
      ++g.free_count;
      --quarantined_;
      // A used block is never unpunched (Claim forgets it), so this bit was
      // clear.
      g.unpunched[bit / 64] |= mask;
      ++g.unpunched_count;
      ++unpunched_;
    }
  }
  quarantine_by_epoch_.erase(quarantine_by_epoch_.begin(), end);
  return released;
}

void BlockAllocator::ForgetUnpunched(BlockRun run) {
  Group& g = groups_[run.start.value / kGroupBlocks];
  if (g.unpunched_count == 0) return;
  const uint32_t first = run.start.value % kGroupBlocks;
  for (uint32_t i = first; i < first + run.count; ++i) {
    const uint64_t mask = uint64_t{1} << (i % 64);
    if ((g.unpunched[i / 64] & mask) == 0) continue;
    g.unpunched[i / 64] &= ~mask;
    --g.unpunched_count;
    --unpunched_;
  }
}

std::vector<BlockRun> BlockAllocator::TakeUnpunched(uint32_t min_blocks, size_t max_runs) {
  HOODY_ASSERT(min_blocks > 0, "empty punch run");
  std::vector<BlockRun> runs;
  for (uint64_t gi = 0; gi < groups_.size() && runs.size() < max_runs; ++gi) {
    Group& g = groups_[gi];
    if (g.unpunched_count < min_blocks) continue;
    auto punchable = [&](uint32_t bit) {
      return ((g.unpunched[bit / 64] >> (bit % 64)) & 1) != 0 && !Busy(g, bit);
    };
    uint32_t bit = 0;
    while (bit < kGroupBlocks && runs.size() < max_runs) {
      if (g.unpunched[bit / 64] == 0) {
        bit = (bit / 64 + 1) * 64;
        continue;
      }
      if (!punchable(bit)) {
        ++bit;
        continue;
      }
      uint32_t count = 1;
      while (bit + count < kGroupBlocks && punchable(bit + count)) ++count;
      if (count >= min_blocks) {
        const BlockRun run{BlockNo(gi * kGroupBlocks + bit), count};
        ForgetUnpunched(run);
        SetBits(run, &Group::reserved, true);
        g.free_count -= count;
        runs.push_back(run);
      }
      bit += count;
    }
  }
  return runs;
}

}  // namespace hoodyfs::index
