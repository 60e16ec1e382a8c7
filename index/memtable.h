// MemTable: the pending metadata changes not yet committed to LMDB, one
// ordered map per table. A tombstone records a deletion that must hide the
// committed value underneath.
//
// Thread-safety: none of its own; KvStore guards it with its state lock.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "index/schema.h"

namespace hoodyfs::index {

struct MemEntry {
  std::string value;
  bool tombstone = false;
};

class MemTable {
 public:
  using Map = std::map<std::string, MemEntry, std::less<>>;

  void Put(Table t, std::string_view key, std::string_view value);
  void Delete(Table t, std::string_view key);
  // nullptr when the table holds no entry (neither value nor tombstone) for key.
  const MemEntry* Find(Table t, std::string_view key) const;

  // Undo support for WriteScope: the entry as it is now (nullopt: absent),
  // and putting it back.
  std::optional<MemEntry> Save(Table t, std::string_view key) const;
  void Restore(Table t, std::string_view key, const std::optional<MemEntry>& saved);

  const Map& map(Table t) const { return maps_[TableIndex(t)]; }
  bool empty() const { return entries_ == 0; }
  size_t entries() const { return entries_; }
  // Approximate heap footprint, for the flush trigger.
  size_t ApproximateBytes() const { return bytes_; }

 private:
  MemEntry& Slot(Table t, std::string_view key);
  std::array<Map, kTableCount> maps_;
  size_t entries_ = 0;
  size_t bytes_ = 0;
};

}  // namespace hoodyfs::index
