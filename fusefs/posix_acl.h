// POSIX ACLs in their xattr form (system.posix_acl_access and
// system.posix_acl_default: a little-endian u32 version 2, then entries of
// u16 tag, u16 perm, u32 id), and the rules the kernel leaves to a FUSE
// filesystem that negotiates FUSE_CAP_POSIX_ACL: keeping the mode in step
// with the access ACL, and inheriting the parent's default ACL at creation.
// The functions mirror fs/posix_acl.c (posix_acl_equiv_mode,
// posix_acl_chmod, posix_acl_create_masq).
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hoodyfs::fusefs {

inline constexpr char kAclAccessXattr[] = "system.posix_acl_access";
inline constexpr char kAclDefaultXattr[] = "system.posix_acl_default";

enum AclTag : uint16_t {
  kAclUserObj = 0x01,
  kAclUser = 0x02,
  kAclGroupObj = 0x04,
  kAclGroup = 0x08,
  kAclMask = 0x10,
  kAclOther = 0x20,
};

struct AclEntry {
  uint16_t tag = 0;
  uint16_t perm = 0;  // rwx as 4/2/1
  uint32_t id = 0;    // uid or gid for kAclUser/kAclGroup
  bool operator==(const AclEntry&) const = default;
};

struct Acl {
  std::vector<AclEntry> entries;  // in the kernel's order (by tag, then id)
  bool operator==(const Acl&) const = default;
};

// Errors: kInvalidArgument (wrong version, size or tag; no owner, group or
// other entry; named entries without a mask).
Result<Acl> ParseAcl(std::string_view xattr);
std::string EncodeAcl(const Acl& acl);

// The permission bits (0777) the ACL implies: owner from the owner entry,
// group from the mask if there is one (else the owning group), other.
uint32_t AclModeBits(const Acl& acl);
// True when the ACL says nothing the mode bits do not (only the three base
// entries): such an access ACL is not stored.
bool AclEquivalentToMode(const Acl& acl);
// chmod: the owner, mask (else owning group) and other entries take the
// mode's bits; named entries keep theirs.
void AclChmod(Acl* acl, uint32_t mode);
// Creation under a directory with default ACL `acl` (a copy becomes the new
// node's access ACL): masks the ACL with the requested mode and returns the
// mode to create with. *needed is false when the result is equivalent to
// the mode (store no access ACL).
uint32_t AclCreateMasq(Acl* acl, uint32_t mode, bool* needed);

}  // namespace hoodyfs::fusefs
