// BufferPool: I/O buffers of one size lent to whichever thread needs one for
// a request, and given back to the pool, not freed, when it is done.
//
// Why a pool and not a buffer per thread: every FUSE worker of every mount
// kept up to three 1 MiB buffers of its own (a read's reply, a write's
// staging, a read's edges) for as long as it lived, so a daemon held 3 MiB
// per worker whatever it was doing, and more with each mount (8 workers a
// mount). A pool holds what the busiest moment had in use at once, and
// gives back each second what that second did not need (ReleaseUnneeded,
// from the store's flusher).
//
// Ownership: the pool owns its idle buffers; a Lease owns its buffer until
// it is destroyed. A Lease must not outlive its pool (the process's pool,
// IoBuffers(), lives as long as the process).
// Thread-safety: Borrow, ReleaseUnneeded and a Lease's destruction may run
// on any threads at once. Under AddressSanitizer an idle buffer is
// poisoned, so a use after its lease ended is caught.
#pragma once

#include <cstddef>
#include <vector>

#include "base/mutex.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

// The pooled size: a 1 MiB transfer that starts and ends inside a block,
// with that block at each edge.
inline constexpr size_t kPooledBufferBytes = kMaxIoBytes + 2 * kIoAlign;

class BufferPool {
 public:
  explicit BufferPool(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // One buffer lent to one caller; goes back to its pool on destruction if
  // it is still of the pool's size (a buffer of its own, or one the caller
  // replaced, is freed). An empty Lease (default-made, or moved from) holds
  // nothing.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { GiveBack(); }

    // The buffer: a caller may replace it with a larger one (then it is
    // freed, not pooled, when the lease ends).
    AlignedBuffer& buffer() { return buffer_; }

   private:
    friend class BufferPool;
    Lease(BufferPool* pool, AlignedBuffer buffer) : pool_(pool), buffer_(std::move(buffer)) {}
    void GiveBack() noexcept;
    BufferPool* pool_ = nullptr;  // null for a buffer of its own
    AlignedBuffer buffer_;
  };

  // A buffer of at least `bytes`, not zeroed (AlignedBuffer::ForReading): an
  // idle pooled one, or a new one; over the pool's size, a buffer of its own
  // that the lease frees. A pooled buffer holds what its last user left,
  // maybe another container's data: a caller sends only bytes it wrote.
  Lease Borrow(size_t bytes);

  // Frees the idle buffers beyond the most that were lent at once since the
  // previous call (every idle one once a whole period lent none), and notes
  // what it freed to the heap trimmer (base/heap_trim.h). So a pool shrinks
  // to what its callers use a period after a burst, though they go on.
  // Returns the bytes freed.
  size_t ReleaseUnneeded();

  size_t buffer_bytes() const { return buffer_bytes_; }
  size_t idle_buffers() const;

 private:
  // A pooled lease's buffer comes back (maybe replaced by the caller).
  void Return(AlignedBuffer buffer) noexcept;

  const size_t buffer_bytes_;
  mutable Mutex mu_;
  std::vector<AlignedBuffer> idle_ GUARDED_BY(mu_);
  size_t lent_ GUARDED_BY(mu_) = 0;
  size_t most_lent_ GUARDED_BY(mu_) = 0;  // since the last ReleaseUnneeded
};

// The process's pool of kPooledBufferBytes buffers: FUSE reads, engine reads
// and writes.
BufferPool& IoBuffers();

}  // namespace hoodyfs::blockstore
