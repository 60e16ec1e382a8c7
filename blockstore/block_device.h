// BlockDevice: the seam through which every byte of file data moves between
// the engine and the store's data file. It knows 4 KiB blocks and byte
// offsets, never files, inodes or snapshots.
//
// Implementations: UringDevice (io_uring, the production path), PosixDevice
// (pread/pwrite, the reference and the fallback when io_uring is missing),
// and in the testing library MemDevice and FaultyDevice.
//
// Thread-safety: every method may be called from many threads at once.
// Ownership: callers own the buffers; a buffer must stay valid until
// Execute() returns.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::blockstore {

// Largest single I/O: one extent.
inline constexpr uint32_t kMaxIoBytes = 1u << 20;
// Every offset, length and buffer address is aligned to this (O_DIRECT rule).
inline constexpr uint32_t kIoAlign = 4096;

enum class IoKind : uint8_t { kRead, kWrite };

struct IoOp {
  IoKind kind = IoKind::kRead;
  uint64_t offset_bytes = 0;  // multiple of kIoAlign
  void* buffer = nullptr;     // kIoAlign-aligned, length_bytes long
  uint32_t length_bytes = 0;  // multiple of kIoAlign, 1..kMaxIoBytes
  Status result;              // set by Execute()
};

// A batch that BlockDevice::Start began: its ops may still be in flight.
// Wait() returns when every op has completed, with what Execute would have
// returned; the ops' results are then set. Destroying a batch that was not
// waited for waits first, so the kernel never holds a buffer its owner may
// free. The ops' buffers must outlive the batch.
// Thread-safety: one thread at a time.
class StartedIo {
 public:
  virtual ~StartedIo() = default;
  // Idempotent: a second call returns the first one's status.
  virtual Status Wait() = 0;
  std::span<const IoOp> ops() const { return ops_; }

 protected:
  explicit StartedIo(std::vector<IoOp> ops) : ops_(std::move(ops)) {}
  std::vector<IoOp> ops_;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  // Runs every op of the batch, several in flight at once, and returns when
  // all have completed. Short transfers, EINTR and EAGAIN are retried until
  // the op completes or fails. Each op's `result` is set; the return value is
  // the first failure (or OK). Ops are independent: a bad op fails alone.
  // Errors: kInvalidArgument (misaligned op, or one reaching past SizeBytes()),
  // kNoSpace, kIoError, kBusy (the kernel kept refusing io_uring submissions).
  virtual Status Execute(std::span<IoOp> ops) = 0;

  // Execute in two halves: starts the batch and returns while its ops may
  // still run, so the caller can prepare the next one (a receive decodes the
  // next file while this one's data is copied). Execute's rules and errors,
  // reported by Wait(). The default runs the batch before returning (the
  // devices without a queue: PosixDevice, the test devices); UringDevice
  // submits the ops and returns (uring_device.h). Start never blocks on
  // another batch: started batches may be waited for in any order.
  virtual std::unique_ptr<StartedIo> Start(std::vector<IoOp> ops);

  // Makes every write that completed before the call durable (fdatasync).
  // Errors: kIoError (the writes must then be treated as lost).
  virtual Status Sync() = 0;

  // Waits for the writeback the previous call started, then starts the
  // host's writeback of everything written since, without waiting for it:
  // a later Sync waits only for what is left. Called every few MiB written,
  // it keeps the dirty and in-flight data bounded, as the kernel does for
  // its own files. A hint: it makes nothing durable, and it never consumes
  // a write error the next Sync must report. A device without a page cache
  // has nothing to start: the default does nothing.
  // Errors: kIoError (writeback failed or could not start; Sync decides).
  virtual Status StartWriteback() { return Status::OK(); }

  // Current size of the device in bytes.
  virtual uint64_t SizeBytes() const = 0;

  // Grows the device to `new_size_bytes` (a multiple of kIoAlign), reserving
  // the space (fallocate) so later writes do not fail or block on allocation.
  // Errors: kNoSpace when the host has no room; the size is then unchanged.
  // kInvalidArgument when misaligned or smaller than SizeBytes() (never shrinks).
  virtual Status Grow(uint64_t new_size_bytes) = 0;

  // Returns the byte range to the host (fallocate PUNCH_HOLE | KEEP_SIZE);
  // reads of it return zeros afterwards.
  // Errors: kInvalidArgument (misaligned, or past SizeBytes()), kIoError.
  virtual Status Discard(uint64_t offset_bytes, uint64_t length_bytes) = 0;

  // A short human-readable description for logs ("io_uring, O_DIRECT, 4 rings").
  virtual std::string Describe() const = 0;
};

// Checks the alignment rules above and that the op lies inside a device of
// `device_size_bytes`. Every device calls it first, so all of them reject the
// same ops. Errors: kInvalidArgument naming the rule broken.
Status ValidateIoOp(const IoOp& op, uint64_t device_size_bytes);

// The same check for a Discard range (length 0 is allowed and does nothing).
// Errors: kInvalidArgument.
Status ValidateRange(uint64_t offset_bytes, uint64_t length_bytes, uint64_t device_size_bytes);

// The first non-OK result of a batch, or OK: what Execute() returns.
Status FirstFailure(std::span<const IoOp> ops);

// "read of 4096 bytes at offset 8192": names an op in error messages.
std::string DescribeOp(const IoOp& op);

}  // namespace hoodyfs::blockstore
