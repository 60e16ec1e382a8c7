// init and destroy, and the operation table.
//
// What INIT negotiates, and why (docs/design.md, "FUSE layer"):
//  - max_write 1 MiB: one engine write piece per request.
//  - max_background 64 and congestion_threshold 48 (the kernel's 12 and 9
//    kept a cold sequential read at about three READs in flight).
//  - async read, parallel dirops, cached symlinks.
//  - readdirplus for every listing, not only the first request of one
//    (READDIRPLUS_AUTO off): find, du and rm read a whole directory before
//    they stat its entries, so with the kernel's heuristic all but the
//    first few hundred entries of each directory cost a LOOKUP each
//    (docs/benchmarks.md, "Every listing with its attributes").
//  - writeback cache only when MountOptions asks (measured: off by default).
//  - no splice: the engine copies into aligned buffers anyway.
//  - explicit page-cache invalidation instead of auto_inval_data: the kernel
//    would otherwise drop a file's pages whenever its mtime moved, that is
//    after every write through this very mount.
//  - HANDLE_KILLPRIV (v1) off. HANDLE_KILLPRIV_V2, which libfuse 3.14
//    cannot ask for, is added to the reply by KernelChannel
//    (kernel_channel.h) when the kernel offers it: the kernel then stops
//    asking for security.capability before every write, and setid.cc
//    clears setuid, setgid and capabilities. Without it the kernel clears
//    them itself but for the setgid cases fuse_setattr leaves out (setid.cc).
//  - ATOMIC_O_TRUNC off: the kernel sends open(O_TRUNC) as a SETATTR with
//    a size, which clears setuid/setgid as a truncate does.
//  - EXPORT_SUPPORT: inode numbers are persistent, so file handles
//    (nodeid and generation) stay valid across cache drops, remounts and
//    daemon restarts; the kernel resolves them with lookups of "." and ".."
//    (ops_entry.cc, docs/design.md "Export handles").
//  - POSIX_ACL (with DONT_MASK) when default_permissions is on and the mount
//    is not -o noacl: the kernel
//    then enforces system.posix_acl_* (without it they are inert xattrs),
//    and the engine does the filesystem's share (FileSystem::SetAccessAcl,
//    CreateOptions::acl_umask, SetAttrRequest::chmod_access_acl).
#include <cstdio>

#include "fusefs/limits.h"
#include "fusefs/ops.h"

namespace hoodyfs::fusefs {

namespace {

void Init(void* userdata, fuse_conn_info* conn) noexcept {
  FuseFs& fs = *static_cast<FuseFs*>(userdata);
  auto want = [&](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  auto drop = [&](unsigned cap) { conn->want &= ~cap; };
  conn->max_write = kMaxWriteBytes;
  conn->time_gran = 1;
  conn->max_background = kMaxBackgroundRequests;
  conn->congestion_threshold = kCongestionThreshold;
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_READDIRPLUS);
  drop(FUSE_CAP_READDIRPLUS_AUTO);  // libfuse asks for it by default
  want(FUSE_CAP_CACHE_SYMLINKS);
  want(FUSE_CAP_EXPORT_SUPPORT);
  drop(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  drop(FUSE_CAP_HANDLE_KILLPRIV);
  drop(FUSE_CAP_ATOMIC_O_TRUNC);
  drop(FUSE_CAP_AUTO_INVAL_DATA);
  want(FUSE_CAP_EXPLICIT_INVAL_DATA);
  drop(FUSE_CAP_WRITEBACK_CACHE);
  if (fs.options.writeback_cache) want(FUSE_CAP_WRITEBACK_CACHE);
  const unsigned acl = FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
  if (fs.options.default_permissions && fs.options.acl && (conn->capable & acl) == acl) {
    conn->want |= acl;
  }
  fs.posix_acl.store((conn->want & FUSE_CAP_POSIX_ACL) != 0);
  fs.writeback_cache.store((conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0);
  fs.expire_only.store((conn->capable & FUSE_CAP_EXPIRE_ONLY) != 0);
  {
    std::lock_guard l(fs.init_mu);
    fs.init_done = true;
  }
  fs.init_cv.notify_all();
}

void Destroy(void*) noexcept {}

}  // namespace

fuse_lowlevel_ops MakeLowLevelOps() {
  fuse_lowlevel_ops ops = {};
  ops.init = Init;
  ops.destroy = Destroy;
  AddEntryOps(&ops);
  AddNamespaceOps(&ops);
  AddFileOps(&ops);
  AddDirOps(&ops);
  AddXattrOps(&ops);
  return ops;
}

}  // namespace hoodyfs::fusefs
