#include "blockstore/block_device.h"

#include <string>

namespace hoodyfs::blockstore {
namespace {

bool Aligned(uint64_t value) { return value % kIoAlign == 0; }

// A batch that ran to completion before Start returned.
class CompletedIo final : public StartedIo {
 public:
  CompletedIo(std::vector<IoOp> ops, BlockDevice& device) : StartedIo(std::move(ops)) {
    status_ = device.Execute(ops_);
  }
  Status Wait() override { return status_; }

 private:
  Status status_;
};

}  // namespace

std::unique_ptr<StartedIo> BlockDevice::Start(std::vector<IoOp> ops) {
  return std::make_unique<CompletedIo>(std::move(ops), *this);
}

Status ValidateIoOp(const IoOp& op, uint64_t device_size_bytes) {
  if (op.buffer == nullptr) return Status::InvalidArgument(DescribeOp(op) + ": null buffer");
  if (!Aligned(reinterpret_cast<uintptr_t>(op.buffer))) {
    return Status::InvalidArgument(DescribeOp(op) + ": buffer not 4 KiB aligned");
  }
  if (!Aligned(op.offset_bytes) || !Aligned(op.length_bytes)) {
    return Status::InvalidArgument(DescribeOp(op) + ": offset or length not 4 KiB aligned");
  }
  if (op.length_bytes == 0 || op.length_bytes > kMaxIoBytes) {
    return Status::InvalidArgument(DescribeOp(op) + ": length outside 4 KiB..1 MiB");
  }
  if (op.offset_bytes > device_size_bytes ||
      device_size_bytes - op.offset_bytes < op.length_bytes) {
    return Status::InvalidArgument(DescribeOp(op) + ": past the device end at " +
                                   std::to_string(device_size_bytes));
  }
  return Status::OK();
}

Status ValidateRange(uint64_t offset_bytes, uint64_t length_bytes, uint64_t device_size_bytes) {
  const std::string what = "range of " + std::to_string(length_bytes) + " bytes at offset " +
                           std::to_string(offset_bytes);
  if (!Aligned(offset_bytes) || !Aligned(length_bytes)) {
    return Status::InvalidArgument(what + ": not 4 KiB aligned");
  }
  if (offset_bytes > device_size_bytes || device_size_bytes - offset_bytes < length_bytes) {
    return Status::InvalidArgument(what + ": past the device end at " +
                                   std::to_string(device_size_bytes));
  }
  return Status::OK();
}

Status FirstFailure(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) {
    if (!op.result.ok()) return op.result;
  }
  return Status::OK();
}

std::string DescribeOp(const IoOp& op) {
  std::string out = op.kind == IoKind::kRead ? "read of " : "write of ";
  out += std::to_string(op.length_bytes);
  out += " bytes at offset ";
  out += std::to_string(op.offset_bytes);
  return out;
}

}  // namespace hoodyfs::blockstore
