#include "fusefs/acl_rules.h"

#include <sys/stat.h>

#include "snapshotter/engine/posix_acl.h"

namespace hoodyfs::fusefs {

using snapshotter::Acl;
using snapshotter::FileSystem;
using snapshotter::kAclAccessXattr;
using snapshotter::kAclDefaultXattr;
using snapshotter::ParseAcl;

namespace {
// The stored ACL `name` of `ino`, or nullopt when there is none.
Result<std::optional<Acl>> LoadAcl(FileSystem& fs, Ino ino, const char* name) {
  Result<std::string> raw = fs.GetXattr(ino, name);
  if (!raw.ok()) {
    if (raw.status().code() == Code::kNoData) return std::optional<Acl>();
    return raw.status();
  }
  HOODY_ASSIGN_OR_RETURN(Acl acl, ParseAcl(*raw));
  return std::optional<Acl>(std::move(acl));
}
}  // namespace

Result<NewNodeAcl> InheritAcl(FileSystem& fs, Ino parent, uint32_t mode, uint32_t umask) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Acl> inherited, LoadAcl(fs, parent, kAclDefaultXattr));
  return snapshotter::InheritAcl(inherited, mode, umask);
}

Status StoreInheritedAcl(FileSystem& fs, Ino ino, const NewNodeAcl& acl) {
  if (acl.default_acl) HOODY_RETURN_IF_ERROR(fs.SetXattr(ino, kAclDefaultXattr, *acl.default_acl));
  if (acl.access) HOODY_RETURN_IF_ERROR(fs.SetXattr(ino, kAclAccessXattr, *acl.access));
  return Status::OK();
}

Status SetAccessAcl(FileSystem& fs, Ino ino, std::string_view value) {
  HOODY_ASSIGN_OR_RETURN(Acl acl, ParseAcl(value));
  HOODY_ASSIGN_OR_RETURN(snapshotter::Attr attr, fs.GetAttr(ino));
  snapshotter::SetAttrRequest chmod;
  chmod.mode = (attr.mode & 07000) | AclModeBits(acl);
  if (AclEquivalentToMode(acl)) {
    // Only the base entries: the mode says it all; drop any stored ACL.
    HOODY_RETURN_IF_ERROR(fs.SetAttr(ino, chmod).status());
    Status removed = fs.RemoveXattr(ino, kAclAccessXattr);
    return removed.code() == Code::kNoData ? Status::OK() : removed;
  }
  // Store first: until the mode follows, the old mode still gates access
  // together with the new ACL's narrower mask.
  HOODY_RETURN_IF_ERROR(fs.SetXattr(ino, kAclAccessXattr, value));
  return fs.SetAttr(ino, chmod).status();
}

Status ChmodAccessAcl(FileSystem& fs, Ino ino, uint32_t mode) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Acl> acl, LoadAcl(fs, ino, kAclAccessXattr));
  if (!acl) return Status::OK();
  AclChmod(&*acl, mode);
  return fs.SetXattr(ino, kAclAccessXattr, EncodeAcl(*acl));
}

}  // namespace hoodyfs::fusefs
