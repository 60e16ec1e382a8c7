#include "blockstore/buffer_pool.h"

#include <sanitizer/asan_interface.h>

#include <algorithm>
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

void BufferPool::Lease::GiveBack() noexcept {
  if (pool_ != nullptr) pool_->Return(std::move(buffer_));
  pool_ = nullptr;
  buffer_ = AlignedBuffer();
}

BufferPool::Lease BufferPool::Borrow(size_t bytes) {
  if (bytes > buffer_bytes_) return Lease(nullptr, AlignedBuffer::ForReading(bytes));
  {
    MutexLock l(mu_);
    ++lent_;
    most_lent_ = std::max(most_lent_, lent_);
    if (!idle_.empty()) {
      AlignedBuffer b = std::move(idle_.back());
      idle_.pop_back();
      ASAN_UNPOISON_MEMORY_REGION(b.data(), b.size_bytes());
      return Lease(this, std::move(b));
    }
  }
  return Lease(this, AlignedBuffer::ForReading(buffer_bytes_));
}

void BufferPool::Return(AlignedBuffer buffer) noexcept {
  MutexLock l(mu_);
  --lent_;
  if (buffer.size_bytes() != buffer_bytes_) return;  // replaced: freed here
  try {
    idle_.push_back(std::move(buffer));
    // An idle buffer is poisoned under AddressSanitizer (a no-op without
    // it): a use through a lease that ended is caught.
    ASAN_POISON_MEMORY_REGION(idle_.back().data(), idle_.back().size_bytes());
  } catch (...) {
    // No room to keep it: it is freed, and the next borrower makes one.
  }
}

size_t BufferPool::ReleaseUnneeded() {
  std::vector<AlignedBuffer> freed;
  {
    MutexLock l(mu_);
    const size_t held = lent_ + idle_.size();
    const size_t excess = held > most_lent_ ? held - most_lent_ : 0;
    for (size_t i = 0; i < excess && !idle_.empty(); ++i) {
      freed.push_back(std::move(idle_.back()));
      idle_.pop_back();
      ASAN_UNPOISON_MEMORY_REGION(freed.back().data(), freed.back().size_bytes());
    }
    most_lent_ = lent_;
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
