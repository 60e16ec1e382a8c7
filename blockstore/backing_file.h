// BackingFile: the data file under a file-backed device. It owns the
// descriptor, tracks the device size, validates ops against it, and
// implements the size-and-space half of BlockDevice (Grow, Discard, Sync) once
// for both PosixDevice and UringDevice.
//
// The size is cached: the device owns the file, so only Grow changes it, and
// Execute can check bounds without a system call per op.
//
// Thread-safety: every method may be called concurrently. Grow calls are
// serialized; ops in flight during a Grow lie below the old size, which a
// Grow never touches.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "base/status.h"
#include "base/unique_fd.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

class BackingFile {
 public:
  // The usable size of the file behind `fd`: its size rounded down to
  // kIoAlign, since aligned ops cannot address a ragged tail anyway.
  // Errors: what FromErrno maps for fstat.
  static Result<uint64_t> ReadSize(int fd);
  BackingFile(UniqueFd fd, uint64_t size_bytes) : fd_(std::move(fd)), size_bytes_(size_bytes) {}

  BackingFile(const BackingFile&) = delete;
  BackingFile& operator=(const BackingFile&) = delete;

  int fd() const { return fd_.get(); }
  uint64_t SizeBytes() const { return size_bytes_.load(std::memory_order_acquire); }

  // ValidateIoOp against the current size. Errors: kInvalidArgument.
  Status CheckOp(const IoOp& op) const { return ValidateIoOp(op, SizeBytes()); }

  // BlockDevice::Execute with pread and pwrite on the calling thread, op
  // after op: PosixDevice's data path. Same errors.
  Status ExecuteWithSyscalls(std::span<IoOp> ops) const;
  // The same for ops the caller has validated already (each op's result
  // set to CheckOp's): a failed op is skipped, not checked again.
  // UringDevice's for a started batch when no ring is free and for batches
  // of writes with UringOptions::inline_writes.
  Status RunCheckedWithSyscalls(std::span<IoOp> ops) const;

  // BlockDevice::Grow, Discard and Sync; same errors.
  Status Grow(uint64_t new_size_bytes);
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes);
  Status Sync();
  // BlockDevice::StartWriteback of the whole file, on a descriptor of its
  // own (opened at the first call), so its waits never take a write error
  // from Sync; same errors.
  Status StartWriteback();

 private:
  UniqueFd fd_;
  std::mutex grow_mu_;                // serializes Grow so each sees the size the last one left
  std::atomic<uint64_t> size_bytes_;  // written only under grow_mu_
  std::mutex writeback_mu_;           // serializes StartWriteback
  UniqueFd writeback_fd_;             // guarded by writeback_mu_; opened on first use
};

}  // namespace hoodyfs::blockstore
