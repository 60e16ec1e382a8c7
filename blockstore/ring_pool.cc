#include "blockstore/ring_pool.h"

#include "base/log.h"

namespace hoodyfs::blockstore {

Result<std::unique_ptr<RingPool>> RingPool::Create(int fd, int direct_read_fd, unsigned rings,
                                                   unsigned queue_depth) {
  std::vector<std::unique_ptr<Ring>> made;
  made.reserve(rings);
  for (unsigned i = 0; i < rings; ++i) {
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<Ring> ring,
                           Ring::Create(fd, direct_read_fd, queue_depth));
    made.push_back(std::move(ring));
  }
  HOODY_ASSERT(!made.empty(), "a ring pool needs at least one ring");
  std::unique_ptr<RingPool> pool(
      new RingPool(fd, direct_read_fd, rings, queue_depth, made.front()->fixed_file()));
  pool->free_ = std::move(made);
  pool->live_ = rings;
  return pool;
}

Result<RingPool::Lease> RingPool::Borrow() {
  std::unique_lock<std::mutex> lock(mu_);
  ring_returned_.wait(lock, [this] { return !free_.empty() || live_ == 0; });
  if (free_.empty()) return Status::IoError("no usable io_uring left: every ring broke");
  std::unique_ptr<Ring> ring = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(ring));
}

Result<std::optional<RingPool::Lease>> RingPool::TryBorrow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (live_ == 0) return Status::IoError("no usable io_uring left: every ring broke");
  if (free_.empty()) return std::optional<Lease>();
  std::unique_ptr<Ring> ring = std::move(free_.back());
  free_.pop_back();
  return std::optional<Lease>(Lease(this, std::move(ring)));
}

void RingPool::Return(std::unique_ptr<Ring> ring) {
  if (ring->broken()) {
    // Destroying the ring discards the SQEs it could not submit; a fresh one
    // takes its place so the pool keeps its size when the fault was passing.
    ring.reset();
    Result<std::unique_ptr<Ring>> fresh = Ring::Create(fd_, direct_read_fd_, queue_depth_);
    if (fresh.ok()) {
      ring = std::move(fresh).value();
    } else {
      Log(LogLevel::kError, "cannot replace a broken io_uring: " + fresh.status().ToString());
    }
  }
  const bool returned = ring != nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (returned) {
      free_.push_back(std::move(ring));
    } else {
      --live_;
    }
  }
  // One returned ring serves one waiter; a lost ring may leave none, and then
  // every waiter must wake to fail.
  if (returned) {
    ring_returned_.notify_one();
  } else {
    ring_returned_.notify_all();
  }
}

RingPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), ring_(std::move(other.ring_)) {}

RingPool::Lease::~Lease() {
  if (ring_) pool_->Return(std::move(ring_));
}

}  // namespace hoodyfs::blockstore
