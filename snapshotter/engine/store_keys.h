// The Store's own values in the meta table (docs/format.md, "meta"): the
// format version and the next inode number and generation id, each a
// little-endian u64. Internal to the Store's implementation files: Init and
// Load (store.cc) and the id allocation (store_ids.cc) share them.
#pragma once

#include <cstdint>
#include <string>

#include "base/coding.h"

namespace hoodyfs::snapshotter::store_keys {

inline constexpr char kKeyFormat[] = "format";
inline constexpr char kKeyNextIno[] = "next_ino";
inline constexpr char kKeyNextGen[] = "next_gen";

inline std::string U64(uint64_t v) {
  std::string s;
  PutLe64(&s, v);
  return s;
}

}  // namespace hoodyfs::snapshotter::store_keys
