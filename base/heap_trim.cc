#include "base/heap_trim.h"

#include <sched.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hoodyfs {

namespace {
void TrimProcessHeap() {
#if defined(__GLIBC__)
  // Returns the free pages inside every arena, not only each heap's top.
  malloc_trim(0);
#endif
}
}  // namespace

void HeapTrimmer::NoteFreed(size_t bytes) {
  if (bytes == 0) return;
  pending_.fetch_add(bytes, std::memory_order_relaxed);
  noted_since_check_.store(true, std::memory_order_relaxed);
}

bool HeapTrimmer::MaybeTrim(void (*trim)()) {
  // Still freeing (or allocating what it frees): wait for a quiet period.
  if (noted_since_check_.exchange(false, std::memory_order_relaxed)) return false;
  if (pending_.load(std::memory_order_relaxed) < threshold_) return false;
  pending_.exchange(0, std::memory_order_relaxed);
  (trim != nullptr ? trim : TrimProcessHeap)();
  trims_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void LimitHeapArenasToCpus() {
#if defined(__GLIBC__)
  // A host of more than 1024 CPUs fails sched_getaffinity with this set:
  // then the CPUs online.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  long n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 0;
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0) (void)mallopt(M_ARENA_MAX, static_cast<int>(n));
#endif
}

HeapTrimmer& ProcessHeapTrimmer() {
  static HeapTrimmer trimmer(kHeapTrimThresholdBytes);
  return trimmer;
}

}  // namespace hoodyfs
