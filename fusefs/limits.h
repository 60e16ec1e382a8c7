// Limits of the FUSE layer, in one place so their relationships can be
// checked at compile time (house style: every queue and pool has a bound).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hoodyfs::fusefs {

// Largest WRITE (and READ) the kernel sends: the engine writes in pieces of
// 1 MiB (one extent), so a request maps to at most two pieces.
inline constexpr uint32_t kMaxWriteBytes = 1u << 20;

// Requests the kernel keeps in flight without a caller waiting for each
// (read-ahead READs, writeback of cached pages, O_DIRECT requests of an
// asynchronous submitter), and the number past which its read-ahead holds
// back ("congested"). The kernel's defaults, 12 and 9, let a cold
// sequential reader keep about three READs in flight; these a mean of 5.4-6.8
// (docs/benchmarks.md, "Background requests").
inline constexpr unsigned kMaxBackgroundRequests = 64;
inline constexpr unsigned kCongestionThreshold = kMaxBackgroundRequests * 3 / 4;
// The INIT reply carries both in 16 bits (libfuse clamps larger values).
static_assert(kCongestionThreshold <= kMaxBackgroundRequests && kMaxBackgroundRequests < 65536);

// FUSE worker threads per session. Each blocks in at most one engine call,
// and every engine call holds at most one LMDB read transaction.
inline constexpr unsigned kDefaultFuseThreads = 8;
inline constexpr unsigned kMaxFuseThreads = 64;
// LMDB reader slots (index::EnvOptions::max_readers), shared by every
// session of a store and the engine's own readers.
inline constexpr unsigned kLmdbReaderSlots = 1024;
// FUSE over io_uring: threads per session, over all CPUs (each serves one
// request at a time, like a worker). A host whose CPUs need more than this
// at two threads each mounts without the rings.
inline constexpr unsigned kMaxRingThreadsPerSession = 128;
static_assert(kDefaultFuseThreads >= 2 && kDefaultFuseThreads <= kMaxFuseThreads);
static_assert((kMaxFuseThreads + kMaxRingThreadsPerSession) * 4 <= kLmdbReaderSlots,
              "several sessions at their thread maximum must still find reader slots");

// Names the inode table remembers per inode (hard links the kernel caches);
// the rest are invalidated with their inode only.
inline constexpr size_t kMaxNamesPerInode = 16;
// Negative dentries the inode table remembers for invalidation. Past this,
// negative lookups are answered uncached (timeout 0), so an invalidation
// never misses one.
inline constexpr size_t kMaxNegativeEntries = 1u << 16;

// Kernel cache lifetime of entries and attributes. Every change goes through
// this mount (the kernel sees it) except a restore, after which
// Session::InvalidateDifference drops the stale ones explicitly; so they can
// be long.
inline constexpr double kCacheTimeoutSeconds = 3600.0;

// Session::InvalidateDifference reads the change logs between the old and
// the new head to find what differs. Reading one change-log record costs a
// fraction of one kernel notification (bench/restore_bench.cc, 2026-12-04:
// 0.16-0.89 us against 4.5-5.6 us), so it reads at most this many records
// per name and inode the kernel holds, then invalidates everything
// instead: the walk that found too much costs less than the full
// invalidation it falls back to, so a restore costs at most about twice the
// cheaper of the two, and O(difference) when the difference is the smaller.
inline constexpr uint64_t kChangeLogRecordsPerInvalidation = 4;
// ...and never fewer than this many records: with little cached, a small
// walk is cheap either way and keeps what is cached.
inline constexpr uint64_t kMinChangeLogRecordBudget = 4096;
static_assert(kChangeLogRecordsPerInvalidation >= 1);

// Largest name component (the kernel does not check it for FUSE).
inline constexpr size_t kNameMax = 255;

}  // namespace hoodyfs::fusefs
