// UringDevice: the production BlockDevice. Each Execute borrows one io_uring
// from a fixed pool, submits the whole batch through it (in waves of the
// queue depth when larger), waits for every completion and returns the ring.
// See docs/blockstore.md for why a pool and how the limits were chosen.
//
// Sync is a plain fdatasync on the descriptor, not IORING_OP_FSYNC: a caller
// of Sync wants to block until durability anyway, and one system call on the
// calling thread is simpler than a ring round trip. Grow and Discard share
// PosixDevice's code (BackingFile).
//
// With UringOptions::inline_writes, Execute makes a batch of writes itself
// (pwrite), as io_uring would in a worker; reads and started batches still
// go through the rings.
//
// Ownership: owns the descriptor and the rings. Thread-safety: every method
// may be called from many threads at once; at most `rings` batches run on
// the rings at a time and further callers wait for a ring (batches of inline
// writes need none: they are bounded by the threads that call).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "base/unique_fd.h"
#include "blockstore/backing_file.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

class RingPool;

struct UringOptions {
  unsigned rings = 4;         // 1..kMaxRings
  unsigned queue_depth = 64;  // 1..kMaxQueueDepth ops in flight per ring
  bool direct_io = false;     // whether the descriptor was opened O_DIRECT; for Describe()
  // Execute makes a batch of writes only with pwrite on the calling thread.
  // For a buffered descriptor on a filesystem that refuses non-blocking
  // buffered writes (ProbeNowaitBufferedWrites, file_ops.h): io_uring would
  // hand each write to a worker thread making the same call, and the caller
  // would sleep until it woke with the answer (docs/blockstore.md).
  bool inline_writes = false;
};
inline constexpr unsigned kMaxRings = 64;
inline constexpr unsigned kMaxQueueDepth = 4096;
// Rings kept for started batches (Start), besides the pool's: a receive
// keeps up to three files' writes in flight.
inline constexpr unsigned kStartRings = 3;

// Errors: kInvalidArgument when a limit above is broken.
Status ValidateUringOptions(const UringOptions& options);

// Tries io_uring_queue_init once. OK when this process may use io_uring;
// otherwise the reason (kernel without io_uring, seccomp, io_uring_disabled).
Status ProbeIoUring();

class UringDevice final : public BlockDevice {
 public:
  // Sets up the ring pool on `*fd`. Takes the descriptor out of `*fd` only on
  // success, so a caller can fall back to PosixDevice over the same file.
  // `direct_reads`, when valid, is the same file opened O_DIRECT: reads of at
  // least kDirectReadMinBytes (ring.h) go through it (the device owns it).
  // Errors: kInvalidArgument (options), whatever io_uring_queue_init's errno
  // maps to (the kernel refuses io_uring), what FromErrno maps for fstat.
  static Result<std::unique_ptr<UringDevice>> Create(UniqueFd* fd, const UringOptions& options,
                                                     UniqueFd direct_reads = UniqueFd());
  ~UringDevice() override;

  Status Execute(std::span<IoOp> ops) override;
  // Submits the batch on a ring of its own pool (kStartRings), lent to it
  // until it is waited for, and returns. With every such ring lent it runs
  // the batch with pwrite and pread before returning. It never waits for a
  // ring: its caller may hold some in started batches. And the rings it
  // lends are never the ones Execute waits for: a started batch's owner
  // may block (on the store's locks) while it holds one, and a thread that
  // holds such a lock may be waiting in Execute.
  std::unique_ptr<StartedIo> Start(std::vector<IoOp> ops) override;
  Status Sync() override { return file_.Sync(); }
  Status StartWriteback() override { return file_.StartWriteback(); }
  uint64_t SizeBytes() const override { return file_.SizeBytes(); }
  Status Grow(uint64_t new_size_bytes) override { return file_.Grow(new_size_bytes); }
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes) override {
    return file_.Discard(offset_bytes, length_bytes);
  }
  std::string Describe() const override;

 private:
  // Sets each op's result to its validation; whether any op is valid.
  bool CheckOps(std::span<IoOp> ops) const;

  UringDevice(UniqueFd fd, uint64_t size_bytes, UniqueFd direct_reads,
              std::unique_ptr<RingPool> pool, std::unique_ptr<RingPool> start_pool,
              const UringOptions& options);

  BackingFile file_;
  UniqueFd direct_reads_;                 // invalid: every read goes through file_
  std::unique_ptr<RingPool> pool_;        // declared after the fds: rings go before they close
  std::unique_ptr<RingPool> start_pool_;  // Start's rings
  const bool direct_io_;
  const bool inline_writes_;
};

}  // namespace hoodyfs::blockstore
