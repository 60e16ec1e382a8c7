// The kernel's backing device info (bdi) of a FUSE mount: its read-ahead
// window and, with the writeback cache, its dirty-page limit, both set from
// sysfs (/sys/class/bdi/MAJOR:MINOR/) once the mount is live, because the
// FUSE protocol has no way to raise either.
//
// Read-ahead: the kernel starts every FUSE superblock with a window of
// 128 KiB, and the INIT reply can only lower it (max_readahead is a cap).
// So a cold sequential read arrives as one 128 KiB request after another,
// while the daemon could serve 1 MiB requests several at a time.
//
// Dirty limit: with the writeback cache the kernel holds written pages and
// sends them later, but for a FUSE bdi it enforces a strict limit of 1% of
// the system's dirty threshold (strict_limit, max_ratio 1: about 47 MiB on
// a 24 GiB machine), meant for daemons the kernel cannot trust to write
// back. A random writer then waits in balance_dirty_pages after a few
// megabytes, and small random writes ran 6-9x slower with the cache than
// without it. Our daemon is the store itself; the mount gets a local
// disk's treatment: no strict limit, and a share of at most
// kWritebackDirtyBytes once the system's dirty memory is high.
//
// A daemon without root keeps the kernel's settings and says so once.
// docs/benchmarks.md ("Read-ahead", "The writeback cache without the strict
// limit") has the measurements that chose the numbers.
//
// Thread-safety: free functions; call them once per mount.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/status.h"

namespace hoodyfs::fusefs {

// Four of the largest READs (kMaxWriteBytes, 1 MiB) in flight: in an
// interleaved A/B on 2026-12-05 cold 1 GiB reads ran at 430-515 MB/s with
// the default 128 KiB, 566-695 MB/s with 1 MiB and 698-1,100 MB/s with 4 MiB;
// 8 and 16 MiB were no faster than 4.
inline constexpr uint32_t kReadAheadKiB = 4096;

// The mount's share of dirty pages once the system's dirty memory passes
// its free-running point; below it, none (as for a local disk).
inline constexpr uint64_t kWritebackDirtyBytes = uint64_t{1} << 30;

// The sysfs file `name` of the bdi of the superblock `dev`.
std::string BdiPath(dev_t dev, const std::string& name);

// Sets the read-ahead window of the mount whose superblock is `dev` to
// kReadAheadKiB unless it is already at least that (an administrator's
// larger setting stays). Errors: those of opening, reading or writing the
// sysfs file (kPermission for an unprivileged daemon, kNotFound without
// sysfs).
Status RaiseReadAhead(dev_t dev);

// For a mount with the writeback cache: lifts the strict dirty limit and
// caps the mount's share at kWritebackDirtyBytes. Errors: as RaiseReadAhead.
Status LiftDirtyLimit(dev_t dev);

}  // namespace hoodyfs::fusefs
