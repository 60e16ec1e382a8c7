// FuseFs: the state the request handlers of one session share; it is the
// fuse_session's userdata (fuse_req_userdata). Internal to fusefs/.
//
// Thread-safety: the members are either immutable after construction, atomic
// (set by INIT before the kernel sends any other request), or thread-safe
// tables.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "fusefs/handles.h"
#include "fusefs/inode_table.h"
#include "fusefs/kernel_channel.h"
#include "fusefs/limits.h"
#include "fusefs/session.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

struct fuse_session;

namespace hoodyfs::fusefs {

struct FuseFs {
  FuseFs(snapshotter::Store& store_in, snapshotter::FileSystem view_in, MountOptions options_in)
      : store(store_in), view(std::move(view_in)), options(std::move(options_in)) {
    read_only.store(options.read_only || view.read_only());
    sync.store(options.sync);
    dirsync.store(options.dirsync);
    atime.store(options.atime);
  }

  snapshotter::Store& store;
  // Unpinned: lookups, namespace operations, releases. Immutable (FileSystem
  // methods are not const, but a view holds no mutable state).
  snapshotter::FileSystem view;
  // As mounted; what Remount changes is in the atomics below.
  const MountOptions options;
  InodeTable inodes{kMaxNegativeEntries};
  HandleTable handles;

  // The options Session::Remount can change, read by every request.
  // read_only: every change is refused with EROFS (ro).
  std::atomic<bool> read_only{false};
  std::atomic<bool> sync{false};
  std::atomic<bool> dirsync{false};
  std::atomic<AtimeMode> atime{AtimeMode::kRelatime};

  // The session's device I/O; whether the kernel left clearing setuid and
  // setgid to us (FUSE_HANDLE_KILLPRIV_V2, negotiated at INIT) and serves
  // requests through io_uring (fuse_uring).
  KernelChannel channel{/*want_killpriv_v2=*/true};

  // Negotiated at INIT.
  std::atomic<bool> posix_acl{false};
  std::atomic<bool> writeback_cache{false};
  // The kernel can expire a dentry (next use revalidates it) instead of
  // invalidating it, which would detach mounts stacked on it (6.2+).
  std::atomic<bool> expire_only{false};

  // The libfuse session, for notifications sent from a handler (direct
  // writes, ops_file.cc). Set by Session::Mount before the loop starts.
  std::atomic<fuse_session*> session{nullptr};
  // Handlers now inside such a notification, each waiting for the kernel;
  // at most max_threads - 1, so one worker is always left to serve the
  // requests the kernel may be waiting for (InvalidateDirectWrite).
  std::atomic<unsigned> notifying_handlers{0};
  // The thread id of Session::FlushDirtyData's fdatasync through the mount,
  // while it runs (0 otherwise): the FSYNC it sends only needs the writes it
  // waited for to be in the engine, which they are once it arrives (the
  // snapshot that follows makes them durable), so Fsync answers it at once.
  std::atomic<pid_t> flushing_tid{0};

  // INIT has been answered (or the loop ended before it): Session::Mount waits.
  std::mutex init_mu;
  std::condition_variable init_cv;
  bool init_done = false;  // guarded by init_mu
};

}  // namespace hoodyfs::fusefs
