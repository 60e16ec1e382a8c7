// mknod, mkdir, symlink, link, unlink, rmdir, rename.
#include <sys/stat.h>

#include <cstdio>

#include "fusefs/ops.h"

namespace hoodyfs::fusefs {

using snapshotter::Entry;
using snapshotter::FileSystem;

namespace {
// The owner of a node `req` makes in `parent`: the caller's fsuid and fsgid,
// or under a setgid directory that directory's group (BSD group semantics,
// as local filesystems do). `parent_setgid` tells which.
Result<snapshotter::Owner> NewNodeOwner(FuseFs& fs, fuse_req_t req, Ino parent,
                                        bool* parent_setgid) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  snapshotter::Owner owner{ctx->uid, ctx->gid};
  HOODY_ASSIGN_OR_RETURN(snapshotter::Attr dir, fs.view.GetAttr(parent));
  *parent_setgid = (dir.mode & S_ISGID) != 0;
  if (*parent_setgid) owner.gid = dir.gid;
  return owner;
}
}  // namespace

Result<Entry> CreateNode(FuseFs& fs, fuse_req_t req, Ino parent, std::string_view name,
                         uint32_t mode, uint64_t rdev, std::string_view symlink_target) {
  HOODY_RETURN_IF_ERROR(CheckName(name));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  // Under a setgid directory a new directory takes its setgid bit too.
  bool parent_setgid = false;
  HOODY_ASSIGN_OR_RETURN(snapshotter::Owner owner, NewNodeOwner(fs, req, parent, &parent_setgid));
  if (parent_setgid && S_ISDIR(mode)) mode |= S_ISGID;
  // With POSIX ACLs the kernel leaves the umask to us (FUSE_CAP_DONT_MASK):
  // the engine masks the mode with the parent's default ACL, or else the
  // umask, and stores the inherited ACLs in the change that makes the node.
  // Symlinks have neither.
  snapshotter::CreateOptions create;
  if (fs.posix_acl.load(std::memory_order_relaxed)) create.acl_umask = ctx->umask;
  if (S_ISDIR(mode)) return fs.view.Mkdir(parent, name, mode, owner, create);
  if (S_ISLNK(mode)) return fs.view.Symlink(parent, name, symlink_target, owner);
  return fs.view.Mknod(parent, name, mode, rdev, owner, create);
}

namespace {

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) noexcept {
  Serve(req, "mknod", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    Result<Entry> e = CreateNode(fs, req, Ino(parent), name, mode, rdev, {});
    if (!e.ok()) return r.Error(e.status());
    if (Status st = SyncIfAsked(fs, Ino(parent), Change::kDirectory); !st.ok()) return r.Error(st);
    ReplyEntry(fs, r, Ino(parent), name, *e);
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) noexcept {
  Serve(req, "mkdir", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    Result<Entry> e = CreateNode(fs, req, Ino(parent), name, S_IFDIR | (mode & 07777), 0, {});
    if (!e.ok()) return r.Error(e.status());
    if (Status st = SyncIfAsked(fs, Ino(parent), Change::kDirectory); !st.ok()) return r.Error(st);
    ReplyEntry(fs, r, Ino(parent), name, *e);
  });
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) noexcept {
  Serve(req, "symlink", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    Result<Entry> e = CreateNode(fs, req, Ino(parent), name, S_IFLNK | 0777, 0, target);
    if (!e.ok()) return r.Error(e.status());
    if (Status st = SyncIfAsked(fs, Ino(parent), Change::kDirectory); !st.ok()) return r.Error(st);
    ReplyEntry(fs, r, Ino(parent), name, *e);
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) noexcept {
  Serve(req, "link", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    if (Status st = CheckName(new_name); !st.ok()) return r.Error(st);
    Result<Entry> e = fs.view.Link(Ino(ino), Ino(new_parent), new_name);
    if (!e.ok()) return r.Error(e.status());
    if (Status st = SyncIfAsked(fs, Ino(new_parent), Change::kDirectory); !st.ok()) {
      return r.Error(st);
    }
    ReplyEntry(fs, r, Ino(new_parent), new_name, *e);
  });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  Serve(req, "unlink", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    if (Status st = fs.view.Unlink(Ino(parent), name); !st.ok()) return r.Error(st);
    fs.inodes.Removed(Ino(parent), name);
    r.Error(SyncIfAsked(fs, Ino(parent), Change::kDirectory));
  });
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  Serve(req, "rmdir", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    if (Status st = fs.view.Rmdir(Ino(parent), name); !st.ok()) return r.Error(st);
    fs.inodes.Removed(Ino(parent), name);
    r.Error(SyncIfAsked(fs, Ino(parent), Change::kDirectory));
  });
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
            const char* new_name, unsigned int flags) noexcept {
  Serve(req, "rename", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    using snapshotter::RenameFlags;
    if (flags & ~unsigned{RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT}) {
      return r.Error(EINVAL);  // anything newer
    }
    RenameFlags how = RenameFlags::kNone;
    if (flags & RENAME_NOREPLACE) how = how | RenameFlags::kNoReplace;
    if (flags & RENAME_EXCHANGE) how = how | RenameFlags::kExchange;
    if (flags & RENAME_WHITEOUT) how = how | RenameFlags::kWhiteout;
    // A whiteout needs no privilege (Linux 5.8+: no CAP_MKNOD for a 0/0
    // character device, in vfs_mknod or renameat2), only the write access to
    // both directories the kernel has checked; it is owned as a node the
    // caller made in `parent` would be.
    snapshotter::Owner whiteout_owner;
    if (flags & RENAME_WHITEOUT) {
      bool parent_setgid = false;
      Result<snapshotter::Owner> o = NewNodeOwner(fs, req, Ino(parent), &parent_setgid);
      if (!o.ok()) return r.Error(o.status());
      whiteout_owner = *o;
    }
    Status st = fs.view.Rename(Ino(parent), name, Ino(new_parent), new_name, how, whiteout_owner);
    if (!st.ok()) return r.Error(st);
    // The whiteout now at the old name was never handed to the kernel: its
    // next lookup of the name asks us.
    fs.inodes.Renamed(Ino(parent), name, Ino(new_parent), new_name,
                      HasFlag(how, RenameFlags::kExchange));
    st = SyncIfAsked(fs, Ino(parent), Change::kDirectory);
    if (st.ok() && new_parent != parent) st = SyncIfAsked(fs, Ino(new_parent), Change::kDirectory);
    r.Error(st);
  });
}

}  // namespace

void AddNamespaceOps(fuse_lowlevel_ops* ops) {
  ops->mknod = RefusedWhenReadOnly<Mknod>::Call;
  ops->mkdir = RefusedWhenReadOnly<Mkdir>::Call;
  ops->symlink = RefusedWhenReadOnly<Symlink>::Call;
  ops->link = RefusedWhenReadOnly<Link>::Call;
  ops->unlink = RefusedWhenReadOnly<Unlink>::Call;
  ops->rmdir = RefusedWhenReadOnly<Rmdir>::Call;
  ops->rename = RefusedWhenReadOnly<Rename>::Call;
}

}  // namespace hoodyfs::fusefs
