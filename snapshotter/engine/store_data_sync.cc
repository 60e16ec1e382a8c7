// Store: making file data durable before the metadata that points at it,
// at a group commit (sync the data file) and at an fsync (carry small
// changes' data in the log record instead: docs/design.md, "What one fsync
// costs").
#include <algorithm>
#include <string>
#include <vector>

#include "base/log.h"
#include "blockstore/aligned_buffer.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

namespace {
// One I/O batch of the device at most.
constexpr uint64_t kChunkBytes = blockstore::kMaxIoBytes;
}  // namespace

Status Store::SyncDataForCommit() {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  // Every block the sealed memtable references was written before its
  // metadata was recorded, so before the seal, so before this load.
  const uint64_t written = data_writes_.load(std::memory_order_acquire);
  if (written == synced_data_writes_) return Status::OK();
  const uint64_t mark = unsynced_data_->Mark();
  if (Status s = device_->Sync(); !s.ok()) {
    sync_failed_.store(true, std::memory_order_release);
    Log(LogLevel::kError,
        dir_ + ": data file sync failed (" + s.ToString() + "); refusing further changes");
    return s.WithContext("sync data file");
  }
  synced_data_writes_ = written;
  unsynced_data_->Synced(mark);
  return Status::OK();
}

Status Store::SyncRepairedData() {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  if (Status s = device_->Sync(); !s.ok()) {
    sync_failed_.store(true, std::memory_order_release);
    Log(LogLevel::kError, dir_ + ": data file sync after a block repair failed (" + s.ToString() +
                              "); refusing further changes");
    return s.WithContext("sync data file after a block repair");
  }
  return Status::OK();
}

Status Store::LogDataForSync(index::WalPayload& record) {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  // Every block the record's entries point at was written, and noted,
  // before the entries were drained into it: Take returns it (or says the
  // data file must be synced). No block it returns can be reused before
  // the read below: freed blocks are released only after a group commit,
  // which waits for this Sync (KvStore's flush mutex).
  std::optional<std::vector<UnsyncedData::Range>> ranges = unsynced_data_->Take();
  if (!ranges) return SyncDataForCommit();
  // One batch for every range (at most log_data_max_bytes in all): the
  // device keeps the reads in flight together, one wait on the fsync path.
  uint64_t total = 0;
  for (const UnsyncedData::Range& r : *ranges) total += r.length;
  if (total == 0) return Status::OK();
  blockstore::AlignedBuffer buf(total);
  std::vector<blockstore::IoOp> ops;
  uint64_t placed = 0;
  for (const UnsyncedData::Range& r : *ranges) {
    for (uint64_t at = 0; at < r.length; at += kChunkBytes) {
      blockstore::IoOp op;
      op.kind = blockstore::IoKind::kRead;
      op.offset_bytes = r.offset + at;
      op.buffer = buf.data() + placed;
      op.length_bytes = static_cast<uint32_t>(std::min(kChunkBytes, r.length - at));
      placed += op.length_bytes;
      ops.push_back(op);
    }
  }
  HOODY_RETURN_IF_ERROR(device_->Execute(ops).WithContext("read back data to log"));
  for (const blockstore::IoOp& op : ops) {
    record.AddData(op.offset_bytes,
                   std::string_view(static_cast<const char*>(op.buffer), op.length_bytes));
  }
  return Status::OK();
}

index::DataReplay Store::ReplayInto(blockstore::BlockDevice& device) {
  return [&device](const std::vector<index::WalData>& data) -> Status {
    // In log order, one write at a time: a later write of a block wins.
    blockstore::AlignedBuffer buf;
    for (const index::WalData& d : data) {
      if (d.offset + d.bytes.size() > device.SizeBytes()) {
        return Status::Corruption("the metadata log writes file data at " +
                                  std::to_string(d.offset) + "+" + std::to_string(d.bytes.size()) +
                                  ", past the data file's end (" +
                                  std::to_string(device.SizeBytes()) + " bytes)");
      }
      for (uint64_t at = 0; at < d.bytes.size(); at += kChunkBytes) {
        const uint64_t n = std::min<uint64_t>(kChunkBytes, d.bytes.size() - at);
        if (buf.size_bytes() < n) buf = blockstore::AlignedBuffer(n);
        std::copy_n(reinterpret_cast<const std::byte*>(d.bytes.data() + at), n, buf.data());
        blockstore::IoOp op;
        op.kind = blockstore::IoKind::kWrite;
        op.offset_bytes = d.offset + at;
        op.buffer = buf.data();
        op.length_bytes = static_cast<uint32_t>(n);
        HOODY_RETURN_IF_ERROR(device.Execute({&op, 1}).WithContext("write back logged data"));
      }
    }
    return device.Sync().WithContext("sync logged data written back");
  };
}

}  // namespace hoodyfs::snapshotter
