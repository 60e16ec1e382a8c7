// file_ops: the POSIX calls on a data file that both file-backed devices
// (PosixDevice and UringDevice, through BackingFile) share, written once:
// full-length pread/pwrite loops, size, growth with preallocation, hole
// punching and fdatasync.
//
// Every function takes a descriptor it does not own. Thread-safety: as safe
// as the system calls themselves; callers serialize size changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/unique_fd.h"

namespace hoodyfs::blockstore {

// Reads exactly `length_bytes`, retrying short reads and EINTR.
// Errors: kIoError (also when the file ends first), what FromErrno maps.
Status PreadFull(int fd, void* buffer, size_t length_bytes, uint64_t offset_bytes);

// Writes exactly `length_bytes`, retrying short writes and EINTR.
// Errors: kNoSpace, kIoError, what FromErrno maps.
Status PwriteFull(int fd, const void* buffer, size_t length_bytes, uint64_t offset_bytes);

// The file's size from fstat. Errors: what FromErrno maps.
Result<uint64_t> FileSizeBytes(int fd);

// Extends the file from `old_size_bytes` to `new_size_bytes`, reserving the
// new range with fallocate so later writes neither fail for space nor block
// on allocation (io_uring would punt them to a worker thread). Only the new
// range is allocated: holes punched earlier stay holes. Falls back to
// ftruncate (no reservation) where fallocate is unsupported. On failure the
// size is put back to `old_size_bytes`, as a partial fallocate may have moved it.
// REQUIRES: old_size_bytes <= new_size_bytes.
// Errors: kNoSpace, kIoError, what FromErrno maps.
Status GrowFile(int fd, uint64_t old_size_bytes, uint64_t new_size_bytes);

// Returns the range to the host (PUNCH_HOLE | KEEP_SIZE) so later reads see
// zeros. Where punching is unsupported, writes zeros instead: the contract is
// the zeros, the freed space is a bonus. The range must be kIoAlign aligned,
// since the zero-writing fallback may run on an O_DIRECT descriptor.
// Errors: kIoError, kNoSpace (fallback only), what FromErrno maps.
Status PunchHole(int fd, uint64_t offset_bytes, uint64_t length_bytes);

// fdatasync, retried on EINTR. Errors: kIoError, what FromErrno maps.
Status DataSync(int fd);

// Waits for the file's pages under writeback, then starts writeback of its
// dirty pages, without waiting for those: sync_file_range(WAIT_BEFORE |
// WRITE) over the whole file. The wait checks and advances the writeback
// error mark of `fd`'s open file description, so call it on a descriptor of
// its own (ReopenForWriteback), never on the one whose fdatasync decides
// durability: that one still sees every failed write. Makes nothing durable
// (no device flush, no metadata). Errors: what FromErrno maps.
Status StartFileWriteback(int fd);

// A new open file description of the file behind `fd` (read-only, through
// /proc/self/fd), with a writeback error mark of its own.
// Errors: what FromErrno maps for open.
Result<UniqueFd> ReopenForWriteback(int fd);

// Whether the filesystem holding the file behind `fd` completes a buffered
// write without blocking when asked to (pwritev2 with RWF_NOWAIT), tried
// once on an unnamed O_TMPFILE in `dir`, which must be on the same
// filesystem (the file's directory): the file itself is never written and
// nothing is left behind. A filesystem that refuses such writes (ext4 and
// tmpfs up to Linux 6.18 at least) makes io_uring hand every buffered write
// to a worker thread, which makes the blocking call (docs/blockstore.md,
// "Small buffered writes").
// kTaken: the write went in, or would have had to wait (EAGAIN).
// kRefused: EOPNOTSUPP (the filesystem's own refusal) or EINVAL (the VFS's,
// for a filesystem without non-blocking buffered writes).
// kUnknown: the probe could not run (no O_TMPFILE there, `dir` on another
// filesystem than `fd`, or an answer not listed here).
enum class NowaitWrites { kTaken, kRefused, kUnknown };
NowaitWrites ProbeNowaitBufferedWrites(int fd, const std::string& dir);

}  // namespace hoodyfs::blockstore
