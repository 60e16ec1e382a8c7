// open, create, read, write, flush, release, fsync, fallocate, lseek.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/log.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/buffer_pool.h"
#include "fusefs/data_ranges.h"
#include "fusefs/limits.h"
#include "fusefs/ops.h"
#include "fusefs/uring_transport.h"

namespace hoodyfs::fusefs {

using snapshotter::Entry;

Result<OpenFile*> OpenHandle(FuseFs& fs, Ino ino, OpenRequest how, snapshotter::Attr* attr) {
  // Stamp first, then check the inode through the stamped view: a restore
  // in between makes the open fail with ESTALE rather than hand out a
  // handle on a tree it did not see.
  HOODY_ASSIGN_OR_RETURN(uint64_t lineage, fs.view.Lineage());
  snapshotter::FileSystem pinned = fs.view.PinnedTo(lineage);
  Result<snapshotter::Attr> checked = pinned.GetAttr(ino);
  HOODY_RETURN_IF_ERROR(StaleIfGone(checked.status()));
  if (attr != nullptr) *attr = *checked;
  fs.view.Open(ino);
  return fs.handles.Open(ino, std::move(pinned), how.writable, how.noatime);
}

snapshotter::AtimeUpdate AtimeFor(const FuseFs& fs, const OpenFile& handle) {
  if (handle.noatime || fs.read_only.load(std::memory_order_relaxed)) {
    return snapshotter::AtimeUpdate::kNever;
  }
  switch (fs.atime.load(std::memory_order_relaxed)) {
    case AtimeMode::kRelatime:
      return snapshotter::AtimeUpdate::kRelative;
    case AtimeMode::kStrictatime:
      return snapshotter::AtimeUpdate::kAlways;
    case AtimeMode::kNoatime:
      break;
  }
  return snapshotter::AtimeUpdate::kNever;
}

void CloseHandle(FuseFs& fs, OpenFile* handle) {
  // Through the session's view, not the handle's: a handle made stale by a
  // restore must still give back the engine's open count.
  Status st = fs.view.Release(handle->ino);
  if (!st.ok()) {
    Log(LogLevel::kError,
        "release of inode " + std::to_string(handle->ino.value) + ": " + st.ToString());
  }
  fs.handles.Close(handle);
}

namespace {

bool Writable(const fuse_file_info* fi) { return (fi->flags & O_ACCMODE) != O_RDONLY; }

// Keeps the page cache coherent with an O_DIRECT write (fi->flags carries
// the file's flags on each WRITE), as the kernel does for a local
// filesystem: drops the kernel's cached pages of the written range before
// the write is answered, so a buffered read that starts after the write
// completed cannot see the older bytes. The kernel does this itself after a
// synchronous direct write, but not after an asynchronous one (io_submit,
// io_uring), and pages a buffered reader cached while the write was on its
// way here would stay (with keep_cache and hour-long attribute timeouts,
// for good).
//
// Sent from the handler, against the rule that notifications go through
// the Invalidator, because it must land before the reply: the kernel's
// invalidation waits for pages locked by reads and buffered writes in
// flight, which other workers answer, so at most max_threads - 1 handlers
// wait here at once and one worker always stays free for those. On a ring
// thread (FUSE over io_uring) those requests come to the queue of the
// thread's own CPU, so the count is per queue (TryEnterNotification). A
// write that finds every slot taken is answered without it (logged: pages
// cached meanwhile may be stale until evicted or invalidated).
void InvalidateDirectWrite(FuseFs& fs, Ino ino, off_t offset, size_t length) {
  fuse_session* se = fs.session.load();
  if (se == nullptr || length == 0) return;
  const std::optional<bool> ring = UringTransport::TryEnterNotification();
  const unsigned slots = fs.options.max_threads - 1;
  if (ring.has_value() ? !*ring : fs.notifying_handlers.fetch_add(1) >= slots) {
    if (!ring.has_value()) fs.notifying_handlers.fetch_sub(1);
    Log(LogLevel::kWarning, "direct write to inode " + std::to_string(ino.value) +
                                ": every worker busy; its range left in the page cache");
    return;
  }
  const int rc =
      fuse_lowlevel_notify_inval_inode(se, ino.value, offset, static_cast<off_t>(length));
  if (ring.has_value()) {
    UringTransport::LeaveNotification();
  } else {
    fs.notifying_handlers.fetch_sub(1);
  }
  if (rc != 0 && rc != -ENOENT) {  // ENOENT: the kernel caches nothing of it
    Log(LogLevel::kWarning, "invalidating the direct write to inode " + std::to_string(ino.value) +
                                ": " + std::to_string(rc));
  }
}

OpenRequest RequestOf(const fuse_file_info* fi) {
  return OpenRequest{Writable(fi), (fi->flags & O_NOATIME) != 0};
}

// Reads the page cache answers never reach us, so they cannot move atime.
// When the next read must move it (relatime: the file changed since it was
// last read, or a day passed), a read-only open starts from an empty cache
// instead (keep_cache off: the kernel drops the file's pages at this open),
// so its first read comes here. Under relatime that is once per change of
// the file; under strictatime every read-only open; under noatime never.
// Opens for writing keep their cache: a database reopening the file it
// writes would otherwise lose its cache each time.
bool DropCacheForAtime(const FuseFs& fs, const OpenFile& handle, const snapshotter::Attr& attr) {
  if (handle.writable || !S_ISREG(attr.mode)) return false;
  return snapshotter::AtimeNeedsUpdate(AtimeFor(fs, handle), attr.atime, attr.mtime, attr.ctime,
                                       NowTimespec());
}

void SetOpenFlags(fuse_file_info* fi, OpenFile* handle) {
  fi->fh = reinterpret_cast<uintptr_t>(handle);
  // Pages stay cached across opens: nothing changes a file behind the
  // kernel's back except a restore, whose invalidation drops them then.
  fi->keep_cache = 1;
  // FLUSH does nothing here (locks are the kernel's): spare the round trip.
  // The kernel still flushes dirty pages on close with the writeback cache.
  fi->noflush = 1;
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Serve(req, "open", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    if ((Writable(fi) || (fi->flags & O_TRUNC)) && fs.read_only.load(std::memory_order_relaxed)) {
      return r.Error(EROFS);
    }
    snapshotter::Attr attr;
    Result<OpenFile*> h = OpenHandle(fs, Ino(ino), RequestOf(fi), &attr);
    if (!h.ok()) return r.Error(h.status());
    SetOpenFlags(fi, *h);
    if (DropCacheForAtime(fs, **h, attr)) fi->keep_cache = 0;
    if (!r.Open(fi)) CloseHandle(fs, *h);  // open(2) was interrupted
  });
}

// create: make the file (O_EXCL semantics from the engine), or, when it
// appeared since the kernel's lookup and O_EXCL is not set, open it.
void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) noexcept {
  Serve(req, "create", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    Result<Entry> e = CreateNode(fs, req, Ino(parent), name, S_IFREG | (mode & 07777), 0, {});
    if (!e.ok() && e.status().code() == Code::kExists && !(fi->flags & O_EXCL)) {
      e = fs.view.Lookup(Ino(parent), name);
      if (e.ok() && S_ISDIR(e->attr.mode)) return r.Error(EISDIR);
      if (e.ok() && (fi->flags & O_TRUNC) && e->attr.size > 0) {
        snapshotter::SetAttrRequest truncate;
        truncate.size = 0;
        Result<snapshotter::Attr> a = fs.view.SetAttr(e->ino, truncate);
        if (!a.ok()) return r.Error(a.status());
        e->attr = *a;
      }
    }
    if (!e.ok()) return r.Error(e.status());
    // The new entry (or the truncation) is durable before the open returns.
    if (Status st = SyncIfAsked(fs, Ino(parent), Change::kDirectory); !st.ok()) return r.Error(st);
    if (Status st = SyncIfAsked(fs, e->ino, Change::kData); !st.ok()) return r.Error(st);
    Result<OpenFile*> h = OpenHandle(fs, e->ino, RequestOf(fi));
    if (!h.ok()) return r.Error(h.status());
    SetOpenFlags(fi, *h);
    const uint64_t generation = fs.inodes.Remember(Ino(parent), name, e->ino);
    if (!r.Create(ToEntryParam(*e, generation), fi)) {
      fs.inodes.Forget(e->ino, 1);
      CloseHandle(fs, *h);
    }
  });
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) noexcept {
  Serve(req, "read", [&](Reply& r) {
    OpenFile* h = HandleOf(fi);
    // Aligned, so that the engine reads a page-aligned request straight
    // into it, and rounded up to whole blocks so that a read's last block
    // fits too (the kernel asks for at most max_pages, 1 MiB). On a ring
    // thread it is the ring entry's own buffer, which the reply is then
    // committed from, sparing a copy of up to 1 MiB per READ (docs/
    // design.md, "Reads into the ring's buffer"); elsewhere a pooled one.
    // Either may hold another request's bytes: the reply sends only the
    // bytes the read wrote.
    const size_t room = (size + kBlockSize - 1) / kBlockSize * kBlockSize;
    std::optional<blockstore::BufferPool::Lease> lease;
    char* bytes = UringTransport::ReplyRoom(room);
    if (bytes == nullptr) {
      lease.emplace(blockstore::IoBuffers().Borrow(room));
      bytes = reinterpret_cast<char*>(lease->buffer().data());
    }
    Result<size_t> n = h->view.Read(h->ino, static_cast<uint64_t>(offset), std::span(bytes, room),
                                    AtimeFor(FsOf(req), *h));
    if (!n.ok()) return r.Error(n.status());
    r.Buf(bytes, std::min(*n, size));
  });
}

void Write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t offset,
           fuse_file_info* fi) noexcept {
  Serve(req, "write", [&](Reply& r) {
    OpenFile* h = HandleOf(fi);
    // Through the handle's pinned view: after a restore this fails with
    // ESTALE inside the engine's own scope, so it never lands in the new tree.
    // A write-back of cached pages (pid 0) carries no caller: the write(2)
    // that dirtied them went through here first (the kernel writes through,
    // not back, for setuid and setgid files), as did mmap's, which Linux
    // never makes drop the bits.
    const bool killpriv_v2 = FsOf(req).channel.killpriv_v2();
    if (killpriv_v2 && !fi->writepage) {
      if (Status st = DropPrivilegesBefore(req, h->view, h->ino, PrivilegedChange::kData);
          !st.ok()) {
        return r.Error(st);
      }
    }
    snapshotter::Attr after;
    Result<size_t> n =
        h->view.Write(h->ino, static_cast<uint64_t>(offset), std::span(data, size), &after);
    if (fi->writepage && (!n.ok() || *n < size)) {
      // The kernel drops a write-back it gets an error for, and tells only
      // the file's next fsync or close: this log is the one record of
      // which bytes an application wrote and the store did not keep.
      Log(LogLevel::kError,
          "write-back of inode " + std::to_string(h->ino.value) + " at " + std::to_string(offset) +
              ", " + std::to_string(size) + " bytes: " +
              (n.ok() ? "only " + std::to_string(*n) + " written" : n.status().ToString()) +
              " (the kernel discards the rest)");
    }
    if (!n.ok()) return r.Error(n.status());
    // The bytes are in: a failure to drop the bit is logged, not answered.
    if (Status st = killpriv_v2 ? Status::OK() : DropSgidAfterWrite(req, h->view, &after);
        !st.ok()) {
      Log(LogLevel::kError,
          "write: dropping setgid of inode " + std::to_string(h->ino.value) + ": " + st.ToString());
    }
    if (Status st = SyncIfAsked(FsOf(req), h->ino, Change::kData); !st.ok()) return r.Error(st);
    if ((fi->flags & O_DIRECT) != 0 && !fi->writepage) {
      InvalidateDirectWrite(FsOf(req), h->ino, offset, *n);
    }
    r.Write(*n);
  });
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) noexcept {
  // Every write is in the engine when it returns; POSIX locks are the
  // kernel's (no getlk/setlk/flock here), so there is nothing to flush.
  Serve(req, "flush", [&](Reply& r) { r.Ok(); });
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Serve(req, "release", [&](Reply& r) {
    CloseHandle(FsOf(req), HandleOf(fi));
    r.Ok();
  });
}

void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) noexcept {
  Serve(req, "fsync", [&](Reply& r) {
    const pid_t flushing = FsOf(req).flushing_tid.load();
    if (flushing != 0 && fuse_req_ctx(req)->pid == flushing) return r.Error(Status::OK());
    OpenFile* h = HandleOf(fi);
    r.Error(h->view.Fsync(h->ino));
  });
}

void Fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length,
               fuse_file_info* fi) noexcept {
  Serve(req, "fallocate", [&](Reply& r) {
    if (offset < 0 || length <= 0) return r.Error(EINVAL);
    OpenFile* h = HandleOf(fi);
    const bool killpriv_v2 = FsOf(req).channel.killpriv_v2();
    if (killpriv_v2) {
      if (Status st = DropPrivilegesBefore(req, h->view, h->ino, PrivilegedChange::kData);
          !st.ok()) {
        return r.Error(st);
      }
    }
    Status st = h->view.Fallocate(h->ino, mode, static_cast<uint64_t>(offset),
                                  static_cast<uint64_t>(length));
    if (st.ok() && !killpriv_v2) {
      Result<snapshotter::Attr> a = h->view.GetAttr(h->ino);
      st = a.ok() ? DropSgidAfterWrite(req, h->view, &*a) : a.status();
    }
    if (st.ok()) st = SyncIfAsked(FsOf(req), h->ino, Change::kData);
    r.Error(st);
  });
}

void Lseek(fuse_req_t req, fuse_ino_t, off_t offset, int whence, fuse_file_info* fi) noexcept {
  Serve(req, "lseek", [&](Reply& r) {
    if (offset < 0) return r.Error(ENXIO);
    OpenFile* h = HandleOf(fi);
    Result<uint64_t> at = SeekDataOrHole(h->view, h->ino, static_cast<uint64_t>(offset), whence);
    if (!at.ok() && at.status().code() == Code::kNotFound) return r.Error(ENXIO);
    if (!at.ok()) return r.Error(at.status());
    r.Lseek(static_cast<off_t>(*at));
  });
}

}  // namespace

void AddFileOps(fuse_lowlevel_ops* ops) {
  ops->open = Open;
  ops->create = RefusedWhenReadOnly<Create>::Call;
  ops->read = Read;
  ops->write = RefusedWhenReadOnly<Write>::Call;
  ops->flush = Flush;
  ops->release = Release;
  ops->fsync = Fsync;
  ops->fallocate = RefusedWhenReadOnly<Fallocate>::Call;
  ops->lseek = Lseek;
  // getlk/setlk/flock stay unset: the kernel then keeps POSIX and BSD locks
  // locally, which is right for one mount served by one daemon.
  // copy_file_range stays unset: the kernel falls back to read+write.
}

}  // namespace hoodyfs::fusefs
