// PosixDevice: a BlockDevice over the data file using pread/pwrite, one op at
// a time. It is the reference the io_uring device is tested against and the
// fallback when io_uring is unavailable (old kernel, seccomp, sysctl).
//
// Ownership: owns the descriptor. Thread-safety: every method may be called
// from many threads at once (pread/pwrite need no shared state).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "base/unique_fd.h"
#include "blockstore/backing_file.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

struct PosixDeviceOptions {
  bool direct_io = false;  // whether `fd` was opened O_DIRECT; shown by Describe()
  std::string note;        // appended to Describe(), e.g. why io_uring is not used
};

class PosixDevice final : public BlockDevice {
 public:
  // Errors: what FromErrno maps for fstat.
  static Result<std::unique_ptr<PosixDevice>> Create(UniqueFd fd, PosixDeviceOptions options);

  Status Execute(std::span<IoOp> ops) override;
  Status Sync() override { return file_.Sync(); }
  Status StartWriteback() override { return file_.StartWriteback(); }
  uint64_t SizeBytes() const override { return file_.SizeBytes(); }
  Status Grow(uint64_t new_size_bytes) override { return file_.Grow(new_size_bytes); }
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes) override {
    return file_.Discard(offset_bytes, length_bytes);
  }
  std::string Describe() const override;

 private:
  PosixDevice(UniqueFd fd, uint64_t size_bytes, PosixDeviceOptions options)
      : file_(std::move(fd), size_bytes), options_(std::move(options)) {}

  BackingFile file_;
  const PosixDeviceOptions options_;
};

}  // namespace hoodyfs::blockstore
