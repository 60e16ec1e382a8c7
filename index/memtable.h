// MemTable: the pending metadata changes not yet committed to LMDB, one
// ordered map per table. A tombstone records a deletion that must hide the
// committed value underneath.
//
// Thread-safety: none of its own; KvStore guards it with its state lock.
#pragma once

#include <array>
#include <map>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/memtable_arena.h"
#include "index/schema.h"

namespace hoodyfs::index {

struct MemEntry {
  // In a MemTable, held in its arena; a copy (an undo record) is on the heap.
  std::pmr::string value;
  bool tombstone = false;
  // Changed since the last DrainUnlogged: not yet in the write-ahead log.
  bool unlogged = false;
};

class MemTable {
 public:
  using Map = std::pmr::map<std::pmr::string, MemEntry, std::less<>>;

  MemTable();
  // The maps point at arena_.
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  void Put(Table t, std::string_view key, std::string_view value);
  void Delete(Table t, std::string_view key);
  // nullptr when the table holds no entry (neither value nor tombstone) for key.
  const MemEntry* Find(Table t, std::string_view key) const;

  // For WriteScope, which keeps an undo record per change: the entry for
  // key in one tree search, made (empty, as if absent) when there was none,
  // and what was there before (nullopt: nothing). Then PutAt or DeleteAt
  // changes it, and RestoreAt puts the saved state back, erasing an entry
  // Acquire made. Iterators stay valid: only RestoreAt erases, and the
  // scope restores newest first.
  // Without `save` (a scope that committed keeps no undo) nothing is copied.
  struct Acquired {
    Map::iterator it;
    std::optional<MemEntry> saved;
  };
  Acquired Acquire(Table t, std::string_view key, bool save);
  void PutAt(Table t, Map::iterator it, std::string_view value);
  void DeleteAt(Table t, Map::iterator it);
  void RestoreAt(Table t, Map::iterator it, const std::optional<MemEntry>& saved);

  // Calls `emit` once for every entry changed since the previous call (its
  // current value or tombstone), and marks them logged. O(entries changed):
  // Put and Delete remember each key the first time it changes after a drain.
  template <typename Emit>
  void DrainUnlogged(Emit emit) {
    for (const auto& [t, key] : unlogged_keys_) {
      bytes_ -= kUnloggedOverhead + key.size();
      Map& m = maps_[TableIndex(t)];
      auto it = m.find(key);
      // Gone or logged again: a rollback removed it or put back a logged state.
      if (it == m.end() || !it->second.unlogged) continue;
      it->second.unlogged = false;
      emit(t, std::string_view(it->first), it->second);
    }
    unlogged_keys_.clear();
  }
  bool has_unlogged() const { return !unlogged_keys_.empty(); }

  const Map& map(Table t) const { return maps_[TableIndex(t)]; }
  bool empty() const { return entries_ == 0; }
  size_t entries() const { return entries_; }
  // Approximate memory footprint, for the flush trigger: what the entries
  // hold plus what the arena holds and can no longer use (overwritten
  // values, rolled-back entries).
  size_t ApproximateBytes() const { return bytes_ + arena_.wasted_bytes(); }

 private:
  // The entry for key, made when absent (*created, when given, says which).
  Map::iterator Slot(Table t, std::string_view key, bool* created = nullptr);
  void MarkUnlogged(Table t, std::string_view key, MemEntry& e);
  // A pair in unlogged_keys_: the table, a std::string header, vector slack.
  static constexpr size_t kUnloggedOverhead = 48;
  // First: the members below allocate from it.
  MemTableArena arena_;
  std::array<Map, kTableCount> maps_;
  // Keys changed since the last DrainUnlogged, each once per drain (an entry
  // a rollback removed and a later Put recreated may appear twice: harmless).
  std::pmr::vector<std::pair<Table, std::pmr::string>> unlogged_keys_;
  size_t entries_ = 0;
  size_t bytes_ = 0;
};

}  // namespace hoodyfs::index
