// The tables of the metadata store and the constants of the on-disk format.
// docs/format.md documents every table's key and value layout; change both
// together, and bump kFormatVersion when an existing store could misread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hoodyfs::index {

inline constexpr uint64_t kFormatVersion = 2;

enum class Table : uint8_t {
  kMeta,          // store-wide counters and settings: name -> value
  kContainers,    // container name -> ContainerRecord
  kGenerations,   // gen id -> GenerationRecord
  kInodes,        // (ino, ~gen) -> InodeRecord | whiteout             [versioned]
  kDirents,       // (parent, name, 0, ~gen) -> DirentValue | whiteout [versioned]
  kDirCookies,    // (parent, cookie, ~gen) -> (ino, type, name) | whiteout [versioned]
  kBackrefs,      // (ino, parent, name, 0, ~gen) -> "" | whiteout   [versioned]
  kXattrs,        // (ino, name, 0, ~gen) -> value | whiteout         [versioned]
  kChunks,        // (ino, chunk index, ~gen) -> ChunkMap | whiteout   [versioned]
  kBlocks,        // physical block -> (xxh3 checksum, refcount)
  kFreeMap,       // bitmap group -> bitmap of used blocks
  kChangeLog,     // (gen, table, unversioned key) -> ""
  kSnapshots,     // (container, NUL, snapshot name) -> SnapshotRecord
  kGenStats,      // gen id -> GenerationStats (accounting cache of a frozen generation)
  kAliases,       // (container, NUL, alias) -> snapshot name: the alias index
  kReservations,  // (container, NUL, ino, chunk) -> bitmask of reserved, unwritten blocks
  kCount,
};

inline constexpr size_t kTableCount = static_cast<size_t>(Table::kCount);

inline constexpr std::array<const char*, kTableCount> kTableNames = {
    "meta",      "containers", "generations", "inodes",       "dirents", "dircookies",
    "backrefs",  "xattrs",     "chunks",      "blocks",       "freemap", "changelog",
    "snapshots", "genstats",   "aliases",     "reservations",
};

inline constexpr size_t TableIndex(Table t) { return static_cast<size_t>(t); }

// True for the tables whose keys end with an 8-byte inverted generation.
inline constexpr bool IsVersioned(Table t) {
  return t == Table::kInodes || t == Table::kDirents || t == Table::kDirCookies ||
         t == Table::kBackrefs || t == Table::kXattrs || t == Table::kChunks;
}

// Blocks per file-map chunk record: a chunk maps 64 x 4 KiB = 256 KiB of a
// file, so a fully fragmented chunk record stays under LMDB's overflow-page
// threshold (see docs/design.md, "extents overlap").
inline constexpr uint32_t kChunkBlocks = 64;
// Blocks per free-map bitmap record (512-byte bitmap, 16 MiB of data file).
inline constexpr uint32_t kFreeMapGroupBlocks = 4096;
// Files up to this size live inline in their inode record.
inline constexpr uint32_t kInlineMaxBytes = 1536;

}  // namespace hoodyfs::index
