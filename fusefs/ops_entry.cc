// lookup, forget, forget_multi, getattr, setattr, readlink, statfs.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "base/log.h"
#include "fusefs/limits.h"
#include "fusefs/ops.h"

namespace hoodyfs::fusefs {

using snapshotter::Entry;
using snapshotter::FileSystem;

Status CheckName(std::string_view name) {
  if (name.size() > kNameMax) return Status::NameTooLong("name longer than 255 bytes");
  return Status::OK();
}

Status StaleIfGone(Status status) {
  if (status.code() != Code::kNotFound) return status;
  return Status::Stale(status.message());
}

Status SyncIfAsked(FuseFs& fs, Ino ino, Change change) {
  const bool asked = fs.sync.load(std::memory_order_relaxed) ||
                     (change == Change::kDirectory && fs.dirsync.load(std::memory_order_relaxed));
  return asked ? fs.view.Fsync(ino) : Status::OK();
}

void ReplyEntry(FuseFs& fs, Reply& reply, Ino parent, std::string_view name, const Entry& entry) {
  const uint64_t generation = fs.inodes.Remember(parent, name, entry.ino);
  if (!reply.Entry(ToEntryParam(entry, generation))) fs.inodes.Forget(entry.ino, 1);
}

namespace {

// The kernel's export operations (fs/fuse/inode.c, with
// FUSE_CAP_EXPORT_SUPPORT) send what a path walk never does: "." on the
// inode a file handle names when the kernel no longer caches it (after a
// cache drop, a remount, a daemon restart), and ".." on a directory it
// reconnects to the tree. The reply hands the kernel a reference but no
// name it caches. ENOENT (a removed inode) becomes ESTALE in the kernel, and
// so does a generation other than the handle's (generation.h).
void LookupByNumber(FuseFs& fs, Reply& r, Ino ino, bool parent) {
  Result<Entry> e = parent ? fs.view.LookupParent(ino) : fs.view.LookupInode(ino);
  if (!e.ok()) return r.Error(e.status());
  const uint64_t generation = fs.inodes.RememberInode(e->ino);
  if (!r.Entry(ToEntryParam(*e, generation))) fs.inodes.Forget(e->ino, 1);
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  Serve(req, "lookup", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    const std::string_view n(name);
    if (n == "." || n == "..") return LookupByNumber(fs, r, Ino(parent), n == "..");
    if (Status st = CheckName(n); !st.ok()) return r.Error(st);
    Result<Entry> e = fs.view.Lookup(Ino(parent), n);
    if (e.ok()) return ReplyEntry(fs, r, Ino(parent), n, *e);
    if (e.status().code() != Code::kNotFound) return r.Error(e.status());
    // A negative entry (inode 0) the kernel caches, as passthrough_hp does;
    // uncached when the table cannot remember it for an invalidation.
    fuse_entry_param negative = {};
    negative.entry_timeout = fs.inodes.RememberNegative(Ino(parent), n) ? kCacheTimeoutSeconds : 0;
    r.Entry(negative);
  });
}

void ForgetOne(FuseFs& fs, fuse_ino_t ino, uint64_t nlookup) {
  if (!fs.inodes.Forget(Ino(ino), nlookup)) {
    Log(LogLevel::kWarning, "kernel forgot " + std::to_string(nlookup) + " lookups of inode " +
                                std::to_string(ino) + ", more than it had");
  }
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) noexcept {
  Serve(req, "forget", [&](Reply& r) {
    ForgetOne(FsOf(req), ino, nlookup);
    r.None();
  });
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) noexcept {
  Serve(req, "forget_multi", [&](Reply& r) {
    for (size_t i = 0; i < count; ++i) ForgetOne(FsOf(req), forgets[i].ino, forgets[i].nlookup);
    r.None();
  });
}

// The view a request acts through: its handle's (pinned to the lineage at
// open) when it names one, else the session's.
FileSystem& ViewFor(FuseFs& fs, fuse_file_info* fi) {
  return fi != nullptr ? HandleOf(fi)->view : fs.view;
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Serve(req, "getattr", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    Result<snapshotter::Attr> a = ViewFor(fs, fi).GetAttr(Ino(ino));
    if (!a.ok()) return r.Error(StaleIfGone(a.status()));
    r.Attr(ToStat(*a), kCacheTimeoutSeconds);
  });
}

index::Timespec FromTimespec(const timespec& ts) {
  return index::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
             fuse_file_info* fi) noexcept {
  Serve(req, "setattr", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    FileSystem& view = ViewFor(fs, fi);
    snapshotter::SetAttrRequest q;
    if (to_set & FUSE_SET_ATTR_MODE) q.mode = attr->st_mode & 07777;
    if (to_set & FUSE_SET_ATTR_UID) q.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) q.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) q.size = static_cast<uint64_t>(attr->st_size);
    const index::Timespec now = NowTimespec();
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      q.atime = now;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      q.atime = FromTimespec(attr->st_atim);
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      q.mtime = now;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      q.mtime = FromTimespec(attr->st_mtim);
    }
    // The writeback cache keeps ctime in the kernel and sends it here.
    if (to_set & FUSE_SET_ATTR_CTIME) q.ctime = FromTimespec(attr->st_ctim);
    // With POSIX ACLs, chmod moves the access ACL's entries in the same change.
    q.chmod_access_acl = fs.posix_acl.load(std::memory_order_relaxed);
    const bool killpriv_v2 = fs.channel.killpriv_v2();
    if (killpriv_v2 && !q.mode && (q.uid || q.gid || q.size)) {
      const PrivilegedChange change =
          q.uid || q.gid ? PrivilegedChange::kOwner : PrivilegedChange::kData;
      if (Status st = DropPrivilegesBefore(req, view, Ino(ino), change); !st.ok()) {
        return r.Error(st);
      }
    }
    Result<snapshotter::Attr> a = view.SetAttr(Ino(ino), q);
    if (!a.ok()) return r.Error(a.status());
    // A truncate changes the data: the setgid rule the kernel leaves to us.
    if (q.size && !killpriv_v2) {
      if (Status st = DropSgidAfterWrite(req, view, &*a); !st.ok()) return r.Error(st);
    }
    if (Status st = SyncIfAsked(fs, Ino(ino), Change::kData); !st.ok()) return r.Error(st);
    r.Attr(ToStat(*a), kCacheTimeoutSeconds);
  });
}

void Readlink(fuse_req_t req, fuse_ino_t ino) noexcept {
  Serve(req, "readlink", [&](Reply& r) {
    Result<std::string> target = FsOf(req).view.ReadLink(Ino(ino));
    if (!target.ok()) return r.Error(target.status());
    r.Readlink(target->c_str());
  });
}

void Statfs(fuse_req_t req, fuse_ino_t) noexcept {
  Serve(req, "statfs", [&](Reply& r) {
    Result<snapshotter::FsStats> s = FsOf(req).view.StatFs();
    if (!s.ok()) return r.Error(s.status());
    struct statvfs st = {};
    st.f_bsize = s->block_size;
    st.f_frsize = s->block_size;
    st.f_blocks = s->total_blocks;
    st.f_bfree = s->free_blocks;
    st.f_bavail = s->free_blocks;
    // Inode numbers are 64-bit and never run out: report plenty free.
    st.f_files = s->files + (uint64_t{1} << 32);
    st.f_ffree = uint64_t{1} << 32;
    st.f_favail = st.f_ffree;
    st.f_namemax = s->name_max;
    r.Statfs(st);
  });
}

}  // namespace

void AddEntryOps(fuse_lowlevel_ops* ops) {
  ops->lookup = Lookup;
  ops->forget = Forget;
  ops->forget_multi = ForgetMulti;
  ops->getattr = Getattr;
  ops->setattr = RefusedWhenReadOnly<Setattr>::Call;
  ops->readlink = Readlink;
  ops->statfs = Statfs;
}

}  // namespace hoodyfs::fusefs
