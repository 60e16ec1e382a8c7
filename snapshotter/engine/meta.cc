#include "snapshotter/engine/meta.h"

#include "index/keys.h"

namespace hoodyfs::snapshotter {

using index::ChunkMap;
using index::ChunkRun;
using index::DirentValue;
using index::InodeRecord;
using index::KvScope;
using index::Table;
using index::WriteScope;

ChunkBlocks Expand(const ChunkMap& map) {
  ChunkBlocks out{};
  for (const ChunkRun& r : map.runs) {
    for (uint32_t i = 0; i < r.count && r.offset + i < index::kChunkBlocks; ++i) {
      out[r.offset + i] = BlockNo(r.block.value + i);
    }
  }
  return out;
}

ChunkMap Compress(const ChunkBlocks& blocks) {
  ChunkMap map;
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    if (!blocks[i].valid()) continue;
    if (!map.runs.empty()) {
      ChunkRun& last = map.runs.back();
      if (last.offset + last.count == i && last.block.value + last.count == blocks[i].value) {
        ++last.count;
        continue;
      }
    }
    map.runs.push_back(ChunkRun{static_cast<uint8_t>(i), 1, blocks[i]});
  }
  return map;
}

Meta::Meta(const index::GenerationTree& tree, index::BlockAllocator& allocator)
    : allocator_(allocator),
      inodes_(Table::kInodes, tree),
      dirents_(Table::kDirents, tree),
      cookies_(Table::kDirCookies, tree),
      backrefs_(Table::kBackrefs, tree),
      xattrs_(Table::kXattrs, tree),
      chunks_(Table::kChunks, tree) {}

Result<std::optional<InodeRecord>> Meta::GetInode(const KvScope& s, GenId g, Ino ino) {
  HOODY_ASSIGN_OR_RETURN(auto v, inodes_.Get(s, index::InodeLogical(ino), g));
  if (!v) return std::optional<InodeRecord>();
  HOODY_ASSIGN_OR_RETURN(InodeRecord rec, InodeRecord::Decode(v->data));
  return std::optional<InodeRecord>(std::move(rec));
}

Result<InodeRecord> Meta::MustGetInode(const KvScope& s, GenId g, Ino ino) {
  HOODY_ASSIGN_OR_RETURN(std::optional<InodeRecord> rec, GetInode(s, g, ino));
  if (!rec) return Status::NotFound("inode " + std::to_string(ino.value));
  return std::move(*rec);
}

Status Meta::PutInode(WriteScope& s, GenId g, Ino ino, const InodeRecord& rec) {
  return inodes_.Put(s, index::InodeLogical(ino), g, rec.Encode());
}

Status Meta::EraseInode(WriteScope& s, GenId g, Ino ino) {
  return inodes_.Erase(s, index::InodeLogical(ino), g);
}

Result<std::optional<DirentValue>> Meta::GetDirent(const KvScope& s, GenId g, Ino parent,
                                                   std::string_view name) {
  HOODY_ASSIGN_OR_RETURN(auto v, dirents_.Get(s, index::DirentLogical(parent, name), g));
  if (!v) return std::optional<DirentValue>();
  HOODY_ASSIGN_OR_RETURN(DirentValue d, DirentValue::Decode(v->data));
  return std::optional<DirentValue>(d);
}

Status Meta::PutEntry(WriteScope& s, GenId g, Ino parent, std::string_view name,
                      const DirentValue& value) {
  HOODY_RETURN_IF_ERROR(dirents_.Put(s, index::DirentLogical(parent, name), g, value.Encode()));
  index::DirCookieValue cookie{value.ino, value.type, std::string(name)};
  HOODY_RETURN_IF_ERROR(
      cookies_.Put(s, index::DirCookieLogical(parent, value.cookie), g, cookie.Encode()));
  return backrefs_.Put(s, index::BackrefLogical(value.ino, parent, name), g, "");
}

Status Meta::EraseEntry(WriteScope& s, GenId g, Ino parent, std::string_view name,
                        const DirentValue& value) {
  HOODY_RETURN_IF_ERROR(dirents_.Erase(s, index::DirentLogical(parent, name), g));
  HOODY_RETURN_IF_ERROR(cookies_.Erase(s, index::DirCookieLogical(parent, value.cookie), g));
  return backrefs_.Erase(s, index::BackrefLogical(value.ino, parent, name), g);
}

Result<std::optional<std::pair<Ino, std::string>>> Meta::AnyBackref(const KvScope& s, GenId g,
                                                                    Ino ino) {
  std::optional<std::pair<Ino, std::string>> found;
  const std::string prefix = index::InoPrefix(ino);
  HOODY_RETURN_IF_ERROR(backrefs_.ForEach(
      s, prefix, "", g,
      [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
        // logical = ino(8) parent(8) name NUL
        if (logical.size() < 17) return Status::Corruption("short backref key");
        const Ino parent(GetBig64(logical.data() + 8));
        found.emplace(parent, std::string(logical.substr(16, logical.size() - 17)));
        return false;
      }));
  return found;
}

Result<bool> Meta::HasEntries(const KvScope& s, GenId g, Ino dir) {
  bool any = false;
  HOODY_RETURN_IF_ERROR(
      dirents_.ForEach(s, index::InoPrefix(dir), "", g,
                       [&](std::string_view, const index::VisibleVersion&) -> Result<bool> {
                         any = true;
                         return false;
                       }));
  return any;
}

Result<VisibleChunk> Meta::GetChunk(const KvScope& s, GenId g, Ino ino, uint64_t chunk) {
  HOODY_ASSIGN_OR_RETURN(auto v, chunks_.Get(s, index::ChunkLogical(ino, chunk), g));
  VisibleChunk out;
  if (!v) return out;
  HOODY_ASSIGN_OR_RETURN(ChunkMap map, ChunkMap::Decode(v->data));
  out.blocks = Expand(map);
  out.owner = v->gen;
  return out;
}

Result<int64_t> Meta::PutChunk(WriteScope& s, GenId g, Ino ino, uint64_t chunk,
                               const VisibleChunk& old, const ChunkBlocks& blocks,
                               FreshSlots fresh) {
  int64_t delta = 0;
  bool empty = true;
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    delta += (blocks[i].valid() ? 1 : 0) - (old.blocks[i].valid() ? 1 : 0);
    if (blocks[i].valid()) empty = false;
  }
  // A version this generation owns is replaced: its references go with it,
  // so a slot that keeps its block nets to zero and is skipped (a 4 KiB
  // overwrite touches one block record, not the chunk's 64). A version
  // inherited from an ancestor stays referenced by that ancestor, so the new
  // version references every block it holds.
  const bool replaces_own = old.owner == g;
  auto changed = [&](uint32_t i) { return !replaces_own || blocks[i] != old.blocks[i]; };
  // References first, releases second: a block that only moves to another
  // slot never touches zero on the way.
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    if (fresh.Holds(i)) {
      // Reserved moments ago, so no version (old or other) can hold it yet:
      // its record is written once, with this chunk's reference, instead of
      // a refcount-0 record that a Ref rewrites (half a receive's puts).
      HOODY_ASSERT(blocks[i].valid() && blocks[i] != old.blocks[i],
                   "a fresh slot without a fresh block");
      s.Put(Table::kBlocks, index::BlockKey(blocks[i]),
            index::BlockRecord{fresh.sums[i - fresh.first_slot], 1}.Encode());
    } else if (blocks[i].valid() && changed(i)) {
      HOODY_RETURN_IF_ERROR(Ref(s, blocks[i]));
    }
  }
  if (replaces_own) {
    for (uint32_t i = 0; i < old.blocks.size(); ++i) {
      if (old.blocks[i].valid() && changed(i)) HOODY_RETURN_IF_ERROR(Unref(s, old.blocks[i]));
    }
  }
  const std::string logical = index::ChunkLogical(ino, chunk);
  if (empty) {
    if (old.owner.valid()) HOODY_RETURN_IF_ERROR(chunks_.Erase(s, logical, g));
  } else {
    HOODY_RETURN_IF_ERROR(chunks_.Put(s, logical, g, Compress(blocks).Encode()));
  }
  return delta;
}

Result<index::BlockRecord> Meta::GetBlock(const KvScope& s, BlockNo block) {
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kBlocks, index::BlockKey(block)));
  if (!v) {
    return Status::Corruption("block " + std::to_string(block.value) +
                              " is referenced but has no block record");
  }
  return index::BlockRecord::Decode(*v);
}

Status Meta::Ref(WriteScope& s, BlockNo block) {
  HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, GetBlock(s, block));
  ++rec.refcount;
  s.Put(Table::kBlocks, index::BlockKey(block), rec.Encode());
  return Status::OK();
}

Status Meta::Unref(WriteScope& s, BlockNo block, uint64_t* freed) {
  HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, GetBlock(s, block));
  HOODY_ASSERT(rec.refcount > 0, "unreferencing a block with refcount 0");
  if (--rec.refcount > 0) {
    s.Put(Table::kBlocks, index::BlockKey(block), rec.Encode());
    return Status::OK();
  }
  s.Delete(Table::kBlocks, index::BlockKey(block));
  if (freed != nullptr) ++*freed;
  // The allocator is not rolled back with the memtable: free only once the
  // operation is known to succeed.
  s.OnCommit([this, block](WriteScope& ws) { allocator_.Free(ws, block); });
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
