// The Linux on-disk form of a POSIX ACL, the value of the xattrs
// system.posix_acl_access and system.posix_acl_default: a little-endian u32
// version (2), then one 8-byte entry per ACL entry, u16 tag, u16 permission
// bits (r=4, w=2, x=1), u32 id (uid or gid for named entries, 0xffffffff for
// the others), sorted by tag then id as the kernel returns them.
//
// hoodyfs stores ACLs as these raw xattrs and leaves their meaning to the
// kernel above FUSE. Tar streams carry ACLs as text (SCHILY.acl.access),
// which is all GNU tar applies on extraction: ImportTar encodes the text it
// reads, ExportTar decodes the raw values to write the text.
#pragma once

#include <cstdint>
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
};

// The xattr value of `entries`, in any order.
std::string EncodePosixAcl(std::vector<AclEntry> entries);

// The entries of an xattr value. Errors: kCorruption (not version 2, a
// length that is not 4 + 8n, an unknown tag, permission bits beyond rwx).
Result<std::vector<AclEntry>> DecodePosixAcl(std::string_view value);

}  // namespace hoodyfs::snapshotter
