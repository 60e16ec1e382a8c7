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

// What the process's trimmer counts towards: 1 MiB, one pooled I/O buffer.
// A trim runs only after a quiet second, at most once per busy spell, so
// the threshold only keeps a trickle of small frees from trimming; at 16
// MiB a day of mixed work ended with 10 MiB of free heap never given back
// (docs/benchmarks.md, "A day of work").
inline constexpr size_t kHeapTrimThresholdBytes = 1u << 20;
HeapTrimmer& ProcessHeapTrimmer();
inline void NoteHeapFreed(size_t bytes) { ProcessHeapTrimmer().NoteFreed(bytes); }
inline bool MaybeTrimHeap() { return ProcessHeapTrimmer().MaybeTrim(); }

// Caps glibc's malloc arenas at one per CPU the process may run on, where
// glibc's default is eight per CPU. Each arena keeps what its threads freed,
// and trimming gives back only whole free pages of it, so a daemon whose
// FUSE workers, HTTP connections and flusher each got an arena of their own
// held 60-100 MiB of free heap after a busy spell (docs/benchmarks.md, "A
// day of work"). More arenas than CPUs buy little: at most that many
// threads run at once. Call before the process starts threads; a no-op
// where glibc is not the allocator.
void LimitHeapArenasToCpus();

}  // namespace hoodyfs
