// POSIX ACL semantics of FileSystem (posix_acl.h has the rules): setting an
// access ACL, and the ACL steps that Mknod/Mkdir (inheritance) and SetAttr
// (chmod) take inside their own write scope. Each is one change, so a
// freeze never captures a mode that disagrees with the node's ACL.
#include <sys/stat.h>

#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

using index::InodeRecord;
using index::KvScope;
using index::WriteScope;

namespace internal {

Result<std::optional<Acl>> LoadAcl(const KvScope& s, Meta& meta, GenId gen, Ino ino,
                                   std::string_view name) {
  HOODY_ASSIGN_OR_RETURN(auto v, meta.xattrs().Get(s, index::XattrLogical(ino, name), gen));
  if (!v) return std::optional<Acl>();
  HOODY_ASSIGN_OR_RETURN(Acl acl, ParseAcl(v->data));
  return std::optional<Acl>(std::move(acl));
}

Result<NewNodeAcl> InheritFrom(const KvScope& s, Meta& meta, GenId gen, Ino parent, uint32_t mode,
                               uint32_t umask) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Acl> inherited,
                         LoadAcl(s, meta, gen, parent, kAclDefaultXattr));
  return InheritAcl(inherited, mode, umask);
}

Status StoreInherited(WriteScope& s, Meta& meta, GenId gen, Ino ino, const NewNodeAcl& acl) {
  if (acl.default_acl) {
    HOODY_RETURN_IF_ERROR(
        meta.xattrs().Put(s, index::XattrLogical(ino, kAclDefaultXattr), gen, *acl.default_acl));
  }
  if (acl.access) {
    HOODY_RETURN_IF_ERROR(
        meta.xattrs().Put(s, index::XattrLogical(ino, kAclAccessXattr), gen, *acl.access));
  }
  return Status::OK();
}

Status ChmodAccessAcl(WriteScope& s, Meta& meta, GenId gen, Ino ino, uint32_t mode) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Acl> acl, LoadAcl(s, meta, gen, ino, kAclAccessXattr));
  if (!acl) return Status::OK();
  AclChmod(&*acl, mode);
  return meta.xattrs().Put(s, index::XattrLogical(ino, kAclAccessXattr), gen, EncodeAcl(*acl));
}

}  // namespace internal

Status FileSystem::SetAccessAcl(Ino ino, std::string_view value, const CallerGroups* caller) {
  HOODY_ASSIGN_OR_RETURN(Acl acl, ParseAcl(value));
  // Only the base entries: the mode says it all, and no ACL is stored.
  const bool store = !AclEquivalentToMode(acl);
  if (store) {
    if (value.size() > internal::kXattrValueMax) {
      return Status::Range("attribute value over 64 KiB");
    }
    HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  }
  const uint32_t bits = AclModeBits(acl);
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    const std::string logical = index::XattrLogical(ino, kAclAccessXattr);
    if (store) {
      HOODY_RETURN_IF_ERROR(meta.xattrs().Put(s, logical, g, value));
    } else {
      HOODY_ASSIGN_OR_RETURN(auto existing, meta.xattrs().Get(s, logical, g));
      if (existing) HOODY_RETURN_IF_ERROR(meta.xattrs().Erase(s, logical, g));
    }
    // The type and the setuid, setgid and sticky bits stay, but for the
    // setgid bit of a caller outside the file's group without CAP_FSETID,
    // as a chmod by that caller would lose it.
    rec.mode = (rec.mode & ~uint32_t{0777}) | bits;
    if (caller != nullptr && !caller->InGroupOrCapable(rec.gid)) rec.mode &= ~uint32_t{S_ISGID};
    rec.ctime = internals().Now();
    return meta.PutInode(s, g, ino, rec);
  });
}

}  // namespace hoodyfs::snapshotter
