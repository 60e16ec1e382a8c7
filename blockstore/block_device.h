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
#include <span>
#include <string>

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

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  // Runs every op of the batch, several in flight at once, and returns when
  // all have completed. Short transfers, EINTR and EAGAIN are retried until
  // the op completes or fails. Each op's `result` is set; the return value is
  // the first failure (or OK).
  // Errors: kInvalidArgument (misaligned op), kNoSpace, kIoError.
  virtual Status Execute(std::span<IoOp> ops) = 0;

  // Makes every write that completed before the call durable (fdatasync).
  virtual Status Sync() = 0;

  // Current size of the device in bytes.
  virtual uint64_t SizeBytes() const = 0;

  // Grows the device to `new_size_bytes` (a multiple of kIoAlign), reserving
  // the space (fallocate) so later writes do not fail or block on allocation.
  // Errors: kNoSpace when the host has no room; the size is then unchanged.
  virtual Status Grow(uint64_t new_size_bytes) = 0;

  // Returns the byte range to the host (fallocate PUNCH_HOLE | KEEP_SIZE);
  // reads of it return zeros afterwards.
  virtual Status Discard(uint64_t offset_bytes, uint64_t length_bytes) = 0;

  // A short human-readable description for logs ("io_uring, O_DIRECT, 4 rings").
  virtual std::string Describe() const = 0;
};

}  // namespace hoodyfs::blockstore
