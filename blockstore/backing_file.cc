#include "blockstore/backing_file.h"

#include <string>

#include "blockstore/file_ops.h"

namespace hoodyfs::blockstore {

Result<uint64_t> BackingFile::ReadSize(int fd) {
  HOODY_ASSIGN_OR_RETURN(const uint64_t size, FileSizeBytes(fd));
  return size / kIoAlign * kIoAlign;
}

Status BackingFile::ExecuteWithSyscalls(std::span<IoOp> ops) const {
  for (IoOp& op : ops) op.result = CheckOp(op);
  return RunCheckedWithSyscalls(ops);
}

Status BackingFile::RunCheckedWithSyscalls(std::span<IoOp> ops) const {
  for (IoOp& op : ops) {
    if (!op.result.ok()) continue;
    op.result = op.kind == IoKind::kRead
                    ? PreadFull(fd(), op.buffer, op.length_bytes, op.offset_bytes)
                    : PwriteFull(fd(), op.buffer, op.length_bytes, op.offset_bytes);
  }
  return FirstFailure(ops);
}

Status BackingFile::Grow(uint64_t new_size_bytes) {
  std::lock_guard<std::mutex> lock(grow_mu_);
  const uint64_t old_size = SizeBytes();
  if (new_size_bytes % kIoAlign != 0 || new_size_bytes < old_size) {
    return Status::InvalidArgument("grow to " + std::to_string(new_size_bytes) + " from " +
                                   std::to_string(old_size) + ": misaligned or shrinking");
  }
  HOODY_RETURN_IF_ERROR(GrowFile(fd_.get(), old_size, new_size_bytes));
  size_bytes_.store(new_size_bytes, std::memory_order_release);
  return Status::OK();
}

Status BackingFile::Discard(uint64_t offset_bytes, uint64_t length_bytes) {
  HOODY_RETURN_IF_ERROR(ValidateRange(offset_bytes, length_bytes, SizeBytes()));
  return PunchHole(fd_.get(), offset_bytes, length_bytes);
}

Status BackingFile::Sync() { return DataSync(fd_.get()); }

Status BackingFile::StartWriteback() {
  std::lock_guard<std::mutex> lock(writeback_mu_);
  if (!writeback_fd_.valid()) {
    HOODY_ASSIGN_OR_RETURN(writeback_fd_, ReopenForWriteback(fd_.get()));
  }
  return StartFileWriteback(writeback_fd_.get());
}

}  // namespace hoodyfs::blockstore
