#include "blockstore/testing/mem_device.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "blockstore/testing/split_mix.h"

namespace hoodyfs::blockstore::testing {
namespace {

void CopySector(const std::vector<std::byte>& from, std::vector<std::byte>* to, uint64_t sector) {
  std::memcpy(to->data() + sector * kIoAlign, from.data() + sector * kIoAlign, kIoAlign);
}

}  // namespace

MemDevice::MemDevice(MemDeviceOptions options)
    : capacity_bytes_(options.capacity_bytes),
      current_(options.size_bytes),
      durable_(options.size_bytes),
      dirty_(options.size_bytes / kIoAlign) {
  HOODY_ASSERT(options.size_bytes % kIoAlign == 0, "MemDevice size must be 4 KiB aligned");
}

Status MemDevice::Execute(std::span<IoOp> ops) {
  std::lock_guard<std::mutex> lock(mu_);
  for (IoOp& op : ops) {
    op.result = ValidateIoOp(op, current_.size());
    if (op.result.ok()) Transfer(op);
  }
  return FirstFailure(ops);
}

void MemDevice::Transfer(IoOp& op) {
  std::byte* at = current_.data() + op.offset_bytes;
  if (op.kind == IoKind::kRead) {
    std::memcpy(op.buffer, at, op.length_bytes);
    return;
  }
  std::memcpy(at, op.buffer, op.length_bytes);
  const uint64_t first = op.offset_bytes / kIoAlign;
  std::fill_n(dirty_.begin() + static_cast<ptrdiff_t>(first), op.length_bytes / kIoAlign, true);
}

Status MemDevice::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  durable_.resize(current_.size());
  for (uint64_t sector = 0; sector < dirty_.size(); ++sector) {
    if (dirty_[sector]) CopySector(current_, &durable_, sector);
  }
  std::fill(dirty_.begin(), dirty_.end(), false);
  return Status::OK();
}

uint64_t MemDevice::SizeBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.size();
}

Status MemDevice::Grow(uint64_t new_size_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (new_size_bytes % kIoAlign != 0 || new_size_bytes < current_.size()) {
    return Status::InvalidArgument("grow to " + std::to_string(new_size_bytes) + " from " +
                                   std::to_string(current_.size()) + ": misaligned or shrinking");
  }
  if (new_size_bytes > capacity_bytes_) {
    return Status::NoSpace("grow to " + std::to_string(new_size_bytes) + ": capacity is " +
                           std::to_string(capacity_bytes_));
  }
  current_.resize(new_size_bytes);
  dirty_.resize(new_size_bytes / kIoAlign, false);
  return Status::OK();
}

Status MemDevice::Discard(uint64_t offset_bytes, uint64_t length_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  HOODY_RETURN_IF_ERROR(ValidateRange(offset_bytes, length_bytes, current_.size()));
  std::fill_n(current_.begin() + static_cast<ptrdiff_t>(offset_bytes), length_bytes, std::byte{0});
  std::fill_n(dirty_.begin() + static_cast<ptrdiff_t>(offset_bytes / kIoAlign),
              length_bytes / kIoAlign, true);
  return Status::OK();
}

std::string MemDevice::Describe() const {
  return "memory, " + std::to_string(SizeBytes()) + " bytes";
}

void MemDevice::SimulatePowerLoss() { PowerLoss(false, 0); }

void MemDevice::SimulatePowerLoss(uint64_t tear_seed) { PowerLoss(true, tear_seed); }

void MemDevice::PowerLoss(bool tear, uint64_t tear_seed) {
  std::lock_guard<std::mutex> lock(mu_);
  // Sectors kept from a torn write-back land in the durable image, but only
  // below the durable size: an unsynced Grow is lost with its sectors.
  const uint64_t durable_sectors = durable_.size() / kIoAlign;
  for (uint64_t sector = 0; sector < std::min<uint64_t>(dirty_.size(), durable_sectors); ++sector) {
    if (dirty_[sector] && tear && KeepsUnsyncedSector(tear_seed, sector)) {
      CopySector(current_, &durable_, sector);
    }
  }
  current_ = durable_;
  dirty_.assign(current_.size() / kIoAlign, false);
}

uint64_t MemDevice::UnsyncedSectors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<uint64_t>(std::count(dirty_.begin(), dirty_.end(), true));
}

}  // namespace hoodyfs::blockstore::testing
