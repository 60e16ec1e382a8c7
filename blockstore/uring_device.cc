#include "blockstore/uring_device.h"

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
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<RingPool> pool,
                         RingPool::Create(fd->get(), direct_reads.valid() ? direct_reads.get() : -1,
                                          options.rings, options.queue_depth));
  return std::unique_ptr<UringDevice>(new UringDevice(std::move(*fd), size, std::move(direct_reads),
                                                      std::move(pool), options.direct_io));
}

UringDevice::UringDevice(UniqueFd fd, uint64_t size_bytes, UniqueFd direct_reads,
                         std::unique_ptr<RingPool> pool, bool direct_io)
    : file_(std::move(fd), size_bytes),
      direct_reads_(std::move(direct_reads)),
      pool_(std::move(pool)),
      direct_io_(direct_io) {}

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
// gives the ring back. Without a ring it was deferred: Wait runs it.
class UringStartedIo final : public StartedIo {
 public:
  UringStartedIo(std::vector<IoOp> ops, UringDevice& device, std::optional<RingPool::Lease> lease)
      : StartedIo(std::move(ops)), device_(device), lease_(std::move(lease)) {
    if (lease_) {
      run_.emplace(lease_->ring(), std::span<IoOp>(ops_));
      run_->Begin();
    }
  }
  ~UringStartedIo() override { (void)Wait(); }

  Status Wait() override {
    if (done_) return status_;
    done_ = true;
    if (run_) {
      run_->Run();
      run_.reset();
      lease_.reset();  // the ring goes back as soon as the kernel is done with it
      status_ = FirstFailure(ops_);
    } else {
      status_ = device_.Execute(ops_);
    }
    return status_;
  }

 private:
  UringDevice& device_;
  std::optional<RingPool::Lease> lease_;
  std::optional<BatchRun> run_;  // set while the batch may be in flight
  bool done_ = false;
  Status status_;
};

// A batch refused before anything was submitted.
class FailedIo final : public StartedIo {
 public:
  FailedIo(std::vector<IoOp> ops, Status failed)
      : StartedIo(std::move(ops)), status_(std::move(failed)) {}
  Status Wait() override { return status_; }

 private:
  Status status_;
};

}  // namespace

// Start never waits for a ring: a caller may hold one in a batch it has not
// waited for yet (a receive keeps one file in flight while it starts the
// next), and with every ring lent, waiting here could wait for itself.
std::unique_ptr<StartedIo> UringDevice::Start(std::vector<IoOp> ops) {
  if (!CheckOps(ops)) {
    Status failed = FirstFailure(ops);
    return std::make_unique<FailedIo>(std::move(ops), std::move(failed));
  }
  Result<std::optional<RingPool::Lease>> lease = pool_->TryBorrow();
  if (!lease.ok()) {
    for (IoOp& op : ops) {
      if (op.result.ok()) op.result = lease.status();
    }
    Status failed = lease.status();
    return std::make_unique<FailedIo>(std::move(ops), std::move(failed));
  }
  // No ring free: deferred to Wait, which runs it as Execute (and checks
  // the ops again, against the size the device has then).
  return std::make_unique<UringStartedIo>(std::move(ops), *this, std::move(*lease));
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
  return out;
}

}  // namespace hoodyfs::blockstore
