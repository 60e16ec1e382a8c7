// FaultyDevice: wraps any BlockDevice and injects faults from a seeded plan,
// so the layers above can be tested against failing I/O: a failed write, a
// full disk, a torn write, a rotted block, a failed fsync, and a power loss.
//
// Power loss works over any device, a real file included: before forwarding
// a write or discard, FaultyDevice reads the bytes it will replace (the
// pre-image). PowerLoss() writes the pre-images of everything since the last
// successful Sync back, newest first, and syncs: the device is left as the
// last Sync left it. Grow is not undone. The pre-images are kept in memory
// until the next successful Sync, so a test that never syncs grows the log.
//
// Op counters are 1-based and count ops (not batches) of each kind since the
// plan was set. Every injected fault appends one line to Log().
//
// Ownership: borrows the wrapped device (which must outlive it) or owns it.
// Thread-safety: every method may be called from many threads; one mutex
// serializes them, ops one at a time, so runs with a given seed repeat.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore::testing {

struct FaultPlan {
  uint64_t seed = 1;  // picks flipped bits, torn-write lengths and one-in-N draws
  // 0 disables each numbered fault.
  uint64_t fail_write_n = 0;           // that write fails with kIoError, writing nothing
  uint64_t no_space_from_write_n = 0;  // that write and all later ones fail with kNoSpace,
                                       // writing nothing, until ClearNoSpace()
  uint64_t torn_write_n = 0;           // that write stores a seeded prefix of whole 4 KiB sectors
                                       // (possibly none) and then fails with kIoError
  uint64_t flip_read_n = 0;            // that read succeeds with one seeded bit flipped
  // Every read covering this byte gets one seeded bit of it flipped.
  std::optional<uint64_t> flip_read_offset_bytes;
  uint64_t fail_sync_n = 0;           // that Sync fails with kIoError and makes nothing durable
  bool fail_every_writeback = false;  // every StartWriteback fails with kIoError
  uint32_t write_error_one_in = 0;    // each write fails with kIoError with chance 1/N (0: never)
  uint32_t read_error_one_in = 0;     // each read fails with kIoError with chance 1/N (0: never)
};

class FaultyDevice final : public BlockDevice {
 public:
  FaultyDevice(BlockDevice& target, FaultPlan plan);
  FaultyDevice(std::unique_ptr<BlockDevice> target, FaultPlan plan);

  // BlockDevice, with the planned faults.
  Status Execute(std::span<IoOp> ops) override;
  Status Sync() override;
  // Forwarded; never makes anything durable here (PowerLoss still reverts
  // everything since the last Sync), as on a real host.
  Status StartWriteback() override;
  uint64_t SizeBytes() const override;
  Status Grow(uint64_t new_size_bytes) override;
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes) override;
  std::string Describe() const override;

  // Replaces the plan and restarts the op counters (the undo log is kept).
  void SetPlan(FaultPlan plan);
  // Ends the kNoSpace run started by no_space_from_write_n.
  void ClearNoSpace();
  // Restores every byte changed since the last successful Sync, then syncs.
  // With `tear_seed`, each changed sector instead keeps its newest contents
  // or reverts, independently, chosen by the seed.
  // Errors: whatever the wrapped device returns.
  Status PowerLoss();
  Status PowerLoss(uint64_t tear_seed);

  // Blocks until StartWriteback has been called `n` times in all (across
  // plans), failed calls included: how a test waits for a background thread
  // that starts writeback, without sleeping.
  void WaitForWritebacks(uint64_t n);
  // StartWriteback calls so far, in all.
  uint64_t writeback_calls() const;

  // One line per injected fault, in order.
  std::vector<std::string> Log() const;

 private:
  struct PreImage {
    uint64_t offset_bytes;
    AlignedBuffer bytes;
  };

  // Each REQUIRES: mu_ held.
  Status DoWrite(IoOp& op);
  Status DoRead(IoOp& op);
  Status Forward(IoOp& op);
  Status SavePreImage(uint64_t offset_bytes, uint64_t length_bytes);
  Status DoPowerLoss(std::optional<uint64_t> tear_seed);
  // Writes `sectors` sectors of the pre-image back, from `first_sector` on.
  Status Restore(PreImage& image, uint32_t first_sector, uint32_t sectors);
  bool Roll(uint32_t one_in);
  void FlipBit(IoOp& op, uint64_t byte_in_op, const std::string& why);
  void Record(std::string line);

  std::unique_ptr<BlockDevice> owned_;
  BlockDevice& target_;

  mutable std::mutex mu_;
  FaultPlan plan_;                        // guarded by mu_
  uint64_t draws_ = 0;                    // guarded by mu_: seeded random draws so far
  uint64_t writes_ = 0;                   // guarded by mu_
  uint64_t reads_ = 0;                    // guarded by mu_
  uint64_t syncs_ = 0;                    // guarded by mu_
  uint64_t writebacks_total_ = 0;         // guarded by mu_: since construction
  std::condition_variable writeback_cv_;  // signalled when writebacks_total_ grows
  bool no_space_cleared_ = false;         // guarded by mu_
  std::vector<PreImage> undo_;            // guarded by mu_: oldest first, since the last good Sync
  std::vector<std::string> log_;          // guarded by mu_
};

}  // namespace hoodyfs::blockstore::testing
