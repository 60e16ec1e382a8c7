#include "blockstore/buffer_pool.h"

#include <utility>

#include "base/heap_trim.h"

namespace hoodyfs::blockstore {

BufferPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), buffer_(std::move(other.buffer_)) {}

BufferPool::Lease& BufferPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    GiveBack();
    pool_ = std::exchange(other.pool_, nullptr);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void BufferPool::Lease::GiveBack() {
  if (pool_ != nullptr && buffer_.size_bytes() == pool_->buffer_bytes_) {
    pool_->Return(std::move(buffer_));
  }
  pool_ = nullptr;
  buffer_ = AlignedBuffer();
}

BufferPool::Lease BufferPool::Borrow(size_t bytes) {
  borrowed_since_check_.store(true, std::memory_order_relaxed);
  if (bytes > buffer_bytes_) return Lease(this, AlignedBuffer::ForReading(bytes));
  {
    MutexLock l(mu_);
    if (!idle_.empty()) {
      AlignedBuffer b = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(b));
    }
  }
  return Lease(this, AlignedBuffer::ForReading(buffer_bytes_));
}

void BufferPool::Return(AlignedBuffer buffer) {
  MutexLock l(mu_);
  idle_.push_back(std::move(buffer));
}

size_t BufferPool::ReleaseIfIdle() {
  if (borrowed_since_check_.exchange(false, std::memory_order_relaxed)) return 0;
  std::vector<AlignedBuffer> freed;
  {
    MutexLock l(mu_);
    freed.swap(idle_);
  }
  const size_t bytes = freed.size() * buffer_bytes_;
  freed.clear();  // outside the lock: a free of 1 MiB may unmap it
  NoteHeapFreed(bytes);
  return bytes;
}

size_t BufferPool::idle_buffers() const {
  MutexLock l(mu_);
  return idle_.size();
}

BufferPool& IoBuffers() {
  // Never destroyed: a lease still held by a thread that outlives main's
  // return (libfuse's, a detached one) must find its pool.
  static auto* pool = new BufferPool(kPooledBufferBytes);
  return *pool;
}

}  // namespace hoodyfs::blockstore
