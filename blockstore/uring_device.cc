#include "blockstore/uring_device.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "blockstore/ring.h"
#include "blockstore/ring_pool.h"
#include "blockstore/uring_batch.h"

namespace hoodyfs::blockstore {

Status ValidateUringOptions(const UringOptions& options) {
  if (options.rings < 1 || options.rings > kMaxRings || options.queue_depth < 1 ||
      options.queue_depth > kMaxQueueDepth) {
    return Status::InvalidArgument("io_uring options: " + std::to_string(options.rings) +
                                   " rings of depth " + std::to_string(options.queue_depth) +
                                   " (allowed 1.." + std::to_string(kMaxRings) + " rings, 1.." +
                                   std::to_string(kMaxQueueDepth) + " deep)");
  }
  return Status::OK();
}

Status ProbeIoUring() {
  io_uring ring{};
  const int rc = io_uring_queue_init(1, &ring, 0);
  if (rc < 0) return FromErrno(-rc, "io_uring_queue_init");
  io_uring_queue_exit(&ring);
  return Status::OK();
}

Result<std::unique_ptr<UringDevice>> UringDevice::Create(UniqueFd* fd, const UringOptions& options,
                                                         UniqueFd direct_reads) {
  HOODY_RETURN_IF_ERROR(ValidateUringOptions(options));
  HOODY_ASSIGN_OR_RETURN(const uint64_t size, BackingFile::ReadSize(fd->get()));
  const int direct_fd = direct_reads.valid() ? direct_reads.get() : -1;
  HOODY_ASSIGN_OR_RETURN(
      std::unique_ptr<RingPool> pool,
      RingPool::Create(fd->get(), direct_fd, options.rings, options.queue_depth));
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<RingPool> start_pool,
                         RingPool::Create(fd->get(), direct_fd, kStartRings, options.queue_depth));
  return std::unique_ptr<UringDevice>(new UringDevice(std::move(*fd), size, std::move(direct_reads),
                                                      std::move(pool), std::move(start_pool),
                                                      options));
}

UringDevice::UringDevice(UniqueFd fd, uint64_t size_bytes, UniqueFd direct_reads,
                         std::unique_ptr<RingPool> pool, std::unique_ptr<RingPool> start_pool,
                         const UringOptions& options)
    : file_(std::move(fd), size_bytes),
      direct_reads_(std::move(direct_reads)),
      pool_(std::move(pool)),
      start_pool_(std::move(start_pool)),
      direct_io_(options.direct_io),
      inline_writes_(options.inline_writes) {}

UringDevice::~UringDevice() = default;

bool UringDevice::CheckOps(std::span<IoOp> ops) const {
  bool any_valid = false;
  for (IoOp& op : ops) {
    op.result = file_.CheckOp(op);
    any_valid = any_valid || op.result.ok();
  }
  return any_valid;
}

Status UringDevice::Execute(std::span<IoOp> ops) {
  if (!CheckOps(ops)) return FirstFailure(ops);
  // A batch with a read in it keeps the ring, where reads of cached pages
  // complete without a worker thread.
  if (inline_writes_ && std::all_of(ops.begin(), ops.end(),
                                    [](const IoOp& op) { return op.kind == IoKind::kWrite; })) {
    return file_.RunCheckedWithSyscalls(ops);
  }
  Result<RingPool::Lease> lease = pool_->Borrow();
  if (!lease.ok()) {
    for (IoOp& op : ops) {
      if (op.result.ok()) op.result = lease.status();
    }
    return lease.status();
  }
  RunBatch(lease->ring(), ops);
  return FirstFailure(ops);
}

namespace {

// A batch submitted on a lent ring: Wait (or the destructor) reaps it and
// gives the ring back.
class UringStartedIo final : public StartedIo {
 public:
  UringStartedIo(std::vector<IoOp> ops, RingPool::Lease lease)
      : StartedIo(std::move(ops)), lease_(std::move(lease)) {
    run_.emplace(lease_->ring(), std::span<IoOp>(ops_));
    run_->Begin();
  }
  ~UringStartedIo() override { (void)Wait(); }

  Status Wait() override {
    if (run_) {
      run_->Run();
      run_.reset();
      lease_.reset();  // the ring goes back as soon as the kernel is done with it
      status_ = FirstFailure(ops_);
    }
    return status_;
  }

 private:
  std::optional<RingPool::Lease> lease_;
  std::optional<BatchRun> run_;  // set while the batch may be in flight
  Status status_;
};

// A batch that ran (or failed) before Start returned.
class FinishedIo final : public StartedIo {
 public:
  FinishedIo(std::vector<IoOp> ops, Status status)
      : StartedIo(std::move(ops)), status_(std::move(status)) {}
  Status Wait() override { return status_; }

 private:
  Status status_;
};

}  // namespace

std::unique_ptr<StartedIo> UringDevice::Start(std::vector<IoOp> ops) {
  if (!CheckOps(ops)) {
    Status failed = FirstFailure(ops);
    return std::make_unique<FinishedIo>(std::move(ops), std::move(failed));
  }
  Result<std::optional<RingPool::Lease>> lease = start_pool_->TryBorrow();
  if (lease.ok() && lease->has_value()) {
    return std::make_unique<UringStartedIo>(std::move(ops), std::move(**lease));
  }
  // No ring of Start's free (or none left): the batch runs here and now.
  Status status = file_.RunCheckedWithSyscalls(ops);
  return std::make_unique<FinishedIo>(std::move(ops), std::move(status));
}

std::string UringDevice::Describe() const {
  std::string out = "io_uring, ";
  out += direct_io_ ? "O_DIRECT" : "buffered I/O + fdatasync";
  if (direct_reads_.valid()) {
    out += ", O_DIRECT reads of " + std::to_string(kDirectReadMinBytes / 1024) + " KiB and more";
  }
  out += ", " + std::to_string(pool_->rings()) + " rings x " +
         std::to_string(pool_->queue_depth()) + " deep";
  out += pool_->fixed_file() ? ", fixed file" : ", plain fd";
  if (inline_writes_) out += ", writes made by the caller (no non-blocking buffered writes here)";
  return out;
}

}  // namespace hoodyfs::blockstore
