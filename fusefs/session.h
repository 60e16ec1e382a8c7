// Session: one FUSE session serving one FileSystem view (a container's live
// head, or a frozen generation read-only) at a mountpoint, in the caller's
// mount namespace, on its own threads (libfuse's multi-threaded loop).
//
// Ownership: the Session owns the FUSE session, its worker threads and the
// invalidation thread; it borrows the Store, which must outlive it.
// Lifetime: Mount returns a live mount; Unmount (or the destructor) ends it.
//
// Thread-safety: FlushDirtyData, InvalidateDifference, InvalidateAll and
// Unmount may be called from any thread except a FUSE request handler (they
// wait for the kernel, which may wait for the handlers); calls are
// serialized internally.
//
// The caching choices (docs/design.md, "FUSE layer"): entries and attributes
// are cached for kCacheTimeoutSeconds and pages are kept across opens,
// because every change reaches the engine through this mount; the one
// exception, a restore, is followed by InvalidateDifference.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "fusefs/limits.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::fusefs {

// How reads and directory listings move atime (-o atime/relatime,
// noatime, strictatime): AtimeFor (fusefs/ops.h) maps it to the engine's
// AtimeUpdate for each read. docs/design.md, "Access times".
enum class AtimeMode : uint8_t { kRelatime, kNoatime, kStrictatime };

// What an invalidation after a restore did.
struct InvalidationStats {
  // Everything the kernel holds was invalidated (InvalidateAll), not only
  // what differs.
  bool full = false;
  uint64_t records_read = 0;  // change-log entries read to find the difference
  size_t names = 0;           // entry notifications sent
  size_t inodes = 0;          // inode notifications sent
};

struct MountOptions {
  // ro: the kernel and the daemon both refuse changes with EROFS (a frozen
  // view is mounted read-only anyway). Session::Remount changes it.
  bool read_only = false;
  // Container-root defaults: other users see the mount, the kernel checks
  // permissions (and POSIX ACLs), setuid binaries and device nodes work.
  bool allow_other = true;
  bool default_permissions = true;
  bool suid = true;
  bool dev = true;
  bool exec = true;
  // The generic VFS options (docs/design.md, "Mount options").
  AtimeMode atime = AtimeMode::kRelatime;
  bool lazytime = false;  // the kernel's flag only: times wait for the group commit anyway
  // noacl: POSIX ACLs off, as ext4 -o noacl: FUSE_CAP_POSIX_ACL is not
  // negotiated (no ACL checks, no inheritance) and the system.posix_acl_*
  // xattrs are refused with EOPNOTSUPP.
  bool acl = true;
  // sync: every change is durable (FileSystem::Fsync) before its reply;
  // dirsync: every change to a directory's entries.
  bool sync = false;
  bool dirsync = false;
  // The kernel's writeback cache (docs/design.md, "FUSE layer": measured,
  // off by default). With it on, a point-in-time snapshot needs
  // FlushDirtyData first.
  bool writeback_cache = false;
  // FUSE over io_uring (fusefs/uring_transport.h; Linux 6.14+): requests
  // and replies through per-CPU rings instead of /dev/fuse, a round trip
  // about half as long (docs/design.md, "FUSE over io_uring"). The kernel
  // offers it only while the fuse module's enable_uring parameter is Y, a
  // host-wide setting that lets every FUSE daemon ask for it:
  //  kIfAllowed (default): the rings when the host allows them already;
  //  kOn (fuse_uring): sets enable_uring when it is not (logged as a
  //    warning), then the rings;
  //  kOff (no_fuse_uring): /dev/fuse alone.
  // Where the kernel lacks it, every mode goes through /dev/fuse.
  enum class FuseUring { kOff, kIfAllowed, kOn };
  FuseUring fuse_uring = FuseUring::kIfAllowed;
  std::vector<std::string> extra;              // raw -o options, passed to libfuse as given
  unsigned max_threads = kDefaultFuseThreads;  // 2..kMaxFuseThreads
  // Called from the session's loop thread when the loop ends without
  // Unmount (umount(8) from outside, an aborted connection). The owner then
  // calls Unmount, from another thread, to release the session.
  std::function<void()> on_ended;
};

class Session {
 public:
  // Mounts `view` at `mountpoint` and starts serving. Returns once the kernel
  // has answered INIT and the mountpoint shows the root. A dead mount left
  // by a killed daemon at `mountpoint` is cleared first (ClearDeadMount).
  // Errors (each names the mountpoint): kNotFound (/dev/fuse or the
  // mountpoint missing), kPermission (no right to mount or to open
  // /dev/fuse), kNotDirectory, kInvalidArgument (bad options), kIoError
  // (libfuse refused; it logs why on stderr).
  static Result<std::unique_ptr<Session>> Mount(snapshotter::Store& store,
                                                snapshotter::FileSystem view,
                                                const std::string& mountpoint,
                                                const MountOptions& options);

  // Unmounts if still mounted (lazily, and aborting the connection, when the
  // mount is busy) and stops every thread.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Point in time: when this returns, every write(2) that returned to an
  // application before the call has reached the engine. With the writeback
  // cache, the kernel writes back the dirty pages of every inode open for
  // writing (notify_inval_inode from the invalidation thread; the pages are
  // dropped from the cache too). Pages dirtied through a shared mapping are
  // flushed the same way in both modes. Errors: kIoError.
  Status FlushDirtyData();

  // After the container's head moved from `old_head` to `new_head` (a
  // restore): expires the dentries (positive and negative) and drops the
  // attributes and pages the kernel caches for this mount that differ
  // between the two generations (snapshotter::ChangedBetween), so the next
  // lookup, readdir or read sees the new tree; what is the same in both
  // stays cached. The inodes of handles still open (opened before the
  // restore) are dropped too. Handles opened before the restore fail with
  // ESTALE (EIO with the writeback cache, whose stale inodes are replaced
  // instead: see docs/design.md, "FUSE layer"); their dirty pages never
  // reach the new tree.
  //
  // Cost: O(records written between the two generations), and never much
  // more than InvalidateAll: when the change logs hold more than
  // kChangeLogRecordsPerInvalidation records per name and inode the kernel
  // holds, it stops reading and does InvalidateAll instead (as it does if
  // the difference cannot be read). REQUIRES: `old_head` stays pinned
  // until this returns (a discarded head may otherwise be reclaimed).
  // Errors: kInvalidArgument (not mounted), kIoError (a notification
  // failed; the rest were still sent).
  Result<InvalidationStats> InvalidateDifference(GenId old_head, GenId new_head);

  // Expires every dentry (positive and negative) and drops every attribute
  // and page the kernel caches for this mount; with the writeback cache
  // every inode the kernel holds is replaced. For changes behind the
  // mount's back whose extent is not known. Errors: kIoError.
  Status InvalidateAll();

  // Unmounts and stops the threads. Errors: kBusy naming the mountpoint
  // (files still open or a process inside it; the session keeps serving).
  Status Unmount();

  // The options in force (those given to Mount, as Remount changed them).
  MountOptions options() const;
  // mount -o remount: applies `next` without dropping the mount. What can
  // change: read_only, suid, dev, exec, atime, lazytime, sync, dirsync; the
  // kernel's mount flags (mount(2) MS_REMOUNT) and the daemon's own checks
  // move together. Going read-only, the kernel goes first (it refuses
  // while a file is open for writing, and writes dirty pages back); going
  // read-write, the daemon does. Errors: kInvalidArgument (an option that
  // cannot change on a live mount, naming it), kReadOnly (read-write asked
  // for a snapshot), kBusy (a file is open for writing), and what
  // mount(2) fails with, naming the mountpoint; on error nothing changed.
  Status Remount(const MountOptions& next);

  const std::string& mountpoint() const;
  // True once the mount is gone without Unmount (see
  // MountOptions::on_ended): the loop ended, or the mountpoint no longer
  // shows this mount. Not from a FUSE request handler (it may stat the
  // mountpoint).
  bool Ended() const;

  // Requests served through FUSE over io_uring so far; 0 when the kernel did
  // not agree to it (MountOptions::fuse_uring).
  uint64_t uring_requests() const;
  // The same per queue, that is per CPU the callers ran on.
  std::vector<uint64_t> uring_requests_by_cpu() const;
  // Of those, the replies whose data was read straight into the ring
  // entry's buffer (READs), with no copy in the daemon.
  uint64_t uring_replies_in_place() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `path` is a FUSE mount whose connection is gone (its daemon was
// killed, or the connection aborted). Asked with statfs(2), which always
// goes to the daemon: stat(2) of a mount's root is answered from the
// kernel's attribute cache while it is valid (an hour here), even after the
// connection died. The answer is ENOTCONN, or ECONNABORTED or ECANCELED
// while the kernel tears down a dead daemon's FUSE rings.
bool IsDeadMount(const std::string& path);

// The abort file of the FUSE connection of the superblock `dev` in fusectl
// (mounted privately if the system has not), open for writing; invalid when
// there is no such connection. Open it while the connection is known to be
// ours (its mount still exists): connection numbers are reused as soon as a
// connection ends, but an open file keeps pointing at its own connection
// (after that connection ends, writing to it does nothing).
UniqueFd OpenAbortFile(dev_t dev);
// Writes to an abort file: every request of the connection fails with
// ENOTCONN and its session's loop ends. False when the file is invalid.
bool WriteAbort(const UniqueFd& abort_file);
// Both at once, for a connection whose mount is known to be alive.
bool AbortConnection(dev_t dev);

// Clears a dead mount at `mountpoint` (IsDeadMount) with a lazy unmount.
// OK when the path is no dead mount.
// Errors (naming the path): what stat or umount2 failed with.
Status ClearDeadMount(const std::string& mountpoint);

}  // namespace hoodyfs::fusefs
