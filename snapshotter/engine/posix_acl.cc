#include "snapshotter/engine/posix_acl.h"

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

}  // namespace hoodyfs::snapshotter
