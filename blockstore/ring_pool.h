// RingPool: a fixed set of Rings lent to whichever thread calls Execute.
//
// Why a pool and not a ring per thread: libfuse's loop creates and ends worker
// threads at will, so per-thread rings would be set up and torn down with
// them, and their number would be unbounded. A fixed pool bounds kernel
// memory and in-flight I/O to rings x queue_depth; a caller that finds every
// ring lent waits for one (mutex + condition variable).
//
// Ownership: owns its rings; borrows the data file descriptor, which must
// outlive the pool. A Lease must be destroyed before the pool.
// Thread-safety: Borrow may be called from any number of threads.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/status.h"
#include "blockstore/ring.h"

namespace hoodyfs::blockstore {

class RingPool {
 public:
  // Sets up `rings` rings of `queue_depth` each on `fd`.
  // Errors: as Ring::Create (no ring could be set up).
  // `direct_read_fd` (or -1) as Ring::Create.
  static Result<std::unique_ptr<RingPool>> Create(int fd, int direct_read_fd, unsigned rings,
                                                  unsigned queue_depth);
  RingPool(const RingPool&) = delete;
  RingPool& operator=(const RingPool&) = delete;

  // One ring lent to one thread; gives it back on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Ring& ring() { return *ring_; }

   private:
    friend class RingPool;
    Lease(RingPool* pool, std::unique_ptr<Ring> ring) : pool_(pool), ring_(std::move(ring)) {}
    RingPool* pool_;
    std::unique_ptr<Ring> ring_;
  };

  // Waits until a ring is free and lends it.
  // Errors: kIoError when every ring broke and none could be replaced.
  Result<Lease> Borrow();
  // Lends a ring if one is free now; nullopt when every ring is lent.
  // Errors: as Borrow.
  Result<std::optional<Lease>> TryBorrow();

  unsigned rings() const { return rings_; }
  unsigned queue_depth() const { return queue_depth_; }
  bool fixed_file() const { return fixed_file_; }

 private:
  RingPool(int fd, int direct_read_fd, unsigned rings, unsigned queue_depth, bool fixed_file)
      : fd_(fd),
        direct_read_fd_(direct_read_fd),
        rings_(rings),
        queue_depth_(queue_depth),
        fixed_file_(fixed_file) {}
  void Return(std::unique_ptr<Ring> ring);

  const int fd_;
  const int direct_read_fd_;
  const unsigned rings_;
  const unsigned queue_depth_;
  const bool fixed_file_;  // as ring 0 found it; for Describe()

  std::mutex mu_;
  std::condition_variable ring_returned_;
  std::vector<std::unique_ptr<Ring>> free_;  // guarded by mu_
  unsigned live_ = 0;                        // guarded by mu_: rings free or lent
};

}  // namespace hoodyfs::blockstore
