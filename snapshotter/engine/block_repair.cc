#include "snapshotter/engine/block_repair.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "base/test_hook.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"
#include "blockstore/checksum.h"
#include "index/keys.h"
#include "index/records.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

namespace {

// Reads of this many blocks go O_DIRECT on the io_uring device (as the
// scrub's): the disk is read, not a page the host still caches.
constexpr uint64_t kDiskReadBlocks = 16;

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// Reads the kDiskReadBlocks-aligned window holding `block` into `buf` (at
// least kDiskReadBlocks blocks); returns where the block's bytes are.
Result<const std::byte*> ReadFromDisk(blockstore::BlockDevice& device, BlockNo block,
                                      blockstore::AlignedBuffer& buf) {
  const uint64_t device_blocks = device.SizeBytes() / kBlockSize;
  if (block.value >= device_blocks) {
    return Status::Corruption("block " + std::to_string(block.value) + " lies past the data file");
  }
  const uint64_t first =
      std::min(block.value - block.value % kDiskReadBlocks,
               device_blocks > kDiskReadBlocks ? device_blocks - kDiskReadBlocks : 0);
  const uint64_t count = std::min(kDiskReadBlocks, device_blocks - first);
  blockstore::IoOp op;
  op.kind = blockstore::IoKind::kRead;
  op.offset_bytes = first * kBlockSize;
  op.buffer = buf.data();
  op.length_bytes = static_cast<uint32_t>(count * kBlockSize);
  HOODY_RETURN_IF_ERROR(device.Execute(std::span<blockstore::IoOp>(&op, 1)));
  return buf.data() + (block.value - first) * kBlockSize;
}

}  // namespace

const char* BlockRepairResultName(BlockRepairResult r) {
  switch (r) {
    case BlockRepairResult::kRepaired:
      return "repaired";
    case BlockRepairResult::kAlreadyGood:
      return "already good";
    case BlockRepairResult::kNoLongerInUse:
      return "no longer in use";
    case BlockRepairResult::kRecordChanged:
      return "reused since the scrub";
  }
  return "?";
}

EngineInternals BlockRepairer::internals() const { return EngineInternals(store_); }

Result<BlockRepairResult> BlockRepairer::Repair(BlockNo block, uint64_t checksum,
                                                std::span<const std::byte> bytes) {
  // Never write bytes that are not the block's own content.
  if (bytes.size() != kBlockSize) {
    return Status::InvalidArgument("block repair: " + std::to_string(bytes.size()) +
                                   " bytes, not one block of " + std::to_string(kBlockSize));
  }
  if (const uint64_t found = blockstore::BlockChecksum(bytes.data()); found != checksum) {
    return Status::InvalidArgument("block repair: the bytes offered for block " +
                                   std::to_string(block.value) + " hash to " + Hex(found) +
                                   ", not " + Hex(checksum) + "; nothing written");
  }
  HOODY_RETURN_IF_ERROR(internals().CheckWritable());
  std::shared_lock<std::shared_mutex> guard(internals().data_readers(), std::defer_lock);
  {
    index::ReadScope s(internals().kv());
    HOODY_ASSIGN_OR_RETURN(auto v, s.Get(index::Table::kBlocks, index::BlockKey(block)));
    if (!v) return BlockRepairResult::kNoLongerInUse;
    HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(*v));
    if (rec.checksum != checksum) return BlockRepairResult::kRecordChanged;
    // Before the scope ends: the block cannot be released for reuse (a
    // commit's release takes the guard exclusively) until it is unlocked.
    guard.lock();
  }
  blockstore::BlockDevice& device = internals().device();
  blockstore::AlignedBuffer window(kDiskReadBlocks * kBlockSize);
  // A block that reads right already (healed, or repaired by a run that
  // was killed after its write) is left as it is.
  if (Result<const std::byte*> now = ReadFromDisk(device, block, window);
      now.ok() && blockstore::BlockChecksum(*now) == checksum) {
    return BlockRepairResult::kAlreadyGood;
  }
  HOODY_TEST_HOOK("block-repair-before-write");
  blockstore::AlignedBuffer data(kBlockSize);
  std::memcpy(data.data(), bytes.data(), kBlockSize);
  blockstore::IoOp write;
  write.kind = blockstore::IoKind::kWrite;
  write.offset_bytes = block.value * kBlockSize;
  write.buffer = data.data();
  write.length_bytes = kBlockSize;
  HOODY_RETURN_IF_ERROR(
      device.Execute(std::span<blockstore::IoOp>(&write, 1)).WithContext("block repair: write"));
  HOODY_TEST_HOOK("block-repair-written");
  HOODY_RETURN_IF_ERROR(internals().SyncRepairedData());
  // From the disk again (O_DIRECT): the repair counts only once the disk
  // gives the bytes back.
  HOODY_ASSIGN_OR_RETURN(const std::byte* back, ReadFromDisk(device, block, window));
  if (const uint64_t found = blockstore::BlockChecksum(back); found != checksum) {
    return Status::Corruption("block " + std::to_string(block.value) +
                              " was rewritten and synced but reads back as " + Hex(found) +
                              ", not " + Hex(checksum) + " (a bad sector?)");
  }
  return BlockRepairResult::kRepaired;
}

Result<BlockRepairResult> BlockRepairer::RepairToRecord(BlockNo block,
                                                        std::span<const std::byte> bytes) {
  uint64_t recorded = 0;
  {
    index::ReadScope s(internals().kv());
    HOODY_ASSIGN_OR_RETURN(auto v, s.Get(index::Table::kBlocks, index::BlockKey(block)));
    if (!v) {
      return Status::NotFound("block " + std::to_string(block.value) +
                              " is not in use (it has no block record): nothing to repair");
    }
    HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(*v));
    recorded = rec.checksum;
  }
  // Repair looks the record up again under the data-readers guard: a block
  // freed or reused since is left alone (kNoLongerInUse, kRecordChanged).
  return Repair(block, recorded, bytes);
}

}  // namespace hoodyfs::snapshotter
