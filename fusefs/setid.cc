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

}  // namespace hoodyfs::fusefs
