#include "snapshotter/verbs/gc.h"

#include <algorithm>
#include <vector>

#include "base/test_hook.h"
#include "index/keys.h"
#include "index/records.h"
#include "snapshotter/engine/changelog.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::GenerationRecord;
using index::GenState;
using index::ReadScope;
using index::Table;
using index::WriteScope;

Result<GcStats> GarbageCollector::CollectAll(const GcOptions& options,
                                             const GcProgressFn& progress) {
  GcStats stats;
  GcProgress state;
  for (;;) {
    std::vector<GenId> dropped;
    {
      ReadScope s(internals_.kv());
      HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kGenerations));
      for (it.Seek(""); it.Valid(); it.Next()) {
        HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(it.value()));
        if (rec.state == GenState::kDropped) dropped.emplace_back(GetBig64(it.key().data()));
      }
      HOODY_RETURN_IF_ERROR(it.status());
    }
    // Youngest first: reclaiming a leaf can make its parent eligible in the
    // same pass.
    std::sort(dropped.rbegin(), dropped.rend());
    state.generations_pending = dropped.size();
    bool progressed = false;
    for (GenId gen : dropped) {
      HOODY_ASSIGN_OR_RETURN(bool reclaimed, Collect(gen, options, &stats, progress, &state));
      if (state.generations_pending > 0) --state.generations_pending;
      if (!reclaimed) continue;
      progressed = true;
      ++stats.generations;
      ++state.generations_done;
      if (progress) progress(state);
    }
    if (!progressed) break;
  }
  if (options.prune_shared) {
    std::vector<GenId> shared;
    {
      ReadScope s(internals_.kv());
      HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kGenerations));
      for (it.Seek(""); it.Valid(); it.Next()) {
        HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(it.value()));
        const GenId g(GetBig64(it.key().data()));
        if (rec.state == GenState::kDropped && internals_.tree().Contains(g) &&
            internals_.tree().Children(g).size() > 1) {
          shared.push_back(g);
        }
      }
      HOODY_RETURN_IF_ERROR(it.status());
    }
    for (GenId g : shared) HOODY_RETURN_IF_ERROR(Prune(g, options.batch_records, &stats));
  }
  HOODY_RETURN_IF_ERROR(store_.Flush());
  // A user who deletes snapshots and collects wants the host's space back
  // now, scattered blocks included.
  store_.ReturnFreeSpace(options.return_space_min_blocks);
  return stats;
}

GcOptions ImplicitCollection() {
  GcOptions options;
  options.return_space_min_blocks = Store::kBackgroundPunchBlocks;
  return options;
}

Result<bool> GarbageCollector::Collect(GenId gen, const GcOptions& options, GcStats* stats,
                                       const GcProgressFn& progress, GcProgress* state) {
  for (;;) {
    bool finished = false;
    bool skipped = false;
    const uint64_t before = stats->records;
    HOODY_RETURN_IF_ERROR(CollectBatch(gen, options.batch_records, stats, &finished, &skipped));
    if (skipped) return false;
    state->records_done += stats->records - before;
    HOODY_RETURN_IF_ERROR(internals_.MaybeFlush());
    if (finished) return true;
    if (progress) progress(*state);
    HOODY_TEST_HOOK("gc.between_batches");
  }
}

Status GarbageCollector::CollectBatch(GenId gen, size_t batch_records, GcStats* stats,
                                      bool* finished, bool* skipped) {
  HOODY_RETURN_IF_ERROR(internals_.CheckWritable());
  WriteScope s(internals_.kv());
  index::GenerationTree& tree = internals_.tree();
  if (!tree.Contains(gen)) {
    *skipped = true;
    return Status::OK();
  }
  HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, internals_.GetGeneration(s, gen));
  const std::vector<GenId>& children = tree.Children(gen);
  const GenId target = children.empty() ? GenId() : children.front();
  if (rec.state != GenState::kDropped || children.size() > 1 || store_.PinnedBy(gen) ||
      (target.valid() && store_.PinnedBy(target))) {
    *skipped = true;
    return Status::OK();
  }
  const GenId parent = tree.Parent(gen);
  Meta meta(tree, internals_.allocator());
  // The target's own changes are about to grow: its cached accounting goes.
  if (target.valid()) s.Delete(Table::kGenStats, index::GenerationKey(target));

  ChangeLogCursor cursor(gen);
  HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> batch, cursor.Next(s, batch_records));
  for (const ChangedKey& change : batch) {
    const std::string key = index::VersionedKey(change.logical, gen);
    HOODY_ASSIGN_OR_RETURN(auto found, s.Get(change.table, key));
    if (!found || found->empty()) {
      return Status::Corruption("change-log entry of generation " + std::to_string(gen.value) +
                                " without its record");
    }
    const std::string value(*found);  // Get's view ends at the next Put
    const bool live = value[0] == index::kLiveTag;
    bool move = false;
    if (target.valid()) {
      HOODY_ASSIGN_OR_RETURN(auto own,
                             s.Get(change.table, index::VersionedKey(change.logical, target)));
      if (!own && live) {
        move = true;
      } else if (!own && parent.valid()) {
        // A whiteout matters only if something under it is still visible.
        index::VersionedTable table(change.table, tree);
        HOODY_ASSIGN_OR_RETURN(auto below, table.Get(s, change.logical, parent));
        move = below.has_value();
      }
    }
    if (move) {
      s.Put(change.table, index::VersionedKey(change.logical, target), value);
      s.Put(Table::kChangeLog, index::ChangeLogKey(target, change.table, change.logical), "");
    } else if (change.table == Table::kChunks && live) {
      HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(value.substr(1)));
      for (BlockNo b : Expand(map)) {
        if (b.valid()) HOODY_RETURN_IF_ERROR(meta.Unref(s, b, &stats->blocks_freed));
      }
    }
    s.Delete(change.table, key);
    s.Delete(Table::kChangeLog, index::ChangeLogKey(gen, change.table, change.logical));
    ++stats->records;
  }
  if (cursor.done()) {
    // Nothing fallible follows: the tree changes with the commit.
    s.Delete(Table::kGenerations, index::GenerationKey(gen));
    s.Delete(Table::kGenStats, index::GenerationKey(gen));
    if (target.valid()) {
      HOODY_ASSIGN_OR_RETURN(GenerationRecord child, internals_.GetGeneration(s, target));
      child.parent = parent;
      internals_.PutGeneration(s, target, child);
      tree.Splice(gen);
    } else {
      tree.Remove(gen);
    }
    *finished = true;
  }
  s.Commit();
  return Status::OK();
}

// Each child hides the key with its own version, or is a dropped, unpinned
// generation for which the same holds.
Result<bool> GarbageCollector::Unseen(const index::KvScope& s, GenId gen, Table table,
                                      std::string_view logical, int depth) {
  const index::GenerationTree& tree = internals_.tree();
  if (depth > 64) return false;  // deep dropped chains: keep, decide later
  for (GenId child : tree.Children(gen)) {
    HOODY_ASSIGN_OR_RETURN(auto own, s.Get(table, index::VersionedKey(logical, child)));
    if (own) continue;
    HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, internals_.GetGeneration(s, child));
    if (rec.state != GenState::kDropped || store_.PinnedBy(child)) return false;
    HOODY_ASSIGN_OR_RETURN(bool unseen, Unseen(s, child, table, logical, depth + 1));
    if (!unseen) return false;
  }
  return true;
}

Status GarbageCollector::Prune(GenId gen, size_t batch_records, GcStats* stats) {
  ChangeLogCursor cursor(gen);
  while (!cursor.done()) {
    HOODY_RETURN_IF_ERROR(internals_.CheckWritable());
    {
      WriteScope s(internals_.kv());
      index::GenerationTree& tree = internals_.tree();
      if (!tree.Contains(gen) || tree.Children(gen).size() < 2 || store_.PinnedBy(gen)) {
        return Status::OK();
      }
      Meta meta(tree, internals_.allocator());
      // Pruning changes what this generation itself shows (no one reads
      // it, but its children's accounting starts from its numbers).
      s.Delete(Table::kGenStats, index::GenerationKey(gen));
      HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> batch, cursor.Next(s, batch_records));
      for (const ChangedKey& change : batch) {
        HOODY_ASSIGN_OR_RETURN(bool unseen, Unseen(s, gen, change.table, change.logical, 0));
        if (!unseen) continue;
        const std::string key = index::VersionedKey(change.logical, gen);
        HOODY_ASSIGN_OR_RETURN(auto found, s.Get(change.table, key));
        if (!found || found->empty()) {
          return Status::Corruption("change-log entry of generation " + std::to_string(gen.value) +
                                    " without its record");
        }
        if (change.table == Table::kChunks && (*found)[0] == index::kLiveTag) {
          HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(found->substr(1)));
          for (BlockNo b : Expand(map)) {
            if (b.valid()) HOODY_RETURN_IF_ERROR(meta.Unref(s, b, &stats->blocks_freed));
          }
        }
        s.Delete(change.table, key);
        s.Delete(Table::kChangeLog, index::ChangeLogKey(gen, change.table, change.logical));
        ++stats->records;
      }
      s.Commit();
    }
    HOODY_RETURN_IF_ERROR(internals_.MaybeFlush());
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
