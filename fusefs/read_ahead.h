// The kernel's read-ahead window for a FUSE mount, raised so a sequential
// reader keeps several of the largest READ requests in flight.
//
// The kernel gives every FUSE superblock its own backing device info with
// the default window of 128 KiB, and the INIT reply can only lower it
// (max_readahead is a cap). So a cold sequential read arrives as one
// 128 KiB request after another, each a round trip and an engine read,
// while the daemon could serve 1 MiB requests several at a time. The window
// lives in sysfs (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb), writable by
// root; a daemon without that right keeps the default and says so once.
// docs/benchmarks.md, "Read-ahead", has the measurements that chose it.
//
// Thread-safety: a free function; call it once per mount.
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

// The sysfs file of the window of the superblock `dev`.
std::string ReadAheadPath(dev_t dev);

// Sets the window of the mount whose superblock is `dev` to kReadAheadKiB
// unless it is already at least that (an administrator's larger setting
// stays). Errors: those of opening, reading or writing the sysfs file
// (kPermission for an unprivileged daemon, kNotFound without sysfs).
Status RaiseReadAhead(dev_t dev);

}  // namespace hoodyfs::fusefs
