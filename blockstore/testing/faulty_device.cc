#include "blockstore/testing/faulty_device.h"

#include <algorithm>
#include <utility>

#include "blockstore/testing/split_mix.h"

namespace hoodyfs::blockstore::testing {

FaultyDevice::FaultyDevice(BlockDevice& target, FaultPlan plan)
    : target_(target), plan_(std::move(plan)) {}

FaultyDevice::FaultyDevice(std::unique_ptr<BlockDevice> target, FaultPlan plan)
    : owned_(std::move(target)), target_(*owned_), plan_(std::move(plan)) {}

Status FaultyDevice::Execute(std::span<IoOp> ops) {
  std::lock_guard<std::mutex> lock(mu_);
  for (IoOp& op : ops) {
    op.result = ValidateIoOp(op, target_.SizeBytes());
    if (!op.result.ok()) continue;
    op.result = op.kind == IoKind::kWrite ? DoWrite(op) : DoRead(op);
  }
  return FirstFailure(ops);
}

Status FaultyDevice::DoWrite(IoOp& op) {
  const uint64_t n = ++writes_;
  const std::string what = "write #" + std::to_string(n) + " (" + DescribeOp(op) + ")";
  if (n == plan_.fail_write_n) {
    Record("failed " + what);
    return Status::IoError("injected failure of " + what);
  }
  if (plan_.no_space_from_write_n != 0 && n >= plan_.no_space_from_write_n && !no_space_cleared_) {
    Record("no space for " + what);
    return Status::NoSpace("injected ENOSPC for " + what);
  }
  if (Roll(plan_.write_error_one_in)) {
    Record("randomly failed " + what);
    return Status::IoError("injected random failure of " + what);
  }
  HOODY_RETURN_IF_ERROR(SavePreImage(op.offset_bytes, op.length_bytes));
  if (n != plan_.torn_write_n) return Forward(op);

  const uint32_t sectors = op.length_bytes / kIoAlign;
  const uint32_t kept = static_cast<uint32_t>(SplitMix64(plan_.seed ^ ++draws_) % sectors);
  Record("tore " + what + " after " + std::to_string(kept) + " of " + std::to_string(sectors) +
         " sectors");
  if (kept > 0) {
    IoOp prefix = op;
    prefix.length_bytes = kept * kIoAlign;
    HOODY_RETURN_IF_ERROR(Forward(prefix));
  }
  return Status::IoError("injected torn " + what);
}

Status FaultyDevice::DoRead(IoOp& op) {
  const uint64_t n = ++reads_;
  if (Roll(plan_.read_error_one_in)) {
    Record("randomly failed read #" + std::to_string(n) + " (" + DescribeOp(op) + ")");
    return Status::IoError("injected random failure of read #" + std::to_string(n));
  }
  HOODY_RETURN_IF_ERROR(Forward(op));
  const std::string what = "read #" + std::to_string(n);
  if (n == plan_.flip_read_n) {
    FlipBit(op, SplitMix64(plan_.seed ^ ++draws_) % op.length_bytes, what);
  }
  const std::optional<uint64_t> at = plan_.flip_read_offset_bytes;
  if (at && *at >= op.offset_bytes && *at - op.offset_bytes < op.length_bytes) {
    FlipBit(op, *at - op.offset_bytes, what);
  }
  return Status::OK();
}

Status FaultyDevice::Forward(IoOp& op) {
  target_.Execute(std::span<IoOp>(&op, 1)).IgnoreError();  // the result is in op.result
  return op.result;
}

void FaultyDevice::FlipBit(IoOp& op, uint64_t byte_in_op, const std::string& why) {
  const unsigned bit = static_cast<unsigned>(SplitMix64(plan_.seed ^ ++draws_) % 8);
  static_cast<unsigned char*>(op.buffer)[byte_in_op] ^= static_cast<unsigned char>(1u << bit);
  Record("flipped bit " + std::to_string(bit) + " of device byte " +
         std::to_string(op.offset_bytes + byte_in_op) + " in " + why);
}

Status FaultyDevice::SavePreImage(uint64_t offset_bytes, uint64_t length_bytes) {
  // In pieces of at most one op, so a large Discard reads like any batch.
  for (uint64_t done = 0; done < length_bytes;) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(length_bytes - done, kMaxIoBytes));
    PreImage image{offset_bytes + done, AlignedBuffer(n)};
    IoOp read{IoKind::kRead, image.offset_bytes, image.bytes.data(), n, Status()};
    HOODY_RETURN_IF_ERROR(target_.Execute(std::span<IoOp>(&read, 1)));
    undo_.push_back(std::move(image));
    done += n;
  }
  return Status::OK();
}

bool FaultyDevice::Roll(uint32_t one_in) {
  return one_in != 0 && SplitMix64(plan_.seed ^ ++draws_) % one_in == 0;
}

void FaultyDevice::Record(std::string line) { log_.push_back(std::move(line)); }

Status FaultyDevice::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t n = ++syncs_;
  if (n == plan_.fail_sync_n) {
    Record("failed sync #" + std::to_string(n));
    return Status::IoError("injected failure of sync #" + std::to_string(n));
  }
  HOODY_RETURN_IF_ERROR(target_.Sync());
  undo_.clear();
  return Status::OK();
}

Status FaultyDevice::StartWriteback() {
  Status s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t n = ++writebacks_total_;
    if (plan_.fail_every_writeback) {
      Record("failed writeback start #" + std::to_string(n));
      s = Status::IoError("injected failure of writeback start #" + std::to_string(n));
    } else {
      s = target_.StartWriteback();
    }
  }
  writeback_cv_.notify_all();
  return s;
}

void FaultyDevice::WaitForWritebacks(uint64_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  writeback_cv_.wait(lock, [&] { return writebacks_total_ >= n; });
}

uint64_t FaultyDevice::writeback_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writebacks_total_;
}

uint64_t FaultyDevice::SizeBytes() const { return target_.SizeBytes(); }

Status FaultyDevice::Grow(uint64_t new_size_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  return target_.Grow(new_size_bytes);
}

Status FaultyDevice::Discard(uint64_t offset_bytes, uint64_t length_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  HOODY_RETURN_IF_ERROR(ValidateRange(offset_bytes, length_bytes, target_.SizeBytes()));
  HOODY_RETURN_IF_ERROR(SavePreImage(offset_bytes, length_bytes));
  return target_.Discard(offset_bytes, length_bytes);
}

std::string FaultyDevice::Describe() const { return "fault injection over " + target_.Describe(); }

void FaultyDevice::SetPlan(FaultPlan plan) {
  std::lock_guard<std::mutex> lock(mu_);
  plan_ = std::move(plan);
  draws_ = writes_ = reads_ = syncs_ = 0;
  no_space_cleared_ = false;
}

void FaultyDevice::ClearNoSpace() {
  std::lock_guard<std::mutex> lock(mu_);
  no_space_cleared_ = true;
}

Status FaultyDevice::PowerLoss() {
  std::lock_guard<std::mutex> lock(mu_);
  return DoPowerLoss(std::nullopt);
}

Status FaultyDevice::PowerLoss(uint64_t tear_seed) {
  std::lock_guard<std::mutex> lock(mu_);
  return DoPowerLoss(tear_seed);
}

Status FaultyDevice::DoPowerLoss(std::optional<uint64_t> tear_seed) {
  Record(tear_seed ? "torn power loss" : "power loss");
  // Newest first, so a sector written twice ends at its oldest pre-image: the
  // synced contents. A torn loss decides per device sector, so every
  // pre-image of a kept sector is skipped alike.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    const uint32_t sectors = static_cast<uint32_t>(it->bytes.size_bytes() / kIoAlign);
    if (!tear_seed) {
      HOODY_RETURN_IF_ERROR(Restore(*it, 0, sectors));
      continue;
    }
    for (uint32_t i = 0; i < sectors; ++i) {
      if (KeepsUnsyncedSector(*tear_seed, it->offset_bytes / kIoAlign + i)) continue;
      HOODY_RETURN_IF_ERROR(Restore(*it, i, 1));
    }
  }
  HOODY_RETURN_IF_ERROR(target_.Sync());
  undo_.clear();
  return Status::OK();
}

Status FaultyDevice::Restore(PreImage& image, uint32_t first_sector, uint32_t sectors) {
  IoOp write{IoKind::kWrite, image.offset_bytes + uint64_t{first_sector} * kIoAlign,
             image.bytes.data() + uint64_t{first_sector} * kIoAlign, sectors * kIoAlign, Status()};
  return target_.Execute(std::span<IoOp>(&write, 1));
}

std::vector<std::string> FaultyDevice::Log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

}  // namespace hoodyfs::blockstore::testing
