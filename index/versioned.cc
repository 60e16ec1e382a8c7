#include "index/versioned.h"

#include <algorithm>

#include "index/keys.h"
#include "index/records.h"

namespace hoodyfs::index {
namespace {
// The smallest key greater than every key starting with `prefix` ("" when
// there is none, which means no bound).
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<uint8_t>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
  return s;
}

bool IsVersionOf(std::string_view key, std::string_view logical) {
  return key.size() == logical.size() + kGenSuffixBytes && key.substr(0, logical.size()) == logical;
}

// A key after every version of `logical` and before the next logical key
// (logical keys are prefix-free: docs/format.md).
std::string PastEveryVersionOf(std::string_view logical) {
  std::string k(logical);
  k.append(kGenSuffixBytes, '\xff');
  k.push_back('\0');
  return k;
}

// Moves `it` to the first key >= `target`. The target is usually a step or
// two away (one sibling's version, the older versions of a key just
// decided), where Next is cheaper than a seek through every source; past a
// few steps one seek bounds the cost, however many versions lie between.
constexpr int kStepsBeforeSeek = 3;
void AdvanceTo(KvIterator& it, std::string_view target) {
  for (int i = 0; i < kStepsBeforeSeek && it.Valid() && it.key() < target; ++i) it.Next();
  if (it.Valid() && it.key() < target) it.Seek(target);
}
}  // namespace

Result<std::optional<VersionedTable::Raw>> VersionedTable::Find(const KvScope& scope,
                                                                std::string_view logical,
                                                                GenId gen) const {
  const std::string key = VersionedKey(logical, gen);
  // Fast path: the generation's own version (most lookups from a busy head).
  HOODY_ASSIGN_OR_RETURN(std::optional<std::string_view> own, scope.Get(table_, key));
  auto make = [&](GenId g, std::string_view v) -> Result<std::optional<Raw>> {
    if (v.empty()) return Status::Corruption("empty versioned value");
    return std::optional<Raw>(Raw{g, v[0] == kWhiteoutTag, v.substr(1)});
  };
  if (own) return make(gen, *own);
  if (!tree_.Parent(gen).valid()) return std::optional<Raw>();
  // The seek lands on the newest version older than `gen`; versions of
  // siblings and cousins sit between it and the nearest ancestor's. Each
  // one met sends the reader to the newest ancestor older than it
  // (NewestAncestorAtOrBelow), so 1000 sibling branches that each rewrote
  // the key cost a seek, not 1000 steps (issue 12).
  HOODY_ASSIGN_OR_RETURN(KvIterator it, scope.NewIterator(table_));
  it.SetUpperBound(PastEveryVersionOf(logical));
  for (it.Seek(key); it.Valid();) {
    if (!IsVersionOf(it.key(), logical)) break;
    const GenId g = GenOfKey(it.key());
    if (tree_.IsAncestorOrSelf(g, gen)) return make(g, it.value());
    const GenId next = tree_.NewestAncestorAtOrBelow(gen, g);
    if (!next.valid()) break;
    AdvanceTo(it, VersionedKey(logical, next));
  }
  HOODY_RETURN_IF_ERROR(it.status());
  return std::optional<Raw>();
}

Result<std::optional<VisibleVersion>> VersionedTable::Get(const KvScope& scope,
                                                          std::string_view logical,
                                                          GenId gen) const {
  HOODY_ASSIGN_OR_RETURN(std::optional<Raw> raw, Find(scope, logical, gen));
  if (!raw || raw->whiteout) return std::optional<VisibleVersion>();
  return std::optional<VisibleVersion>(VisibleVersion{raw->gen, raw->data});
}

Status VersionedTable::ForEach(const KvScope& scope, std::string_view prefix,
                               std::string_view start, GenId gen, const VisitFn& fn) const {
  HOODY_ASSIGN_OR_RETURN(KvIterator it, scope.NewIterator(table_));
  it.SetUpperBound(PrefixSuccessor(prefix));
  std::string done_logical;  // logical key just decided (found or hidden)
  // Skips cost a seek at most, as in Find: past the older versions of a
  // key once it is decided (10,000 snapshots that each rewrote a file's
  // first chunk leave 10,000 of them), and from a sibling's version to the
  // newest ancestor's older than it.
  // Seek to the later of the two bounds: a start that sorts before the prefix
  // (say, a key of a smaller inode) must not end the scan at once.
  for (it.Seek(std::max(start, prefix)); it.Valid();) {
    const std::string_view key = it.key();
    if (key.substr(0, prefix.size()) != prefix) break;
    if (key.size() < prefix.size() + kGenSuffixBytes) return Status::Corruption("short key");
    const std::string_view logical = LogicalPart(key);
    const GenId g = GenOfKey(key);
    if (!tree_.IsAncestorOrSelf(g, gen)) {
      const GenId next = tree_.NewestAncestorAtOrBelow(gen, g);
      AdvanceTo(it, next.valid() ? VersionedKey(logical, next) : PastEveryVersionOf(logical));
      continue;
    }
    // Versions sort newest first, so the first ancestor-or-self version is
    // the visible one; later versions of this logical key are older.
    done_logical.assign(logical);
    const std::string_view v = it.value();
    if (v.empty()) return Status::Corruption("empty versioned value");
    if (v[0] != kWhiteoutTag) {
      HOODY_ASSIGN_OR_RETURN(bool more, fn(done_logical, VisibleVersion{g, v.substr(1)}));
      if (!more) break;
    }
    AdvanceTo(it, PastEveryVersionOf(done_logical));
  }
  return it.status();
}

Status VersionedTable::Record(WriteScope& scope, std::string_view logical, GenId gen,
                              const std::string& value) {
  const std::string key = VersionedKey(logical, gen);
  HOODY_ASSIGN_OR_RETURN(std::optional<std::string_view> own, scope.Get(table_, key));
  if (!own) scope.Put(Table::kChangeLog, ChangeLogKey(gen, table_, logical), "");
  scope.Put(table_, key, value);
  return Status::OK();
}

Status VersionedTable::Put(WriteScope& scope, std::string_view logical, GenId gen,
                           std::string_view payload) {
  return Record(scope, logical, gen, LiveValue(payload));
}

Status VersionedTable::Erase(WriteScope& scope, std::string_view logical, GenId gen) {
  const GenId parent = tree_.Parent(gen);
  bool inherited = false;
  if (parent.valid()) {
    HOODY_ASSIGN_OR_RETURN(std::optional<Raw> below, Find(scope, logical, parent));
    inherited = below && !below->whiteout;
  }
  if (inherited) return Record(scope, logical, gen, WhiteoutValue());
  // Nothing older to hide: the key simply stops existing in this generation,
  // and the generation no longer changed it.
  scope.Delete(table_, VersionedKey(logical, gen));
  scope.Delete(Table::kChangeLog, ChangeLogKey(gen, table_, logical));
  return Status::OK();
}

}  // namespace hoodyfs::index
