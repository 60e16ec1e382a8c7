// Strong integer types for the identifiers that cross module boundaries, so a
// block number cannot be passed where an inode number is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace hoodyfs {

template <class Tag>
struct StrongId {
  uint64_t value = 0;
  constexpr StrongId() = default;
  constexpr explicit StrongId(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr bool valid() const { return value != 0; }
};

struct InoTag {};
struct GenTag {};
struct BlockTag {};

// Inode number. Store-wide, never reused. Every container root is kRootIno.
using Ino = StrongId<InoTag>;
// Generation id: allocated increasing from 1, so an ancestor's id is always
// smaller than its descendants'. 0 means "none".
using GenId = StrongId<GenTag>;
// Physical 4 KiB block number in the store's data file.
using BlockNo = StrongId<BlockTag>;

inline constexpr Ino kRootIno{1};
inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint32_t kBlockShift = 12;

}  // namespace hoodyfs

template <class Tag>
struct std::hash<hoodyfs::StrongId<Tag>> {
  size_t operator()(const hoodyfs::StrongId<Tag>& id) const noexcept {
    return std::hash<uint64_t>()(id.value);
  }
};
