#include "blockstore/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/assert.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

AlignedBuffer::AlignedBuffer(size_t size_bytes) : AlignedBuffer(size_bytes, /*zeroed=*/true) {}

AlignedBuffer AlignedBuffer::ForReading(size_t size_bytes) {
  return AlignedBuffer(size_bytes, /*zeroed=*/false);
}

AlignedBuffer::AlignedBuffer(size_t size_bytes, bool zeroed) : size_bytes_(size_bytes) {
  if (size_bytes == 0) return;
  const size_t rounded = (size_bytes + kIoAlign - 1) / kIoAlign * kIoAlign;
  void* p = nullptr;
  const int err = posix_memalign(&p, kIoAlign, rounded);
  HOODY_ASSERT(err == 0, "posix_memalign failed: out of memory");
  if (zeroed) std::memset(p, 0, rounded);
  data_.reset(static_cast<std::byte*>(p));
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::move(other.data_)), size_bytes_(std::exchange(other.size_bytes_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  data_ = std::move(other.data_);
  size_bytes_ = std::exchange(other.size_bytes_, 0);
  return *this;
}

void AlignedBuffer::Free::operator()(std::byte* p) const noexcept { std::free(p); }

}  // namespace hoodyfs::blockstore
