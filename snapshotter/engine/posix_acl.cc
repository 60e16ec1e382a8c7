#include "snapshotter/engine/posix_acl.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

namespace hoodyfs::snapshotter {
namespace {
constexpr uint32_t kAclVersion = 2;
constexpr uint32_t kUndefinedId = 0xffffffffu;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetLe(std::string_view in, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return v;
}
}  // namespace

std::string EncodePosixAcl(std::vector<AclEntry> entries) {
  for (AclEntry& e : entries) {
    if (e.tag != AclTag::kUser && e.tag != AclTag::kGroup) e.id = kUndefinedId;
  }
  std::sort(entries.begin(), entries.end(), [](const AclEntry& a, const AclEntry& b) {
    return a.tag != b.tag ? a.tag < b.tag : a.id < b.id;
  });
  std::string out;
  out.reserve(4 + 8 * entries.size());
  PutLe(&out, kAclVersion, 4);
  for (const AclEntry& e : entries) {
    PutLe(&out, static_cast<uint16_t>(e.tag), 2);
    PutLe(&out, e.perm & 7u, 2);
    PutLe(&out, e.id, 4);
  }
  return out;
}

Result<std::vector<AclEntry>> DecodePosixAcl(std::string_view value) {
  if (value.size() < 4 || (value.size() - 4) % 8 != 0 || GetLe(value, 0, 4) != kAclVersion) {
    return Status::Corruption("not a version 2 POSIX ACL xattr value (" +
                              std::to_string(value.size()) + " bytes)");
  }
  std::vector<AclEntry> out;
  for (size_t at = 4; at < value.size(); at += 8) {
    AclEntry e;
    const uint32_t tag = GetLe(value, at, 2);
    switch (tag) {
      case 0x01:
      case 0x02:
      case 0x04:
      case 0x08:
      case 0x10:
      case 0x20:
        e.tag = static_cast<AclTag>(tag);
        break;
      default:
        return Status::Corruption("POSIX ACL entry with unknown tag " + std::to_string(tag));
    }
    const uint32_t perm = GetLe(value, at + 2, 2);
    if ((perm & ~7u) != 0) {
      return Status::Corruption("POSIX ACL entry with permission bits " + std::to_string(perm));
    }
    e.perm = static_cast<uint16_t>(perm);
    e.id = GetLe(value, at + 4, 4);
    out.push_back(e);
  }
  return out;
}

Result<Acl> ParseAcl(std::string_view xattr) {
  auto decoded = DecodePosixAcl(xattr);
  if (!decoded.ok()) return Status::InvalidArgument(decoded.status().message());
  Acl acl;
  bool user_obj = false, group_obj = false, other = false, mask = false, named = false;
  for (AclEntry e : *decoded) {
    switch (e.tag) {
      case AclTag::kUserObj:
        user_obj = true;
        break;
      case AclTag::kGroupObj:
        group_obj = true;
        break;
      case AclTag::kOther:
        other = true;
        break;
      case AclTag::kMask:
        mask = true;
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
        named = true;
        break;
    }
    // Only named entries carry an id (the others hold ACL_UNDEFINED_ID).
    if (e.tag != AclTag::kUser && e.tag != AclTag::kGroup) e.id = 0;
    acl.entries.push_back(e);
  }
  if (!user_obj || !group_obj || !other) {
    return Status::InvalidArgument("ACL without owner, group or other entry");
  }
  if (named && !mask) return Status::InvalidArgument("ACL with named entries and no mask");
  return acl;
}

uint32_t AclModeBits(const Acl& acl) {
  uint32_t mode = 0;
  bool have_mask = false;
  for (const AclEntry& e : acl.entries) {
    switch (e.tag) {
      case AclTag::kUserObj:
        mode |= uint32_t{e.perm} << 6;
        break;
      case AclTag::kGroupObj:
        if (!have_mask) mode = (mode & ~uint32_t{S_IRWXG}) | (uint32_t{e.perm} << 3);
        break;
      case AclTag::kMask:
        have_mask = true;
        mode = (mode & ~uint32_t{S_IRWXG}) | (uint32_t{e.perm} << 3);
        break;
      case AclTag::kOther:
        mode |= e.perm;
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
        break;
    }
  }
  return mode;
}

bool AclEquivalentToMode(const Acl& acl) {
  for (const AclEntry& e : acl.entries) {
    if (e.tag == AclTag::kUser || e.tag == AclTag::kGroup || e.tag == AclTag::kMask) return false;
  }
  return true;
}

void AclChmod(Acl* acl, uint32_t mode) {
  AclEntry* group_obj = nullptr;
  AclEntry* mask = nullptr;
  for (AclEntry& e : acl->entries) {
    switch (e.tag) {
      case AclTag::kUserObj:
        e.perm = static_cast<uint16_t>((mode & S_IRWXU) >> 6);
        break;
      case AclTag::kGroupObj:
        group_obj = &e;
        break;
      case AclTag::kMask:
        mask = &e;
        break;
      case AclTag::kOther:
        e.perm = static_cast<uint16_t>(mode & S_IRWXO);
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
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
      case AclTag::kUserObj:
        e.perm &= static_cast<uint16_t>((bits >> 6) & 7);
        bits &= (uint32_t{e.perm} << 6) | ~uint32_t{S_IRWXU};
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
        not_equiv = true;
        break;
      case AclTag::kGroupObj:
        group_obj = &e;
        break;
      case AclTag::kOther:
        e.perm &= static_cast<uint16_t>(bits & 7);
        bits &= uint32_t{e.perm} | ~uint32_t{S_IRWXO};
        break;
      case AclTag::kMask:
        mask = &e;
        not_equiv = true;
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

NewNodeAcl InheritAcl(const std::optional<Acl>& parent_default, uint32_t mode, uint32_t umask) {
  NewNodeAcl out;
  if (!parent_default) {
    out.mode = mode & ~(umask & 0777);
    return out;
  }
  if (S_ISDIR(mode)) out.default_acl = EncodeAcl(*parent_default);
  Acl inherited = *parent_default;
  bool needed = false;
  out.mode = AclCreateMasq(&inherited, mode, &needed);
  if (needed) out.access = EncodeAcl(inherited);
  return out;
}

}  // namespace hoodyfs::snapshotter
