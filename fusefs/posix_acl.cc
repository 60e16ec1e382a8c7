#include "fusefs/posix_acl.h"

#include <sys/stat.h>

#include "snapshotter/engine/posix_acl.h"

namespace hoodyfs::fusefs {

// The byte format is snapshotter/engine/posix_acl.h's; here are the rules the
// kernel expects of a whole ACL.
Result<Acl> ParseAcl(std::string_view xattr) {
  auto decoded = snapshotter::DecodePosixAcl(xattr);
  if (!decoded.ok()) return Status::InvalidArgument(decoded.status().message());
  Acl acl;
  bool user_obj = false, group_obj = false, other = false, mask = false, named = false;
  for (const snapshotter::AclEntry& d : *decoded) {
    AclEntry e;
    e.tag = static_cast<uint16_t>(d.tag);
    e.perm = d.perm;
    // Only named entries carry an id (the others hold ACL_UNDEFINED_ID).
    e.id = d.tag == snapshotter::AclTag::kUser || d.tag == snapshotter::AclTag::kGroup ? d.id : 0;
    switch (e.tag) {
      case kAclUserObj:
        user_obj = true;
        break;
      case kAclGroupObj:
        group_obj = true;
        break;
      case kAclOther:
        other = true;
        break;
      case kAclMask:
        mask = true;
        break;
      default:  // kAclUser, kAclGroup: the decoder knows no others
        named = true;
        break;
    }
    acl.entries.push_back(e);
  }
  if (!user_obj || !group_obj || !other) {
    return Status::InvalidArgument("ACL without owner, group or other entry");
  }
  if (named && !mask) return Status::InvalidArgument("ACL with named entries and no mask");
  return acl;
}

std::string EncodeAcl(const Acl& acl) {
  std::vector<snapshotter::AclEntry> entries;
  for (const AclEntry& e : acl.entries) {
    entries.push_back(snapshotter::AclEntry{static_cast<snapshotter::AclTag>(e.tag), e.perm, e.id});
  }
  return snapshotter::EncodePosixAcl(std::move(entries));
}

uint32_t AclModeBits(const Acl& acl) {
  uint32_t mode = 0;
  bool have_mask = false;
  for (const AclEntry& e : acl.entries) {
    switch (e.tag) {
      case kAclUserObj:
        mode |= uint32_t{e.perm} << 6;
        break;
      case kAclGroupObj:
        if (!have_mask) mode = (mode & ~uint32_t{S_IRWXG}) | (uint32_t{e.perm} << 3);
        break;
      case kAclMask:
        have_mask = true;
        mode = (mode & ~uint32_t{S_IRWXG}) | (uint32_t{e.perm} << 3);
        break;
      case kAclOther:
        mode |= e.perm;
        break;
      default:
        break;
    }
  }
  return mode;
}

bool AclEquivalentToMode(const Acl& acl) {
  for (const AclEntry& e : acl.entries) {
    if (e.tag == kAclUser || e.tag == kAclGroup || e.tag == kAclMask) return false;
  }
  return true;
}

void AclChmod(Acl* acl, uint32_t mode) {
  AclEntry* group_obj = nullptr;
  AclEntry* mask = nullptr;
  for (AclEntry& e : acl->entries) {
    switch (e.tag) {
      case kAclUserObj:
        e.perm = static_cast<uint16_t>((mode & S_IRWXU) >> 6);
        break;
      case kAclGroupObj:
        group_obj = &e;
        break;
      case kAclMask:
        mask = &e;
        break;
      case kAclOther:
        e.perm = static_cast<uint16_t>(mode & S_IRWXO);
        break;
      default:
        break;
    }
  }
  AclEntry* group = mask ? mask : group_obj;
  if (group) group->perm = static_cast<uint16_t>((mode & S_IRWXG) >> 3);
}

uint32_t AclCreateMasq(Acl* acl, uint32_t mode, bool* needed) {
  uint32_t bits = mode & 0777;
  AclEntry* group_obj = nullptr;
  AclEntry* mask = nullptr;
  bool not_equiv = false;
  for (AclEntry& e : acl->entries) {
    switch (e.tag) {
      case kAclUserObj:
        e.perm &= static_cast<uint16_t>((bits >> 6) & 7);
        bits &= (uint32_t{e.perm} << 6) | ~uint32_t{S_IRWXU};
        break;
      case kAclUser:
      case kAclGroup:
        not_equiv = true;
        break;
      case kAclGroupObj:
        group_obj = &e;
        break;
      case kAclOther:
        e.perm &= static_cast<uint16_t>(bits & 7);
        bits &= uint32_t{e.perm} | ~uint32_t{S_IRWXO};
        break;
      case kAclMask:
        mask = &e;
        not_equiv = true;
        break;
      default:
        break;
    }
  }
  AclEntry* group = mask ? mask : group_obj;
  if (group) {
    group->perm &= static_cast<uint16_t>((bits >> 3) & 7);
    bits &= (uint32_t{group->perm} << 3) | ~uint32_t{S_IRWXG};
  }
  *needed = not_equiv;
  return (mode & ~0777u) | bits;
}

}  // namespace hoodyfs::fusefs
