#include "index/memtable_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

#include "base/heap_trim.h"
#include "base/sanitizers.h"

// Under AddressSanitizer every allocation is its own heap block, freed at
// once, so a use after a rollback erased an entry is still caught.
#ifdef HOODYFS_ASAN
#define HOODYFS_ARENA_PER_ALLOCATION 1
#endif

namespace hoodyfs::index {

#ifdef HOODYFS_ARENA_PER_ALLOCATION
MemTableArena::~MemTableArena() = default;

void* MemTableArena::do_allocate(size_t bytes, size_t alignment) {
  reserved_ += bytes;
  return ::operator new(bytes, std::align_val_t(alignment));
}

void MemTableArena::do_deallocate(void* p, size_t bytes, size_t alignment) {
  reserved_ -= bytes;
  ::operator delete(p, std::align_val_t(alignment));
}
#else
namespace {

// Small first chunks keep an idle store's memtables small; from 2 MiB on a
// chunk is one or more whole huge pages.
constexpr size_t kFirstChunkBytes = 64u << 10;
constexpr size_t kHugePageBytes = 2u << 20;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// `bytes` (a multiple of kHugePageBytes) of anonymous memory aligned to
// kHugePageBytes, advised for huge pages; nullptr when the system has none.
std::byte* MapHuge(size_t bytes) {
  const size_t span = bytes + kHugePageBytes;
  void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* raw = static_cast<std::byte*>(p);
  const auto at = reinterpret_cast<uintptr_t>(raw);
  auto* base = raw + (RoundUp(at, kHugePageBytes) - at);
  if (base > raw) munmap(raw, static_cast<size_t>(base - raw));
  std::byte* tail = base + bytes;
  if (tail < raw + span) munmap(tail, static_cast<size_t>(raw + span - tail));
  // Only advice: without huge pages the chunk still works with small ones.
  (void)madvise(base, bytes, MADV_HUGEPAGE);
  return base;
}

}  // namespace

MemTableArena::~MemTableArena() {
  size_t heap_bytes = 0;
  for (const Chunk& c : chunks_) {
    if (c.mapped) {
      munmap(c.base, c.size);
    } else {
      ::operator delete(c.base);
      heap_bytes += c.size;
    }
  }
  // The small chunks went back to malloc, which keeps them: a busy spell
  // retires a memtable a second, and the trimmer gives the pages back once
  // the spell is over (base/heap_trim.h).
  NoteHeapFreed(heap_bytes);
}

void MemTableArena::do_deallocate(void*, size_t bytes, size_t) { wasted_ += bytes; }

void* MemTableArena::do_allocate(size_t bytes, size_t alignment) {
  auto at = reinterpret_cast<uintptr_t>(next_);
  uintptr_t aligned = RoundUp(at, alignment);
  if (next_ == nullptr || aligned + bytes > reinterpret_cast<uintptr_t>(end_)) {
    Grow(bytes, alignment);
    at = reinterpret_cast<uintptr_t>(next_);
    aligned = RoundUp(at, alignment);
  }
  std::byte* out = next_ + (aligned - at);
  next_ = out + bytes;
  return out;
}

void MemTableArena::Grow(size_t bytes, size_t alignment) {
  // Each chunk doubles the last, up to one huge page; a larger request
  // gets a chunk of its own size.
  const size_t last = chunks_.empty() ? kFirstChunkBytes / 2 : chunks_.back().size;
  size_t size = std::max(std::min(last * 2, kHugePageBytes), bytes + alignment);
  chunks_.reserve(chunks_.size() + 1);  // so that the push below cannot throw
  Chunk c{nullptr, 0, false};
  if (size >= kHugePageBytes) {
    size = RoundUp(size, kHugePageBytes);
    c = Chunk{MapHuge(size), size, true};
    if (c.base == nullptr) throw std::bad_alloc();
  } else {
    c = Chunk{static_cast<std::byte*>(::operator new(size)), size, false};
  }
  chunks_.push_back(c);
  reserved_ += size;
  // What the previous chunk had left is given up.
  next_ = c.base;
  end_ = c.base + size;
}

#endif  // HOODYFS_ARENA_PER_ALLOCATION

}  // namespace hoodyfs::index
