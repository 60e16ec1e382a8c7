// OpenDataFile: opens the store's data file and picks the BlockDevice for it,
// falling back one step at a time when the host lacks a feature, and saying
// so on stderr once:
//   - O_DIRECT asked for but refused by the filesystem (EINVAL): buffered I/O, where
//     durability still comes from fdatasync in Sync().
//   - io_uring unavailable (io_uring_queue_init fails: ENOSYS, EPERM, ...):
//     PosixDevice.
// And one choice that is not a fallback: buffered, on a filesystem that
// refuses non-blocking buffered writes (ProbeNowaitBufferedWrites, asked
// once here), batches of writes are made by the caller rather than by an
// io_uring worker (UringOptions::inline_writes).
// Describe() on the result tells what was chosen.
//
// Thread-safety: a free function; the device it returns is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

struct DeviceOptions {
  enum class Kind { kUring, kPosix };
  Kind kind = Kind::kUring;
  // Buffered by default: the host's page cache absorbs writes and flushes
  // them at the commit's fdatasync (docs/blockstore.md, "Buffered or
  // O_DIRECT" has the measurements). O_DIRECT on request, with its fallback.
  bool direct_io = false;
  unsigned rings = 4;         // io_uring only; see UringOptions for limits
  unsigned queue_depth = 64;  // io_uring only
  // io_uring, buffered only: batches of writes are made by the caller where
  // the filesystem refuses non-blocking buffered writes (UringOptions::
  // inline_writes). false keeps every write on the rings (tests use it).
  bool inline_writes = true;
};

// Opens `path` read-write (creating it with mode 0600 when `create`; an
// existing file is used as it is) and returns a device over it.
// Errors: kNotFound (missing and !create), kPermission, kInvalidArgument (bad
// io_uring limits), whatever else open/fstat's errno maps to.
Result<std::unique_ptr<BlockDevice>> OpenDataFile(const std::string& path,
                                                  const DeviceOptions& options, bool create);

}  // namespace hoodyfs::blockstore
