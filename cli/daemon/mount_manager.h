// MountManager: the daemon's FUSE sessions, one per mounted container head
// or snapshot, and what keeps them coherent with the snapshot verbs:
// - before a snapshot or restore of a container, every head mount of it
//   flushes the kernel's writeback cache (point in time);
// - after a restore, every head mount of it drops the kernel's caches, so
//   the next lookup sees the restored tree without a remount;
// - a mounted snapshot is pinned (deleting it is refused, naming the
//   mountpoint), and a mounted container cannot be deleted.
//
// Thread-safety: every method may be called from any thread but a FUSE
// request handler.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "cli/api/mount_api.h"
#include "fusefs/session.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

class MountManager final : public MountService {
 public:
  // `on_ended` runs (on a FUSE loop thread) when a mount is unmounted from
  // outside; the owner then calls ReapEnded from another thread.
  MountManager(snapshotter::Snapshotter& snap, std::function<void()> on_ended);
  ~MountManager() override;  // unmounts everything

  // A client's mount: the mountpoint must pass CheckMountpoint
  // (mountpoint_policy.h), then as MountUnchecked.
  // Errors: kInvalidArgument (a refused mountpoint, bad option), and those
  // of MountUnchecked.
  Result<MountInfo> Mount(const MountRequest& request) override;
  // The daemon's own mounts, under the store's scratch directory (bisect):
  // no mountpoint policy. Errors: kInvalidArgument (mountpoint not
  // absolute, bad option), kExists (already mounted here), kNotFound
  // (container, snapshot, mountpoint), and what fusefs::Session::Mount
  // returns.
  Result<MountInfo> MountUnchecked(const MountRequest& request);
  // Errors: kNotFound (nothing of ours mounted there), kBusy (in use).
  Status Unmount(const std::string& mountpoint) override;
  // mount -o remount: `options` (mount(8)'s words; "remount" and what the
  // kernel shows of a FUSE mount are ignored) apply over the mount's
  // current ones (fusefs::Session::Remount). Errors: kNotFound, kBusy
  // (being unmounted, or a file open for writing when going read-only),
  // kInvalidArgument (an option that cannot change), kReadOnly (read-write
  // asked for a snapshot).
  Result<MountInfo> Remount(const std::string& mountpoint,
                            const std::vector<std::string>& options) override;
  std::vector<MountInfo> List() override;

  // The Snapshotter hooks that keep mounts coherent with the verbs.
  snapshotter::SnapshotterHooks Hooks();
  // Unmounts everything (shutdown); errors are logged, not returned.
  void UnmountAll();
  // Releases the sessions whose mount went away from outside (umount(8));
  // returns their mountpoints. REQUIRES: not on a FUSE thread.
  std::vector<std::string> ReapEnded();
  size_t size();

 private:
  struct Mounted {
    MountInfo info;
    snapshotter::Store::Pin pin;  // snapshot mounts
    std::unique_ptr<fusefs::Session> session;
    // Guarded by mu_: an Unmount call owns the session until it returns, so
    // ReapEnded (woken by the very loop that Unmount ends) leaves it alone.
    bool unmounting = false;
  };
  Status SyncContainer(const std::string& container) EXCLUDES(mu_);
  void InvalidateContainer(const snapshotter::HeadChange& change) EXCLUDES(mu_);
  Status CheckNotMounted(const std::string& container) EXCLUDES(mu_);

  snapshotter::Snapshotter& snap_;
  std::function<void()> on_ended_;
  // Never held across a session call. Also guards each Mounted's
  // `unmounting` (a member of another object: beyond GUARDED_BY).
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Mounted>> mounts_ GUARDED_BY(mu_);  // by mountpoint
};

// Parses -o words into session options, over `base`; the generic VFS words
// (atime, relatime, noatime, strictatime, lazytime, acl, noacl, sync,
// dirsync, exec, noexec) are ours, unknown words go to libfuse as given
// (MountOptions::extra). Errors: kInvalidArgument naming the word.
Result<fusefs::MountOptions> ParseMountOptions(const std::vector<std::string>& words,
                                               const fusefs::MountOptions& base = {});

}  // namespace hoodyfs::cli
