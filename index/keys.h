// Key encodings of every table (docs/format.md). Integers are fixed-width
// big-endian so byte order is numeric order. Versioned keys end with the
// inverted generation (~gen, big-endian): for one logical key, newer
// generations sort first, so one seek to (logical key, ~G) lands on G's own
// version or the newest older candidate. A NUL after a name keeps every
// version of that name together and apart from longer names.
#pragma once

#include <string>
#include <string_view>

#include "base/coding.h"
#include "base/types.h"
#include "index/schema.h"

namespace hoodyfs::index {

inline constexpr size_t kGenSuffixBytes = 8;

inline void AppendGen(std::string* key, GenId gen) { PutBig64(key, ~gen.value); }

// Splits a versioned key into its logical part and generation.
inline std::string_view LogicalPart(std::string_view key) {
  return key.substr(0, key.size() - kGenSuffixBytes);
}
inline GenId GenOfKey(std::string_view key) {
  return GenId(~GetBig64(key.data() + key.size() - kGenSuffixBytes));
}

inline std::string InodeLogical(Ino ino) {
  std::string k;
  PutBig64(&k, ino.value);
  return k;
}
inline std::string DirentLogical(Ino parent, std::string_view name) {
  std::string k;
  PutBig64(&k, parent.value);
  k.append(name);
  k.push_back('\0');
  return k;
}
inline std::string DirCookieLogical(Ino parent, uint64_t cookie) {
  std::string k;
  PutBig64(&k, parent.value);
  PutBig64(&k, cookie);
  return k;
}
inline std::string BackrefLogical(Ino ino, Ino parent, std::string_view name) {
  std::string k;
  PutBig64(&k, ino.value);
  PutBig64(&k, parent.value);
  k.append(name);
  k.push_back('\0');
  return k;
}
inline std::string XattrLogical(Ino ino, std::string_view name) {
  std::string k;
  PutBig64(&k, ino.value);
  k.append(name);
  k.push_back('\0');
  return k;
}
inline std::string ChunkLogical(Ino ino, uint64_t chunk) {
  std::string k;
  PutBig64(&k, ino.value);
  PutBig64(&k, chunk);
  return k;
}
// The common prefix of every logical key owned by one inode (or directory).
inline std::string InoPrefix(Ino ino) { return InodeLogical(ino); }

inline std::string VersionedKey(std::string_view logical, GenId gen) {
  std::string k(logical);
  AppendGen(&k, gen);
  return k;
}

inline std::string BlockKey(BlockNo block) {
  std::string k;
  PutBig64(&k, block.value);
  return k;
}
inline std::string FreeMapKey(uint64_t group) {
  std::string k;
  PutBig64(&k, group);
  return k;
}
inline std::string GenerationKey(GenId gen) {
  std::string k;
  PutBig64(&k, gen.value);
  return k;
}
inline std::string ChangeLogKey(GenId gen, Table table, std::string_view logical) {
  std::string k;
  PutBig64(&k, gen.value);
  k.push_back(static_cast<char>(table));
  k.append(logical);
  return k;
}
// kSnapshots: every snapshot of one container shares the prefix
// SnapshotPrefix(container).
inline std::string SnapshotPrefix(std::string_view container) {
  std::string k(container);
  k.push_back('\0');
  return k;
}
inline std::string SnapshotKey(std::string_view container, std::string_view name) {
  std::string k = SnapshotPrefix(container);
  k.append(name);
  return k;
}
// kAliases: (container, NUL, alias) -> snapshot name.
inline std::string AliasKey(std::string_view container, std::string_view alias) {
  return SnapshotKey(container, alias);
}
// kReservations: a container's reservations share ReservationPrefix(container),
// one file's ReservationInoPrefix(container, ino); a key names a chunk of the
// file (ReservationKey) and its value is a little-endian u64 bitmask of the
// chunk's blocks that fallocate reserved and nothing has written since.
inline std::string ReservationPrefix(std::string_view container) {
  return SnapshotPrefix(container);
}
inline std::string ReservationInoPrefix(std::string_view container, Ino ino) {
  std::string k = ReservationPrefix(container);
  PutBig64(&k, ino.value);
  return k;
}
inline std::string ReservationKey(std::string_view container, Ino ino, uint64_t chunk) {
  std::string k = ReservationInoPrefix(container, ino);
  PutBig64(&k, chunk);
  return k;
}
inline std::string ChangeLogPrefix(GenId gen) {
  std::string k;
  PutBig64(&k, gen.value);
  return k;
}

}  // namespace hoodyfs::index
