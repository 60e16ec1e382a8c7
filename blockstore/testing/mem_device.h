// MemDevice: an in-memory BlockDevice that models what a disk keeps across a
// power loss. It holds two images: the durable bytes (as of the last Sync)
// and the current bytes every read sees. SimulatePowerLoss() throws away
// everything since the last Sync, optionally keeping a seeded random subset
// of the unsynced 4 KiB sectors (a torn write-back).
//
// File semantics otherwise: Grow zero-extends (and, like a file's size, is
// durable only after a Sync), Discard zeroes the range, ops beyond the size
// fail like on the real devices.
//
// Ownership: owns its memory. Thread-safety: every method may be called from
// many threads at once; one mutex serializes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "blockstore/block_device.h"

namespace hoodyfs::blockstore::testing {

struct MemDeviceOptions {
  uint64_t size_bytes = 0;               // initial size, durable from the start; kIoAlign multiple
  uint64_t capacity_bytes = UINT64_MAX;  // Grow beyond this fails with kNoSpace
};

class MemDevice final : public BlockDevice {
 public:
  explicit MemDevice(MemDeviceOptions options = {});

  // BlockDevice; same errors as the file-backed devices. Sync never fails.
  Status Execute(std::span<IoOp> ops) override;
  Status Sync() override;
  uint64_t SizeBytes() const override;
  Status Grow(uint64_t new_size_bytes) override;
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes) override;
  std::string Describe() const override;

  // Drops every write, discard and grow since the last Sync.
  void SimulatePowerLoss();
  // As above, but each unsynced sector independently keeps its newest
  // contents or reverts, chosen by `tear_seed` (same seed, same choice).
  void SimulatePowerLoss(uint64_t tear_seed);

  // Sectors written since the last Sync: what a power loss could lose.
  uint64_t UnsyncedSectors() const;

 private:
  void PowerLoss(bool tear, uint64_t tear_seed);
  void Transfer(IoOp& op);  // REQUIRES: mu_ held, op validated

  const uint64_t capacity_bytes_;
  mutable std::mutex mu_;
  std::vector<std::byte> current_;  // guarded by mu_: what reads see
  std::vector<std::byte> durable_;  // guarded by mu_: what survives a power loss
  std::vector<bool> dirty_;         // guarded by mu_: per sector of current_, changed since Sync
};

}  // namespace hoodyfs::blockstore::testing
