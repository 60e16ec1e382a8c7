// What the kernel's page cache holds of an open file, from cachestat(2)
// (Linux 6.5). Debian 12's glibc has no wrapper and its kernel headers no
// syscall number, so it is called by number (451, the same on every
// architecture, as every syscall since 424 is).
//
// Used where asking is cheaper than acting: the flush before a snapshot
// skips the fsync of a file with nothing dirty (fusefs/session.cc), and
// tests observe what a flush left cached without opening or mapping the
// file again.
//
// Thread-safety: a free function.
#pragma once

#include <cstdint>
#include <optional>

namespace hoodyfs {

struct PageCacheState {
  uint64_t cached = 0;     // pages in the cache
  uint64_t dirty = 0;      // of them, dirty
  uint64_t writeback = 0;  // of them, being written back
};

// The state of the first `length` bytes of the file open as `fd` (0: to
// the end), or nullopt with errno set when the kernel cannot tell (ENOSYS
// before 6.5, EOPNOTSUPP for a hugetlbfs file).
std::optional<PageCacheState> PageCacheOf(int fd, uint64_t length = 0);

}  // namespace hoodyfs
