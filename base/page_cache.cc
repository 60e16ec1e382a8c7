#include "base/page_cache.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace hoodyfs {

namespace {

constexpr long kCachestatSyscall = 451;

// The kernel's struct cachestat_range and struct cachestat (uapi/linux/mman.h).
struct CachestatRange {
  uint64_t offset;
  uint64_t length;
};
struct Cachestat {
  uint64_t cache;
  uint64_t dirty;
  uint64_t writeback;
  uint64_t evicted;
  uint64_t recently_evicted;
};

}  // namespace

std::optional<PageCacheState> PageCacheOf(int fd, uint64_t length) {
  CachestatRange range{0, length};
  Cachestat stat{};
  if (::syscall(kCachestatSyscall, fd, &range, &stat, 0) != 0) return std::nullopt;
  return PageCacheState{stat.cache, stat.dirty, stat.writeback};
}

}  // namespace hoodyfs
