// Store: data block allocation, growing the data file when the free map is
// full.
#include <algorithm>

#include "index/keys.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::ReadScope;
using index::WriteScope;

Result<index::BlockRun> Store::AllocateBlocks(WriteScope& scope, uint32_t max_blocks) {
  HOODY_ASSIGN_OR_RETURN(index::BlockRun run, ReserveBlocks(scope, max_blocks));
  allocator_.Claim(scope, run, /*free_on_rollback=*/true);
  return run;
}

Result<index::BlockRun> Store::ReserveBlocks(WriteScope& scope, uint32_t max_blocks) {
  Result<index::BlockRun> run = allocator_.Reserve(max_blocks);
  if (run.ok() || run.status().code() != Code::kNoSpace) return run;
  HOODY_RETURN_IF_ERROR(GrowDataFile(scope, 1));
  return allocator_.Reserve(max_blocks);
}

Status Store::GrowDataFile(WriteScope& scope, uint64_t min_groups) {
  // Grow the data file by whole free-map groups (the step, 64 MiB), or by
  // one group (16 MiB) at a time when the host has less room than a step left.
  const uint64_t group_bytes = uint64_t{index::kFreeMapGroupBlocks} * kBlockSize;
  const uint64_t step = std::max<uint64_t>(options_.grow_step_bytes, group_bytes);
  uint64_t groups = std::max(min_groups, step / group_bytes);
  for (;;) {
    const uint64_t new_size =
        (allocator_.capacity_blocks() + groups * index::kFreeMapGroupBlocks) * uint64_t{kBlockSize};
    // The data file may already be that large: a process that died after
    // growing it, before the commit recording the new groups, leaves it so
    // (as does a growth whose scope rolled back). Grow never shrinks: ask
    // only for what is missing.
    if (device_->SizeBytes() >= new_size) break;
    Status grown = device_->Grow(new_size);
    if (grown.ok()) break;
    if (grown.code() != Code::kNoSpace || groups <= min_groups) {
      return grown.WithContext("grow data file");
    }
    groups = min_groups;
  }
  // The commit that records the new groups must find the new size durable
  // (Load refuses a free map larger than the file), even when no data write
  // follows (the write that wanted the space failed): count the growth like
  // a data write, so that commit syncs the data file first.
  // No log record can carry a growth: the next fsync syncs the data file.
  data_writes_.fetch_add(1, std::memory_order_release);
  unsynced_data_->NoteUnloggable();
  allocator_.AddGroups(scope, groups);
  return Status::OK();
}

uint64_t Store::capacity_blocks() const {
  ReadScope s(*kv_);
  return allocator_.capacity_blocks();
}

uint64_t Store::used_blocks() const {
  ReadScope s(*kv_);
  return allocator_.used_blocks();
}

uint64_t Store::allocatable_blocks() const {
  ReadScope s(*kv_);
  return allocator_.free_blocks();
}

}  // namespace hoodyfs::snapshotter
