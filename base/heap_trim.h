// The process heap gives back what bulk frees left behind. glibc keeps the
// memory of many small frees in its arenas (it returns only the top of a
// heap by itself): after the kernel forgot a million inodes, or after a
// commit freed a memtable (memtables have an arena of their own since,
// index/memtable_arena.h), the daemon's RSS stayed where it peaked. Code
// that frees much at once says roughly how much (NoteHeapFreed); a periodic
// caller (the store's flusher, every second) calls MaybeTrimHeap, which runs
// malloc_trim(0) once the noted bytes reach a threshold and nothing more was
// noted since its previous call: the frees have stopped, so the pages given
// back are not wanted again at once. docs/design.md, "Memory".
//
// HeapTrimmer is the state machine; the free functions use the process's
// one instance.
//
// Thread-safety: every method may be called from any thread (atomics only).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hoodyfs {

class HeapTrimmer {
 public:
  // Trims once `threshold_bytes` were noted since the last trim.
  explicit HeapTrimmer(size_t threshold_bytes) : threshold_(threshold_bytes) {}

  void NoteFreed(size_t bytes);
  // True when the noted bytes reached the threshold, none were noted since
  // the previous call, and so it trimmed. `trim` is the trimming (tests
  // pass their own); by default malloc_trim(0) where glibc provides it.
  bool MaybeTrim(void (*trim)() = nullptr);

  uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }

 private:
  const size_t threshold_;
  std::atomic<size_t> pending_{0};  // noted since the last trim
  std::atomic<bool> noted_since_check_{false};
  std::atomic<uint64_t> trims_{0};
};

// What the process's trimmer counts towards its threshold of 16 MiB.
inline constexpr size_t kHeapTrimThresholdBytes = 16u << 20;
HeapTrimmer& ProcessHeapTrimmer();
inline void NoteHeapFreed(size_t bytes) { ProcessHeapTrimmer().NoteFreed(bytes); }
inline bool MaybeTrimHeap() { return ProcessHeapTrimmer().MaybeTrim(); }

}  // namespace hoodyfs
