#include "snapshotter/engine/fsck.h"

#include <sys/stat.h>

#include <bit>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "base/coding.h"
#include "index/keys.h"
#include "snapshotter/engine/fs_internal.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

using index::KvScope;
using index::ReadScope;
using index::Table;

namespace {
Status Broken(const std::string& what) { return Status::Corruption("fsck: " + what); }

constexpr Table kVersionedTables[] = {Table::kInodes,   Table::kDirents, Table::kDirCookies,
                                      Table::kBackrefs, Table::kXattrs,  Table::kChunks};
}  // namespace

Status Store::CheckInvariants() { return Fsck(*this).Run(); }
Status Store::CheckFullyCollected() { return Fsck(*this).CheckCollected(); }

EngineInternals Fsck::internals() const { return EngineInternals(store_); }

Status Fsck::CheckCollected() {
  ReadScope s(internals().kv());
  Meta meta(internals().tree(), internals().allocator());
  std::vector<GenId> live;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator gt, s.NewIterator(Table::kGenerations));
  for (gt.Seek(""); gt.Valid(); gt.Next()) {
    HOODY_ASSIGN_OR_RETURN(index::GenerationRecord rec,
                           index::GenerationRecord::Decode(gt.value()));
    const GenId g(GetBig64(gt.key().data()));
    if (rec.state != index::GenState::kDropped || store_.PinnedBy(g)) {
      live.push_back(g);
    } else if (internals().tree().Children(g).size() < 2) {
      return Broken("dropped generation " + std::to_string(g.value) + " with " +
                    std::to_string(internals().tree().Children(g).size()) +
                    " children was not collected");
    }
  }
  HOODY_RETURN_IF_ERROR(gt.status());
  // (logical key, owner) of every chunk version some live generation sees.
  std::set<std::string> seen;
  for (GenId g : live) {
    HOODY_RETURN_IF_ERROR(meta.chunks().ForEach(
        s, "", "", g,
        [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
          seen.insert(index::VersionedKey(logical, v.gen));
          return true;
        }));
  }
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kChunks));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view v = it.value();
    if (v.empty() || v[0] == index::kWhiteoutTag) continue;
    if (seen.count(std::string(it.key())) == 0) {
      return Broken("chunk version of generation " +
                    std::to_string(index::GenOfKey(it.key()).value) +
                    " holds blocks that no live generation sees");
    }
  }
  return it.status();
}

Status Fsck::Run() {
  HOODY_RETURN_IF_ERROR(CheckRecordsAndChangeLog());
  HOODY_RETURN_IF_ERROR(CheckBlocks());
  HOODY_RETURN_IF_ERROR(CheckCatalog());
  HOODY_RETURN_IF_ERROR(CheckReservations());
  std::vector<GenId> gens;
  {
    ReadScope s(internals().kv());
    // A dropped generation is no view anyone reads (garbage collection may
    // have merged or pruned part of it): check the live ones.
    for (uint64_t g = 1; g < internals().next_gen(); ++g) {
      if (!internals().tree().Contains(GenId(g))) continue;
      HOODY_ASSIGN_OR_RETURN(index::GenerationRecord rec, internals().GetGeneration(s, GenId(g)));
      if (rec.state != index::GenState::kDropped) gens.push_back(GenId(g));
    }
  }
  for (GenId g : gens) HOODY_RETURN_IF_ERROR(CheckGeneration(g));
  return Status::OK();
}

Status Fsck::CheckRecordsAndChangeLog() {
  ReadScope s(internals().kv());
  std::set<std::string> expected_log;
  for (Table t : kVersionedTables) {
    HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(t));
    for (it.Seek(""); it.Valid(); it.Next()) {
      if (it.key().size() <= index::kGenSuffixBytes) return Broken("short versioned key");
      const GenId g = index::GenOfKey(it.key());
      if (!internals().tree().Contains(g)) {
        return Broken("record of unknown generation " + std::to_string(g.value) + " in table " +
                      index::kTableNames[index::TableIndex(t)]);
      }
      expected_log.insert(index::ChangeLogKey(g, t, index::LogicalPart(it.key())));
    }
    HOODY_RETURN_IF_ERROR(it.status());
  }
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kChangeLog));
  size_t seen = 0;
  for (it.Seek(""); it.Valid(); it.Next()) {
    if (expected_log.count(std::string(it.key())) == 0) {
      return Broken("change-log entry without a record");
    }
    ++seen;
  }
  HOODY_RETURN_IF_ERROR(it.status());
  if (seen != expected_log.size()) return Broken("record missing from the change log");
  return Status::OK();
}

Status Fsck::CheckCatalog() {
  ReadScope s(internals().kv());
  size_t aliased = 0;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view key = it.key();
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return Broken("snapshot key without a container");
    HOODY_ASSIGN_OR_RETURN(index::SnapshotRecord rec, index::SnapshotRecord::Decode(it.value()));
    const std::string who = "snapshot " + std::string(key.substr(nul + 1));
    if (!internals().tree().Contains(rec.gen)) return Broken(who + " names a missing generation");
    HOODY_ASSIGN_OR_RETURN(index::GenerationRecord gen, internals().GetGeneration(s, rec.gen));
    if (gen.state != index::GenState::kFrozen)
      return Broken(who + " names a generation not frozen");
    if (rec.alias.empty()) continue;
    ++aliased;
    HOODY_ASSIGN_OR_RETURN(auto owner,
                           s.Get(Table::kAliases, index::AliasKey(key.substr(0, nul), rec.alias)));
    if (!owner || *owner != key.substr(nul + 1)) {
      return Broken(who + "'s alias '" + rec.alias + "' is missing from the alias index");
    }
  }
  HOODY_RETURN_IF_ERROR(it.status());
  size_t indexed = 0;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator at, s.NewIterator(Table::kAliases));
  for (at.Seek(""); at.Valid(); at.Next()) ++indexed;
  HOODY_RETURN_IF_ERROR(at.status());
  if (indexed != aliased) {
    return Broken(std::to_string(indexed) + " alias index entries for " + std::to_string(aliased) +
                  " aliased snapshots");
  }
  return Status::OK();
}

Status Fsck::CheckReservations() {
  ReadScope s(internals().kv());
  Meta meta(internals().tree(), internals().allocator());
  uint64_t total = 0;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kReservations));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view key = it.key();
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() != nul + 17) {
      return Broken("malformed reservation key");
    }
    const std::string container(key.substr(0, nul));
    const Ino ino(GetBig64(key.data() + nul + 1));
    const uint64_t chunk = GetBig64(key.data() + nul + 9);
    const std::string who =
        "reservation of inode " + std::to_string(ino.value) + " in '" + container + "'";
    if (it.value().size() != 8) return Broken(who + " is not 8 bytes");
    const uint64_t mask = GetLe64(it.value().data());
    if (mask == 0) return Broken(who + " reserves nothing");
    Result<GenId> head = internals().CurrentHead(container);
    if (!head.ok()) return Broken(who + " names no container");
    HOODY_ASSIGN_OR_RETURN(auto rec, meta.GetInode(s, *head, ino));
    if (!rec || !S_ISREG(rec->mode)) return Broken(who + " names no regular file of the head");
    HOODY_ASSIGN_OR_RETURN(VisibleChunk mapped, meta.GetChunk(s, *head, ino, chunk));
    for (uint32_t i = 0; i < index::kChunkBlocks; ++i) {
      if ((mask >> i & 1) != 0 && mapped.blocks[i].valid()) {
        return Broken(who + " reserves block " + std::to_string(chunk * index::kChunkBlocks + i) +
                      ", which the file maps");
      }
    }
    total += static_cast<uint64_t>(std::popcount(mask));
  }
  HOODY_RETURN_IF_ERROR(it.status());
  if (total != internals().reserved_blocks()) {
    return Broken(std::to_string(total) + " reserved blocks recorded, the store counts " +
                  std::to_string(internals().reserved_blocks()));
  }
  return Status::OK();
}

Status Fsck::CheckBlocks() {
  ReadScope s(internals().kv());
  std::map<uint64_t, uint32_t> refs;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kChunks));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view v = it.value();
    if (v.empty() || v[0] == index::kWhiteoutTag) continue;
    HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(v.substr(1)));
    for (BlockNo b : Expand(map)) {
      if (b.valid()) ++refs[b.value];
    }
  }
  HOODY_RETURN_IF_ERROR(it.status());
  HOODY_ASSIGN_OR_RETURN(index::KvIterator bt, s.NewIterator(Table::kBlocks));
  uint64_t records = 0;
  for (bt.Seek(""); bt.Valid(); bt.Next()) {
    const uint64_t b = GetBig64(bt.key().data());
    HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(bt.value()));
    auto r = refs.find(b);
    const uint32_t counted = r == refs.end() ? 0 : r->second;
    if (rec.refcount != counted) {
      return Broken("block " + std::to_string(b) + " has refcount " + std::to_string(rec.refcount) +
                    " but " + std::to_string(counted) + " references");
    }
    if (!internals().allocator().IsUsed(BlockNo(b))) {
      return Broken("block " + std::to_string(b) + " is referenced but free in the free map");
    }
    ++records;
    if (r != refs.end()) refs.erase(r);
  }
  HOODY_RETURN_IF_ERROR(bt.status());
  if (!refs.empty()) {
    return Broken("block " + std::to_string(refs.begin()->first) +
                  " is referenced but has no record");
  }
  if (records != internals().allocator().used_blocks()) {
    return Broken(std::to_string(internals().allocator().used_blocks()) +
                  " blocks used in the free map but " + std::to_string(records) + " have records");
  }
  return Status::OK();
}

Status Fsck::CheckGeneration(GenId g) {
  ReadScope s(internals().kv());
  Meta meta(internals().tree(), internals().allocator());
  const std::string at = " (generation " + std::to_string(g.value) + ")";
  std::map<uint64_t, index::InodeRecord> inodes;
  HOODY_RETURN_IF_ERROR(meta.inodes().ForEach(
      s, "", "", g, [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
        HOODY_ASSIGN_OR_RETURN(index::InodeRecord rec, index::InodeRecord::Decode(v.data));
        inodes.emplace(GetBig64(logical.data()), std::move(rec));
        return true;
      }));
  if (inodes.empty()) return Status::OK();  // a generation may hold nothing yet
  // (parent, name) -> entry; back-references and cookies as sets to match.
  std::map<std::pair<uint64_t, std::string>, index::DirentValue> dirents;
  HOODY_RETURN_IF_ERROR(meta.dirents().ForEach(
      s, "", "", g, [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
        HOODY_ASSIGN_OR_RETURN(index::DirentValue d, index::DirentValue::Decode(v.data));
        dirents.emplace(std::make_pair(GetBig64(logical.data()),
                                       std::string(logical.substr(8, logical.size() - 9))),
                        d);
        return true;
      }));
  std::set<std::tuple<uint64_t, uint64_t, std::string>> backrefs;
  HOODY_RETURN_IF_ERROR(meta.backrefs().ForEach(
      s, "", "", g, [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
        backrefs.emplace(GetBig64(logical.data()), GetBig64(logical.data() + 8),
                         std::string(logical.substr(16, logical.size() - 17)));
        return true;
      }));
  std::map<std::pair<uint64_t, uint64_t>, index::DirCookieValue> cookies;
  HOODY_RETURN_IF_ERROR(meta.cookies().ForEach(
      s, "", "", g, [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
        HOODY_ASSIGN_OR_RETURN(index::DirCookieValue c, index::DirCookieValue::Decode(v.data));
        cookies.emplace(std::make_pair(GetBig64(logical.data()), GetBig64(logical.data() + 8)), c);
        return true;
      }));
  if (backrefs.size() != dirents.size() || cookies.size() != dirents.size()) {
    return Broken("entries, cookies and back-references differ in number" + at);
  }
  std::map<uint64_t, uint32_t> links, subdirs, parents;
  for (const auto& [key, d] : dirents) {
    const auto& [parent, name] = key;
    auto p = inodes.find(parent);
    if (p == inodes.end() || !S_ISDIR(p->second.mode)) {
      return Broken("entry '" + name + "' in a missing or non-directory parent" + at);
    }
    auto t = inodes.find(d.ino.value);
    if (t == inodes.end()) return Broken("entry '" + name + "' points at a missing inode" + at);
    if (internal::DirentType(t->second.mode) != d.type) {
      return Broken("entry '" + name + "' records the wrong type" + at);
    }
    if (backrefs.count({d.ino.value, parent, name}) == 0) {
      return Broken("entry '" + name + "' has no back-reference" + at);
    }
    auto c = cookies.find({parent, d.cookie});
    if (c == cookies.end() || c->second.name != name || c->second.ino != d.ino) {
      return Broken("entry '" + name + "' has no matching readdir cookie" + at);
    }
    if (d.cookie >= p->second.next_cookie) return Broken("cookie from the future" + at);
    ++links[d.ino.value];
    if (S_ISDIR(t->second.mode)) {
      ++subdirs[parent];
      ++parents[d.ino.value];
    }
  }
  for (const auto& [ino, rec] : inodes) {
    const std::string who = "inode " + std::to_string(ino) + at;
    if (S_ISDIR(rec.mode) && rec.nlink == 0) {
      // Removed while open: no entry names it, and it holds none.
      if (parents[ino] != 0 || subdirs[ino] != 0) return Broken(who + " is removed but linked");
    } else if (S_ISDIR(rec.mode)) {
      if (ino != kRootIno.value && parents[ino] != 1) return Broken(who + " has no single parent");
      if (rec.nlink != 2 + subdirs[ino]) {
        return Broken(who + " has nlink " + std::to_string(rec.nlink) + ", expected " +
                      std::to_string(2 + subdirs[ino]));
      }
    } else if (rec.nlink != links[ino] && !(rec.nlink == 0 && links[ino] == 0)) {
      return Broken(who + " has nlink " + std::to_string(rec.nlink) + " but " +
                    std::to_string(links[ino]) + " entries");
    }
    if (S_ISREG(rec.mode) && rec.has_inline && rec.inline_data.size() != rec.size) {
      return Broken(who + " inline data does not match its size");
    }
  }
  // Chunks: owners exist, lie within the size, add up to the block count.
  std::map<uint64_t, uint64_t> mapped;
  Status chunk_status;
  HOODY_RETURN_IF_ERROR(meta.chunks().ForEach(
      s, "", "", g, [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
        const uint64_t ino = GetBig64(logical.data());
        const uint64_t chunk = GetBig64(logical.data() + 8);
        auto it = inodes.find(ino);
        if (it == inodes.end() || !S_ISREG(it->second.mode) || it->second.has_inline) {
          return Broken("chunk of a missing, non-regular or inline inode " + std::to_string(ino) +
                        at);
        }
        HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(v.data));
        const uint64_t size_blocks = (it->second.size + kBlockSize - 1) / kBlockSize;
        const ChunkBlocks blocks = Expand(map);
        for (uint32_t i = 0; i < blocks.size(); ++i) {
          if (!blocks[i].valid()) continue;
          if (chunk * index::kChunkBlocks + i >= size_blocks) {
            return Broken("inode " + std::to_string(ino) + " maps a block past its size" + at);
          }
          ++mapped[ino];
        }
        return true;
      }));
  for (const auto& [ino, rec] : inodes) {
    if (S_ISREG(rec.mode) && rec.blocks != mapped[ino]) {
      return Broken("inode " + std::to_string(ino) + " counts " + std::to_string(rec.blocks) +
                    " blocks but maps " + std::to_string(mapped[ino]) + at);
    }
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
