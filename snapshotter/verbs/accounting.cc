#include "snapshotter/verbs/accounting.h"

#include <sys/stat.h>

#include <optional>
#include <vector>

#include "index/keys.h"
#include "snapshotter/engine/changelog.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::GenerationStats;
using index::GenState;
using index::KvScope;
using index::ReadScope;
using index::Table;
using index::WriteScope;

namespace {
constexpr size_t kBatch = 1024;

// A version's payload: the value without its tag; nullopt when absent or a
// whiteout.
std::optional<std::string_view> Payload(std::optional<std::string_view> raw) {
  if (!raw || raw->empty() || (*raw)[0] != index::kLiveTag) return std::nullopt;
  return raw->substr(1);
}

// The blocks of a chunk map payload (all holes when absent).
Result<ChunkBlocks> BlocksOf(std::optional<std::string_view> payload) {
  if (!payload) return ChunkBlocks{};
  HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(*payload));
  return Expand(map);
}

// The inline bytes of an inode payload; nullopt when absent or not an
// inline regular file.
Result<std::optional<std::string>> InlineOf(std::optional<std::string_view> payload) {
  if (!payload) return std::optional<std::string>();
  HOODY_ASSIGN_OR_RETURN(index::InodeRecord rec, index::InodeRecord::Decode(*payload));
  if (!S_ISREG(rec.mode) || !rec.has_inline) return std::optional<std::string>();
  return std::optional<std::string>(std::move(rec.inline_data));
}

// The payload of `logical` visible from `gen` (none when gen is invalid).
Result<std::optional<std::string_view>> VisiblePayload(const KvScope& s,
                                                       const index::GenerationTree& tree,
                                                       Table table, std::string_view logical,
                                                       GenId gen) {
  if (!gen.valid()) return std::optional<std::string_view>();
  HOODY_ASSIGN_OR_RETURN(auto v, index::VersionedTable(table, tree).Get(s, logical, gen));
  if (!v) return std::optional<std::string_view>();
  return std::optional<std::string_view>(v->data);
}

size_t Mapped(const ChunkBlocks& blocks) {
  size_t n = 0;
  for (BlockNo b : blocks) n += b.valid() ? 1 : 0;
  return n;
}
}  // namespace

Result<GenerationStats> Accounting::Stats(GenId gen) {
  // The generations from `gen` up to the nearest one with cached numbers.
  std::vector<GenId> chain;
  std::vector<Store::Pin> pins;
  uint64_t base = 0;
  {
    ReadScope s(internals_.kv());
    if (!internals_.tree().Contains(gen)) {
      return Status::NotFound("generation " + std::to_string(gen.value));
    }
    for (GenId g = gen; g.valid(); g = internals_.tree().Parent(g)) {
      HOODY_ASSIGN_OR_RETURN(auto cached, s.Get(Table::kGenStats, index::GenerationKey(g)));
      if (cached) {
        HOODY_ASSIGN_OR_RETURN(GenerationStats st, GenerationStats::Decode(*cached));
        if (g == gen) return st;
        base = st.referenced_bytes;
        pins.push_back(store_.PinGeneration(g, "accounting"));
        break;
      }
      chain.push_back(g);
      pins.push_back(store_.PinGeneration(g, "accounting"));
    }
  }
  GenerationStats st;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    HOODY_ASSIGN_OR_RETURN(st, Compute(*it, base));
    base = st.referenced_bytes;
    WriteScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(index::GenerationRecord rec, internals_.GetGeneration(s, *it));
    if (rec.state != GenState::kHead) {
      s.Put(Table::kGenStats, index::GenerationKey(*it), st.Encode());
      s.Commit();
    }
  }
  return st;
}

Result<GenerationStats> Accounting::Compute(GenId gen, uint64_t parent_referenced) {
  int64_t referenced = static_cast<int64_t>(parent_referenced);
  int64_t written = 0;
  GenId parent;
  {
    ReadScope s(internals_.kv());
    parent = internals_.tree().Parent(gen);
  }
  ChangeLogCursor cursor(gen);
  while (!cursor.done()) {
    ReadScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> batch, cursor.Next(s, kBatch));
    for (const ChangedKey& c : batch) {
      if (c.table != Table::kChunks && c.table != Table::kInodes) continue;
      HOODY_ASSIGN_OR_RETURN(auto raw, s.Get(c.table, index::VersionedKey(c.logical, gen)));
      const std::optional<std::string_view> own = Payload(raw);
      HOODY_ASSIGN_OR_RETURN(auto below,
                             VisiblePayload(s, internals_.tree(), c.table, c.logical, parent));
      if (c.table == Table::kChunks) {
        HOODY_ASSIGN_OR_RETURN(ChunkBlocks mine, BlocksOf(own));
        HOODY_ASSIGN_OR_RETURN(ChunkBlocks old, BlocksOf(below));
        referenced += int64_t{kBlockSize} *
                      (static_cast<int64_t>(Mapped(mine)) - static_cast<int64_t>(Mapped(old)));
        for (size_t i = 0; i < mine.size(); ++i) {
          if (mine[i].valid() && mine[i] != old[i]) written += kBlockSize;
        }
      } else {
        HOODY_ASSIGN_OR_RETURN(auto mine, InlineOf(own));
        HOODY_ASSIGN_OR_RETURN(auto old, InlineOf(below));
        const int64_t mine_bytes = mine ? static_cast<int64_t>(mine->size()) : 0;
        referenced += mine_bytes - (old ? static_cast<int64_t>(old->size()) : 0);
        if (mine && mine != old) written += mine_bytes;
      }
    }
  }
  if (referenced < 0) {
    return Status::Corruption("generation " + std::to_string(gen.value) +
                              " accounts negative referenced bytes");
  }
  return GenerationStats{static_cast<uint64_t>(referenced), static_cast<uint64_t>(written)};
}

Result<uint64_t> Accounting::ExclusiveBytes(GenId gen) {
  GenId target;
  std::vector<Store::Pin> pins;
  {
    ReadScope s(internals_.kv());
    if (!internals_.tree().Contains(gen)) {
      return Status::NotFound("generation " + std::to_string(gen.value));
    }
    const std::vector<GenId>& children = internals_.tree().Children(gen);
    if (children.size() > 1) return uint64_t{0};
    if (!children.empty()) target = children.front();
    pins.push_back(store_.PinGeneration(gen, "accounting"));
    if (target.valid()) pins.push_back(store_.PinGeneration(target, "accounting"));
  }
  uint64_t bytes = 0;
  ChangeLogCursor cursor(gen);
  while (!cursor.done()) {
    ReadScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> batch, cursor.Next(s, kBatch));
    for (const ChangedKey& c : batch) {
      if (c.table != Table::kChunks) continue;
      if (target.valid()) {
        // Without the child's own version, this one moves to the child: kept.
        HOODY_ASSIGN_OR_RETURN(auto theirs, s.Get(c.table, index::VersionedKey(c.logical, target)));
        if (!theirs) continue;
      }
      HOODY_ASSIGN_OR_RETURN(auto raw, s.Get(c.table, index::VersionedKey(c.logical, gen)));
      HOODY_ASSIGN_OR_RETURN(ChunkBlocks mine, BlocksOf(Payload(raw)));
      for (BlockNo b : mine) {
        if (!b.valid()) continue;
        HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kBlocks, index::BlockKey(b)));
        if (!v) return Status::Corruption("block " + std::to_string(b.value) + " has no record");
        HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(*v));
        if (rec.refcount == 1) bytes += kBlockSize;
      }
    }
  }
  return bytes;
}

}  // namespace hoodyfs::snapshotter
