#include "index/memtable.h"

#include <utility>

namespace hoodyfs::index {
namespace {
// A map entry's own bytes: the tree node's links and colour (32), the
// key's string (40 with its allocator) and MemEntry (48).
constexpr size_t kEntryOverhead = 120;

template <size_t... I>
std::array<MemTable::Map, kTableCount> MapsIn(std::pmr::memory_resource* arena,
                                              std::index_sequence<I...>) {
  return {((void)I, MemTable::Map(arena))...};
}
}  // namespace

MemTable::MemTable()
    : maps_(MapsIn(&arena_, std::make_index_sequence<kTableCount>{})), unlogged_keys_(&arena_) {}

MemTable::Map::iterator MemTable::Slot(Table t, std::string_view key, bool* created) {
  Map& m = maps_[TableIndex(t)];
  auto it = m.lower_bound(key);
  const bool absent = it == m.end() || it->first != key;
  if (created != nullptr) *created = absent;
  if (absent) {
    // The key is made in the arena by the map's allocator; the value is
    // moved in with the arena as its allocator.
    it = m.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key),
                        std::forward_as_tuple(MemEntry{std::pmr::string(&arena_)}));
    ++entries_;
    bytes_ += kEntryOverhead + key.size();
  }
  return it;
}

void MemTable::MarkUnlogged(Table t, std::string_view key, MemEntry& e) {
  if (e.unlogged) return;
  e.unlogged = true;
  unlogged_keys_.emplace_back(t, key);
  bytes_ += kUnloggedOverhead + key.size();
}

void MemTable::PutAt(Table t, Map::iterator it, std::string_view value) {
  MemEntry& e = it->second;
  MarkUnlogged(t, it->first, e);
  bytes_ += value.size();
  bytes_ -= e.value.size();
  e.value.assign(value);
  e.tombstone = false;
}

void MemTable::DeleteAt(Table t, Map::iterator it) {
  MemEntry& e = it->second;
  MarkUnlogged(t, it->first, e);
  bytes_ -= e.value.size();
  e.value.clear();
  e.tombstone = true;
}

void MemTable::Put(Table t, std::string_view key, std::string_view value) {
  PutAt(t, Slot(t, key), value);
}

void MemTable::Delete(Table t, std::string_view key) { DeleteAt(t, Slot(t, key)); }

const MemEntry* MemTable::Find(Table t, std::string_view key) const {
  const Map& m = maps_[TableIndex(t)];
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

MemTable::Acquired MemTable::Acquire(Table t, std::string_view key, bool save) {
  bool created;
  Acquired out{Slot(t, key, &created), std::nullopt};
  if (save && !created) out.saved = out.it->second;
  return out;
}

void MemTable::RestoreAt(Table t, Map::iterator it, const std::optional<MemEntry>& saved) {
  if (saved) {
    // The saved flag is right as it is: no drain runs inside a scope (the
    // scope holds the state lock), so the log holds the saved state exactly
    // when it held it at the scope's start.
    MemEntry& e = it->second;
    bytes_ += saved->value.size();
    bytes_ -= e.value.size();
    e = *saved;
    return;
  }
  bytes_ -= kEntryOverhead + it->first.size() + it->second.value.size();
  --entries_;
  maps_[TableIndex(t)].erase(it);
}

}  // namespace hoodyfs::index
