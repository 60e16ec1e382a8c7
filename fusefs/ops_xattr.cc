// setxattr, getxattr, listxattr, removexattr. Size-0 calls are probes for the
// length; a buffer too small is ERANGE, as on local filesystems. Under
// -o noacl the POSIX ACL xattrs do not exist: EOPNOTSUPP, and not listed
// (ext4 -o noacl).
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fusefs/ops.h"
#include "snapshotter/engine/posix_acl.h"

namespace hoodyfs::fusefs {

namespace {

using XattrMode = snapshotter::FileSystem::XattrMode;

// -o noacl and a system.posix_acl_* name.
bool AclRefused(const FuseFs& fs, std::string_view name) {
  return !fs.options.acl &&
         (name == snapshotter::kAclAccessXattr || name == snapshotter::kAclDefaultXattr);
}

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) noexcept {
  Serve(req, "setxattr", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    const std::string_view v(value, size);
    if (AclRefused(fs, name)) return r.Error(EOPNOTSUPP);
    if (fs.posix_acl.load(std::memory_order_relaxed) &&
        std::strcmp(name, snapshotter::kAclAccessXattr) == 0) {
      // The kernel checked the caller and the ACL; the engine moves the mode
      // with it, in the same change. A caller outside the file's group
      // without CAP_FSETID loses the setgid bit too (posix_acl_update_mode):
      // the kernel says so with FUSE_SETXATTR_ACL_KILL_SGID only through
      // setxattr_ext, which libfuse 3.14 does not negotiate, so we ask
      // /proc, and only when there is a setgid bit to lose.
      Result<snapshotter::Attr> a = fs.view.GetAttr(Ino(ino));
      if (!a.ok()) return r.Error(a.status());
      std::optional<snapshotter::CallerGroups> caller;
      if (a->mode & S_ISGID) {
        Result<snapshotter::CallerGroups> c = CallerOf(req);
        if (c.ok()) caller = std::move(c).value();
      }
      Status st = fs.view.SetAccessAcl(Ino(ino), v, caller ? &*caller : nullptr);
      if (st.ok()) st = SyncIfAsked(fs, Ino(ino), Change::kData);
      return r.Error(st);
    }
    XattrMode mode = XattrMode::kAny;
    if (flags & XATTR_CREATE) mode = XattrMode::kCreate;
    if (flags & XATTR_REPLACE) mode = XattrMode::kReplace;
    Status st = fs.view.SetXattr(Ino(ino), name, v, mode);
    if (st.ok()) st = SyncIfAsked(fs, Ino(ino), Change::kData);
    r.Error(st);
  });
}

// Replies with `value`, or its size for a probe, or ERANGE.
void ReplyValue(Reply& r, const std::string& value, size_t size) {
  if (size == 0) return r.Xattr(value.size());
  if (value.size() > size) return r.Error(ERANGE);
  r.Buf(value.data(), value.size());
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) noexcept {
  Serve(req, "getxattr", [&](Reply& r) {
    if (AclRefused(FsOf(req), name)) return r.Error(EOPNOTSUPP);
    Result<std::string> value = FsOf(req).view.GetXattr(Ino(ino), name);
    if (!value.ok()) return r.Error(value.status());
    ReplyValue(r, *value, size);
  });
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) noexcept {
  Serve(req, "listxattr", [&](Reply& r) {
    Result<std::vector<std::string>> names = FsOf(req).view.ListXattr(Ino(ino));
    if (!names.ok()) return r.Error(names.status());
    std::string list;
    for (const std::string& n : *names) {
      if (AclRefused(FsOf(req), n)) continue;  // stored before, hidden now
      list += n;
      list.push_back('\0');
    }
    ReplyValue(r, list, size);
  });
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) noexcept {
  Serve(req, "removexattr", [&](Reply& r) {
    FuseFs& fs = FsOf(req);
    if (AclRefused(fs, name)) return r.Error(EOPNOTSUPP);
    Status st = fs.view.RemoveXattr(Ino(ino), name);
    if (st.ok()) st = SyncIfAsked(fs, Ino(ino), Change::kData);
    r.Error(st);
  });
}

}  // namespace

void AddXattrOps(fuse_lowlevel_ops* ops) {
  ops->setxattr = RefusedWhenReadOnly<Setxattr>::Call;
  ops->getxattr = Getxattr;
  ops->listxattr = Listxattr;
  ops->removexattr = RefusedWhenReadOnly<Removexattr>::Call;
}

}  // namespace hoodyfs::fusefs
