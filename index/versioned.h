// Reading and writing the versioned tables under the visibility rule: from
// generation G the visible version of a logical key is the one written by G
// or by G's nearest ancestor; a whiteout version hides older ones.
//
// Writes are copy-on-write at record granularity: a write from head H
// updates H's own version in place, or inserts a new version at H; records of
// other generations are never touched. The first version a generation writes
// for a key also enters the change log (gen, table, logical key), which makes
// a diff and a generation's garbage collection cost what that generation
// changed, not what the container holds.
//
// Thread-safety: callers hold the scope (and so the state lock) for the
// duration of each call; `tree` must be the tree that lock protects.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/types.h"
#include "index/generation_tree.h"
#include "index/kv_store.h"

namespace hoodyfs::index {

struct VisibleVersion {
  GenId gen;              // the generation that wrote it
  std::string_view data;  // payload (without the tag); valid as KvScope::Get
};

class VersionedTable {
 public:
  VersionedTable(Table table, const GenerationTree& tree) : table_(table), tree_(tree) {}

  // The live version visible from `gen`, or nullopt when absent or whited out.
  Result<std::optional<VisibleVersion>> Get(const KvScope& scope, std::string_view logical,
                                            GenId gen) const;

  // Calls fn(logical key, version) for every live logical key that starts
  // with `prefix` and is >= `start`, in key order, as seen from `gen`.
  // fn returns false to stop early.
  using VisitFn = std::function<Result<bool>(std::string_view logical, const VisibleVersion&)>;
  Status ForEach(const KvScope& scope, std::string_view prefix, std::string_view start, GenId gen,
                 const VisitFn& fn) const;

  // Writes `payload` as `gen`'s version of the key.
  Status Put(WriteScope& scope, std::string_view logical, GenId gen, std::string_view payload);

  // Removes the key as seen from `gen`: drops gen's own version and, when an
  // ancestor still has a live version, writes a whiteout in its place.
  Status Erase(WriteScope& scope, std::string_view logical, GenId gen);

 private:
  // The newest version (live or whiteout) visible from `gen`, tag included.
  struct Raw {
    GenId gen;
    bool whiteout;
    std::string_view data;
  };
  Result<std::optional<Raw>> Find(const KvScope& scope, std::string_view logical, GenId gen) const;
  Status Record(WriteScope& scope, std::string_view logical, GenId gen, const std::string& value);

  Table table_;
  const GenerationTree& tree_;
};

}  // namespace hoodyfs::index
