// Limits of the FUSE layer, in one place so their relationships can be
// checked at compile time (house style: every queue and pool has a bound).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hoodyfs::fusefs {

// Largest WRITE (and READ) the kernel sends: the engine writes in pieces of
// 1 MiB (one extent), so a request maps to at most two pieces.
inline constexpr uint32_t kMaxWriteBytes = 1u << 20;

// FUSE worker threads per session. Each blocks in at most one engine call,
// and every engine call holds at most one LMDB read transaction.
inline constexpr unsigned kDefaultFuseThreads = 8;
inline constexpr unsigned kMaxFuseThreads = 64;
// LMDB reader slots (index::EnvOptions::max_readers), shared by every
// session of a store and the engine's own readers.
inline constexpr unsigned kLmdbReaderSlots = 1024;
static_assert(kDefaultFuseThreads >= 2 && kDefaultFuseThreads <= kMaxFuseThreads);
static_assert(kMaxFuseThreads * 4 <= kLmdbReaderSlots,
              "several sessions at their thread maximum must still find reader slots");

// Names the inode table remembers per inode (hard links the kernel caches);
// the rest are invalidated with their inode only.
inline constexpr size_t kMaxNamesPerInode = 16;
// Negative dentries the inode table remembers for invalidation. Past this,
// negative lookups are answered uncached (timeout 0), so InvalidateAll never
// misses one.
inline constexpr size_t kMaxNegativeEntries = 1u << 16;

// Kernel cache lifetime of entries and attributes. Every change goes through
// this mount (the kernel sees it) except a restore, after which
// Session::InvalidateAll drops the caches explicitly; so they can be long.
inline constexpr double kCacheTimeoutSeconds = 3600.0;

// Largest name component (the kernel does not check it for FUSE).
inline constexpr size_t kNameMax = 255;

}  // namespace hoodyfs::fusefs
