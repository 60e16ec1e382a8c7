// Record values of the metadata tables and their encodings (docs/format.md).
// Values are little-endian, each record starting with a format byte so a
// later version can extend it; decoders reject truncated input as
// kCorruption rather than guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/types.h"

namespace hoodyfs::index {

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  auto operator<=>(const Timespec&) const = default;
};

struct InodeRecord {
  uint32_t mode = 0;  // type and permission bits, as st_mode
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t rdev = 0;
  uint64_t blocks = 0;  // 4 KiB data blocks mapped by this version's chunks
  Timespec atime, mtime, ctime;
  // Birth time: when the inode was made (statx's stx_btime). Unset in
  // records written before format 2, which report no birth time; a record
  // without it is still written in format 1, so it stays readable by older
  // builds until the inode is made anew.
  std::optional<Timespec> btime;
  uint64_t next_cookie = 3;  // directories: next readdir cookie (1, 2 are . and ..)
  bool has_inline = false;   // regular files: data is `inline_data`, no chunks
  std::string inline_data;   // symlinks: the target; small files: the bytes

  std::string Encode() const;
  static Result<InodeRecord> Decode(std::string_view v);
};

struct DirentValue {
  Ino ino;
  uint8_t type = 0;  // DT_* of the target
  uint64_t cookie = 0;

  std::string Encode() const;
  static Result<DirentValue> Decode(std::string_view v);
};

struct DirCookieValue {
  Ino ino;
  uint8_t type = 0;
  std::string name;

  std::string Encode() const;
  static Result<DirCookieValue> Decode(std::string_view v);
};

// One contiguous run of a file-map chunk: `count` logical blocks starting at
// `offset` blocks into the chunk map to physical blocks [block, block+count).
struct ChunkRun {
  uint8_t offset = 0;
  uint8_t count = 0;
  BlockNo block;
  auto operator<=>(const ChunkRun&) const = default;
};

// The mapping of one kChunkBlocks-block chunk of a file: sorted,
// non-overlapping runs; blocks not covered are holes (read as zeros).
struct ChunkMap {
  std::vector<ChunkRun> runs;

  std::string Encode() const;
  static Result<ChunkMap> Decode(std::string_view v);
};

struct BlockRecord {
  uint64_t checksum = 0;
  uint32_t refcount = 0;

  std::string Encode() const;
  static Result<BlockRecord> Decode(std::string_view v);
};

// kHead: a container's live head. kFrozen: immutable (a snapshot, or an
// ancestor that other generations still read through). kDropped: no longer
// wanted (its snapshot was deleted, or it is a head that a restore or a
// container delete discarded); garbage collection reclaims it once it has no
// pins and at most one child.
enum class GenState : uint8_t { kHead = 1, kFrozen = 2, kDropped = 3 };

struct GenerationRecord {
  GenId parent;  // 0 for a container's first generation
  GenState state = GenState::kHead;
  std::string container;  // the container it was created in
  int64_t created_ns = 0;

  std::string Encode() const;
  static Result<GenerationRecord> Decode(std::string_view v);
};

struct ContainerRecord {
  GenId head;
  int64_t created_ns = 0;
  std::string origin;   // "container@snapshot" it was copied from; "" when none
  std::string project;  // project id recorded when copied (REST target_project_id)

  std::string Encode() const;
  static Result<ContainerRecord> Decode(std::string_view v);
};

// A named snapshot of a container: the frozen generation it names and the
// user-facing attributes. Keyed by (container, NUL, name) in kSnapshots.
struct SnapshotRecord {
  GenId gen;
  std::string alias;       // "" when none
  int64_t created_ns = 0;  // CLOCK_REALTIME
  int64_t expires_ns = 0;  // 0: never expires
  // The snapshot's identity across stores: 32 hex digits, random, given at
  // creation and kept by send/receive (as ZFS keeps a snapshot's guid), so
  // an incremental stream finds its base on the receiving store whatever
  // its name there. "" in records written before format 2 (send gives one).
  std::string guid;

  std::string Encode() const;
  static Result<SnapshotRecord> Decode(std::string_view v);
};

// Accounting of one frozen generation, computed on demand and cached (a
// frozen generation's contents never change; a merge into it by garbage
// collection drops the cache). See snapshotter/verbs/accounting.h.
struct GenerationStats {
  uint64_t referenced_bytes = 0;  // data visible from the generation
  uint64_t written_bytes = 0;     // data the generation wrote itself

  std::string Encode() const;
  static Result<GenerationStats> Decode(std::string_view v);
};

// Versioned values: a whiteout (the key was deleted in this generation) or a
// live payload.
inline constexpr char kWhiteoutTag = 0;
inline constexpr char kLiveTag = 1;
inline std::string LiveValue(std::string_view payload) {
  std::string v(1, kLiveTag);
  v.append(payload);
  return v;
}
inline std::string WhiteoutValue() { return std::string(1, kWhiteoutTag); }

}  // namespace hoodyfs::index
