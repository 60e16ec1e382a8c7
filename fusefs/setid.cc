// The part of Linux's setuid/setgid clearing that the kernel's FUSE layer
// leaves to the filesystem (docs/design.md, "setuid/setgid clearing").
//
// On a change to a file's data (write, truncate, fallocate) the kernel
// computes what to drop (file_remove_privs, setattr_should_drop_suidgid),
// but for FUSE without HANDLE_KILLPRIV fuse_setattr recomputes it from the
// mode alone: setuid, and setgid with group-exec. Linux 6.2+ also drops the
// setgid bit of a file its group cannot execute when the writer is neither
// in the file's group nor holds CAP_FSETID (setattr_should_drop_sgid); that
// case reaches us as a plain WRITE, FALLOCATE or SETATTR(size), and is done
// here, after the change, from the caller's credentials.
//
// With FUSE_HANDLE_KILLPRIV_V2 (kernel_channel.h) the kernel does none of it
// and all of it is done here, before the change: DropPrivilegesBefore.
#include <sys/stat.h>

#include "base/log.h"
#include "fusefs/caller_creds.h"
#include "fusefs/ops.h"

namespace hoodyfs::fusefs {

Result<snapshotter::CallerGroups> CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return ReadCallerGroups(ctx->pid, ctx->gid);
}

bool KeepsSgidOnlyForGroup(const snapshotter::Attr& attr) {
  return S_ISREG(attr.mode) && (attr.mode & (S_ISGID | S_IXGRP)) == S_ISGID;
}

Status DropSgidAfterWrite(fuse_req_t req, snapshotter::FileSystem& view, snapshotter::Attr* attr) {
  if (!KeepsSgidOnlyForGroup(*attr)) return Status::OK();
  Result<snapshotter::CallerGroups> caller = CallerOf(req);
  // Unknown caller (pid 0: the kernel's own writeback, or a pid namespace
  // we cannot see): keep the bit, as the kernel's FUSE path does.
  if (!caller.ok() || caller->InGroupOrCapable(attr->gid)) return Status::OK();
  snapshotter::SetAttrRequest drop;
  drop.mode = attr->mode & 07777 & ~uint32_t{S_ISGID};
  HOODY_ASSIGN_OR_RETURN(*attr, view.SetAttr(attr->ino, drop));
  return Status::OK();
}

namespace {

constexpr char kCapabilityXattr[] = "security.capability";

// What Linux drops from `mode` (setattr_should_drop_suidgid, and chown's
// unconditional setuid) for `caller`; nullopt-like 0 when nothing. An
// unknown caller counts as one without CAP_FSETID outside every group: the
// daemon cannot prove the change was privileged, so the bits go.
uint32_t BitsToDrop(uint32_t mode, uint32_t gid, const Result<snapshotter::CallerGroups>& caller,
                    PrivilegedChange change) {
  const bool capable = caller.ok() && caller->cap_fsetid;
  const bool in_group = caller.ok() && caller->InGroupOrCapable(gid);
  uint32_t drop = 0;
  if ((mode & S_ISUID) != 0 && (change == PrivilegedChange::kOwner || !capable)) drop |= S_ISUID;
  // setattr_should_drop_sgid: with group-exec always, else only for a
  // caller outside the group; a data change by a CAP_FSETID caller keeps it.
  if ((mode & S_ISGID) != 0 && ((mode & S_IXGRP) != 0 || !in_group) &&
      (change == PrivilegedChange::kOwner || !capable)) {
    drop |= S_ISGID;
  }
  return drop;
}

}  // namespace

Status DropPrivilegesBefore(fuse_req_t req, snapshotter::FileSystem& view, Ino ino,
                            PrivilegedChange change) {
  HOODY_ASSIGN_OR_RETURN(snapshotter::Attr attr, view.GetAttr(ino));
  if (change == PrivilegedChange::kData ? !S_ISREG(attr.mode) : S_ISDIR(attr.mode)) {
    return Status::OK();
  }
  // File capabilities go on any data change and any chown, whoever makes
  // it (cap_inode_killpriv). The kernel still does this itself while it
  // has not marked the inode S_NOSEC, but capabilities a restore or a
  // receive brought back behind its S_NOSEC would stay: so here too.
  if (view.GetXattr(ino, kCapabilityXattr).ok()) {
    HOODY_RETURN_IF_ERROR(view.RemoveXattr(ino, kCapabilityXattr));
  }
  if ((attr.mode & (S_ISUID | S_ISGID)) == 0) return Status::OK();
  const uint32_t drop = BitsToDrop(attr.mode, attr.gid, CallerOf(req), change);
  if (drop == 0) return Status::OK();
  snapshotter::SetAttrRequest q;
  q.mode = attr.mode & 07777 & ~drop;
  return view.SetAttr(ino, q).status();
}

}  // namespace hoodyfs::fusefs
