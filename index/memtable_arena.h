// MemTableArena: the memory of one MemTable. A memtable only grows until it
// is committed and dropped whole, so its map nodes and strings are bumped
// out of chunks that go back all at once when the memtable goes: no malloc
// or free per entry, and no walk of the free lists when a table of 150k
// entries is retired. Chunks of 2 MiB and more are aligned to 2 MiB and
// advised for transparent huge pages: a receive of a Debian root took
// 14.7k page faults with glibc's heap and 3k with huge pages, and a fault
// is costly in a VM (docs/benchmarks.md, "The memtable's own memory").
//
// What is freed is not reused; it is counted (wasted_bytes) so the flush
// trigger sees it, and goes with the arena.
//
// Under AddressSanitizer it hands each allocation to the heap instead, so
// that a use of a freed entry is still caught.
//
// Thread-safety: none; its MemTable's owner serializes it.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <vector>

namespace hoodyfs::index {

class MemTableArena final : public std::pmr::memory_resource {
 public:
  MemTableArena() = default;
  ~MemTableArena() override;
  MemTableArena(const MemTableArena&) = delete;
  MemTableArena& operator=(const MemTableArena&) = delete;

  // Bytes handed out and then given back: held until the arena goes.
  size_t wasted_bytes() const { return wasted_; }
  // Bytes of all chunks taken from the system.
  size_t reserved_bytes() const { return reserved_; }

 private:
  struct Chunk {
    std::byte* base;
    size_t size;
    bool mapped;  // mmap'd (huge-page sized), else operator new
  };
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
  // Starts a chunk that has room for `bytes` at `alignment`.
  void Grow(size_t bytes, size_t alignment);

  std::vector<Chunk> chunks_;
  std::byte* next_ = nullptr;  // free space of the newest chunk: [next_, end_)
  std::byte* end_ = nullptr;
  size_t wasted_ = 0;
  size_t reserved_ = 0;
};

}  // namespace hoodyfs::index
