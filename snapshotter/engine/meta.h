// Meta: typed access to the versioned metadata of one generation: inodes,
// directory entries (with their readdir cookies and back-references), file
// chunk maps, xattrs, and the refcounted block records. Internal to
// snapshotter/engine/; FileSystem and Fsck build on it.
//
// Thread-safety: stateless beyond references; callers hold the scope.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/types.h"
#include "index/block_allocator.h"
#include "index/generation_tree.h"
#include "index/kv_store.h"
#include "index/records.h"
#include "index/schema.h"
#include "index/versioned.h"

namespace hoodyfs::snapshotter {

// A chunk map expanded to one physical block per logical block (0: hole).
using ChunkBlocks = std::array<BlockNo, index::kChunkBlocks>;
ChunkBlocks Expand(const index::ChunkMap& map);
index::ChunkMap Compress(const ChunkBlocks& blocks);

struct VisibleChunk {
  ChunkBlocks blocks{};
  GenId owner;  // generation that wrote the visible version; invalid: none
};

// Blocks written moments ago that no record names yet: slots
// [first_slot, first_slot + sums.size()) of a chunk, with their checksums.
struct FreshSlots {
  uint32_t first_slot = 0;
  std::span<const uint64_t> sums;
  bool Holds(uint32_t slot) const { return slot >= first_slot && slot - first_slot < sums.size(); }
};

class Meta {
 public:
  Meta(const index::GenerationTree& tree, index::BlockAllocator& allocator);

  Result<std::optional<index::InodeRecord>> GetInode(const index::KvScope& s, GenId g, Ino ino);
  // Like GetInode, but absence is kNotFound naming the inode.
  Result<index::InodeRecord> MustGetInode(const index::KvScope& s, GenId g, Ino ino);
  Status PutInode(index::WriteScope& s, GenId g, Ino ino, const index::InodeRecord& rec);
  Status EraseInode(index::WriteScope& s, GenId g, Ino ino);

  Result<std::optional<index::DirentValue>> GetDirent(const index::KvScope& s, GenId g, Ino parent,
                                                      std::string_view name);
  // Adds or replaces the entry `name` in `parent`: dirent, cookie and backref.
  Status PutEntry(index::WriteScope& s, GenId g, Ino parent, std::string_view name,
                  const index::DirentValue& value);
  // Removes the entry (its dirent, cookie and backref).
  Status EraseEntry(index::WriteScope& s, GenId g, Ino parent, std::string_view name,
                    const index::DirentValue& value);
  // The (parent, name) of one link to `ino` (directories have exactly one).
  Result<std::optional<std::pair<Ino, std::string>>> AnyBackref(const index::KvScope& s, GenId g,
                                                                Ino ino);
  // True when the directory has any entry.
  Result<bool> HasEntries(const index::KvScope& s, GenId g, Ino dir);

  Result<VisibleChunk> GetChunk(const index::KvScope& s, GenId g, Ino ino, uint64_t chunk);
  // Replaces the visible chunk with `blocks`, moving refcounts: every block
  // of a new version gains a reference; blocks of a replaced own version lose
  // one (freed at zero). A fresh slot's block gets its record here, already
  // holding its one reference. Returns the change in mapped blocks.
  Result<int64_t> PutChunk(index::WriteScope& s, GenId g, Ino ino, uint64_t chunk,
                           const VisibleChunk& old, const ChunkBlocks& blocks,
                           FreshSlots fresh = {});
  Result<index::BlockRecord> GetBlock(const index::KvScope& s, BlockNo block);
  Status Ref(index::WriteScope& s, BlockNo block);
  // Drops one reference; at zero the block record goes and the block is freed
  // when the scope commits (counted in *freed when given).
  Status Unref(index::WriteScope& s, BlockNo block, uint64_t* freed = nullptr);

  index::VersionedTable& inodes() { return inodes_; }
  index::VersionedTable& dirents() { return dirents_; }
  index::VersionedTable& cookies() { return cookies_; }
  index::VersionedTable& backrefs() { return backrefs_; }
  index::VersionedTable& xattrs() { return xattrs_; }
  index::VersionedTable& chunks() { return chunks_; }

 private:
  index::BlockAllocator& allocator_;
  index::VersionedTable inodes_, dirents_, cookies_, backrefs_, xattrs_, chunks_;
};

}  // namespace hoodyfs::snapshotter
