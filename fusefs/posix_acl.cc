#include "fusefs/posix_acl.h"

#include <sys/stat.h>

#include "base/coding.h"

namespace hoodyfs::fusefs {

namespace {
void PutLe16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}
uint16_t GetLe16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}

constexpr uint32_t kAclXattrVersion = 2;
constexpr size_t kHeaderBytes = 4;
constexpr size_t kEntryBytes = 8;
}  // namespace

Result<Acl> ParseAcl(std::string_view xattr) {
  if (xattr.size() < kHeaderBytes || (xattr.size() - kHeaderBytes) % kEntryBytes != 0) {
    return Status::InvalidArgument("ACL xattr of " + std::to_string(xattr.size()) + " bytes");
  }
  if (GetLe32(xattr.data()) != kAclXattrVersion) {
    return Status::InvalidArgument("ACL xattr version " + std::to_string(GetLe32(xattr.data())));
  }
  Acl acl;
  bool user_obj = false, group_obj = false, other = false, mask = false, named = false;
  for (size_t at = kHeaderBytes; at < xattr.size(); at += kEntryBytes) {
    AclEntry e;
    e.tag = GetLe16(xattr.data() + at);
    e.perm = GetLe16(xattr.data() + at + 2);
    e.id = GetLe32(xattr.data() + at + 4);
    if (e.perm & ~7u) return Status::InvalidArgument("ACL entry permission bits");
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
      case kAclUser:
      case kAclGroup:
        named = true;
        break;
      default:
        return Status::InvalidArgument("ACL entry tag " + std::to_string(e.tag));
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
  std::string out;
  PutLe32(&out, kAclXattrVersion);
  for (const AclEntry& e : acl.entries) {
    PutLe16(&out, e.tag);
    PutLe16(&out, e.perm);
    PutLe32(&out, e.id);
  }
  return out;
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
