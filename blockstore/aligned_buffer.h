// AlignedBuffer: a heap buffer whose address is kIoAlign (4 KiB) aligned, as
// O_DIRECT requires of every buffer handed to the kernel.
//
// Ownership: sole owner of its memory (move-only), freed on destruction. The
// bytes start zeroed so a buffer can never carry stale heap contents to disk;
// ForReading skips that for a buffer that reads fill before anything uses it.
// Thread-safety: none of its own; share it like a std::vector.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace hoodyfs::blockstore {

class AlignedBuffer {
 public:
  // An empty buffer: data() is null and size_bytes() is 0.
  AlignedBuffer() = default;
  // Allocates `size_bytes` zeroed bytes. The allocation is rounded up to a
  // whole kIoAlign so a transfer of the last block stays inside it. Aborts
  // when memory is exhausted, as operator new would.
  explicit AlignedBuffer(size_t size_bytes);
  // The same, not zeroed: only for a buffer whose bytes a read, or the
  // caller, writes before anything reads them (clearing 1 MiB per FUSE read
  // or write cost more than the copy). Never hand one to a write before
  // every byte it sends was written: it holds stale heap contents.
  static AlignedBuffer ForReading(size_t size_bytes);

  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() = default;

  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  size_t size_bytes() const { return size_bytes_; }
  std::span<std::byte> span() { return {data_.get(), size_bytes_}; }
  std::span<const std::byte> span() const { return {data_.get(), size_bytes_}; }

 private:
  AlignedBuffer(size_t size_bytes, bool zeroed);
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_bytes_ = 0;
};

}  // namespace hoodyfs::blockstore
