// POSIX ACLs: their types, their xattr form, and the rules that tie them to
// the mode. The one ACL vocabulary of hoodyfs: the engine's FileSystem
// applies the rules (fs_acl.cc), fusefs and snapshotter/transfer use these
// types.
//
// The xattr form, the value of system.posix_acl_access and
// system.posix_acl_default as Linux stores it: a little-endian u32 version
// (2), then one 8-byte entry per ACL entry, u16 tag, u16 permission bits
// (r=4, w=2, x=1), u32 id (uid or gid for named entries, 0xffffffff for the
// others), sorted by tag then id as the kernel returns them. Tar streams
// carry ACLs as text (SCHILY.acl.access), which is all GNU tar applies on
// extraction: ImportTar encodes the text it reads, ExportTar decodes the raw
// values to write the text.
//
// The rules are the ones the kernel leaves to a FUSE filesystem that
// negotiates FUSE_CAP_POSIX_ACL (it then checks access against the ACLs
// itself): keeping the mode in step with the access ACL, and inheriting the
// parent's default ACL at creation. They mirror fs/posix_acl.c
// (posix_acl_equiv_mode, posix_acl_chmod, posix_acl_create_masq).
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hoodyfs::snapshotter {

inline constexpr char kAclAccessXattr[] = "system.posix_acl_access";
inline constexpr char kAclDefaultXattr[] = "system.posix_acl_default";

enum class AclTag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kGroup = 0x08,
  kMask = 0x10,
  kOther = 0x20,
};

struct AclEntry {
  AclTag tag = AclTag::kUserObj;
  uint16_t perm = 0;  // r=4, w=2, x=1
  uint32_t id = 0;    // for kUser and kGroup; ignored for the others
  bool operator==(const AclEntry&) const = default;
};

// A whole ACL as the kernel accepts it (ParseAcl checks): an owner, owning
// group and other entry, and a mask when there are named entries.
struct Acl {
  std::vector<AclEntry> entries;  // in the kernel's order (by tag, then id)
  bool operator==(const Acl&) const = default;
};

// --- the xattr form ---

// The xattr value of `entries`, in any order.
std::string EncodePosixAcl(std::vector<AclEntry> entries);
inline std::string EncodeAcl(const Acl& acl) { return EncodePosixAcl(acl.entries); }

// The entries of a stored xattr value, as they are. Errors: kCorruption
// (not version 2, a length that is not 4 + 8n, an unknown tag, permission
// bits beyond rwx).
Result<std::vector<AclEntry>> DecodePosixAcl(std::string_view value);

// A value offered as an ACL (setxattr), with the kernel's checks of a whole
// ACL on top of the format; ids of unnamed entries read as 0. Errors:
// kInvalidArgument (wrong version, size or tag; no owner, group or other
// entry; named entries without a mask).
Result<Acl> ParseAcl(std::string_view xattr);

// --- the mode rules ---

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

// The mode and ACL xattrs of a node about to be created.
struct NewNodeAcl {
  uint32_t mode = 0;
  std::optional<std::string> access;       // system.posix_acl_access to store
  std::optional<std::string> default_acl;  // system.posix_acl_default (directories)
};

// The POSIX rule for a new node: `mode` (type and permission bits) masked
// by the parent's default ACL when it has one (which a directory also takes
// as its own default ACL), else by `umask`.
NewNodeAcl InheritAcl(const std::optional<Acl>& parent_default, uint32_t mode, uint32_t umask);

}  // namespace hoodyfs::snapshotter
