#include "snapshotter/engine/changes_between.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "index/keys.h"
#include "snapshotter/engine/changelog.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

using index::Table;

Result<GenerationPath> PathBetween(Store& store, GenId a, GenId b, const std::string& reason) {
  StoreInternals internals(store);
  GenerationPath out;
  // The tree is read and the pins taken under one scope: garbage collection
  // checks pins inside its write scopes, so nothing on the path can be
  // merged or reclaimed between the two.
  index::ReadScope s(internals.kv());
  const index::GenerationTree& tree = internals.tree();
  for (GenId g : {a, b}) {
    if (!tree.Contains(g)) return Status::NotFound("generation " + std::to_string(g.value));
  }
  GenId x = a, y = b;
  while (x.valid() && y.valid() && x != y) {
    if (tree.Depth(x) >= tree.Depth(y)) {
      out.gens.push_back(x);
      x = tree.Parent(x);
    } else {
      out.gens.push_back(y);
      y = tree.Parent(y);
    }
  }
  // No common ancestor: both whole lineages.
  if (x != y) {
    for (; x.valid(); x = tree.Parent(x)) out.gens.push_back(x);
    for (; y.valid(); y = tree.Parent(y)) out.gens.push_back(y);
  }
  out.pins.reserve(out.gens.size() + 2);
  for (GenId g : out.gens) out.pins.push_back(store.PinGeneration(g, reason));
  out.pins.push_back(store.PinGeneration(a, reason));
  out.pins.push_back(store.PinGeneration(b, reason));
  return out;
}

namespace {
constexpr size_t kLogBatch = 1024;  // change-log entries read per scope

struct NameHash {
  size_t operator()(const std::pair<uint64_t, std::string>& k) const {
    return std::hash<std::string>()(k.second) * 31 + std::hash<uint64_t>()(k.first);
  }
};
}  // namespace

Result<std::optional<ChangedKeys>> ChangedBetween(Store& store, GenId a, GenId b,
                                                  uint64_t max_records) {
  HOODY_ASSIGN_OR_RETURN(GenerationPath path, PathBetween(store, a, b, "restore invalidation"));
  StoreInternals internals(store);
  ChangedKeys out;
  std::unordered_set<uint64_t> inodes;
  std::unordered_set<std::pair<uint64_t, std::string>, NameHash> names;
  for (GenId g : path.gens) {
    ChangeLogCursor cursor(g);
    while (!cursor.done()) {
      // One more than the budget allows, so going over it is seen.
      const uint64_t left = max_records - std::min(max_records, out.records_read);
      const size_t want = left < kLogBatch ? static_cast<size_t>(left) + 1 : kLogBatch;
      std::vector<ChangedKey> batch;
      {
        index::ReadScope s(internals.kv());
        HOODY_ASSIGN_OR_RETURN(batch, cursor.Next(s, want));
      }
      out.records_read += batch.size();
      if (out.records_read > max_records) return std::optional<ChangedKeys>();
      for (const ChangedKey& c : batch) {
        // Every versioned key starts with the inode (or the directory) it
        // belongs to.
        if (c.logical.size() < 8) return Status::Corruption("short versioned key in a change log");
        const uint64_t owner = GetBig64(c.logical.data());
        inodes.insert(owner);
        if (c.table == Table::kDirents) {
          if (c.logical.size() < 9 || c.logical.back() != '\0') {
            return Status::Corruption("malformed directory-entry key in a change log");
          }
          names.emplace(owner, c.logical.substr(8, c.logical.size() - 9));
        }
      }
    }
  }
  out.inodes.reserve(inodes.size());
  for (uint64_t ino : inodes) out.inodes.push_back(Ino(ino));
  std::sort(out.inodes.begin(), out.inodes.end());
  out.names.reserve(names.size());
  for (const auto& [parent, name] : names) out.names.emplace_back(Ino(parent), name);
  std::sort(out.names.begin(), out.names.end());
  return std::optional<ChangedKeys>(std::move(out));
}

}  // namespace hoodyfs::snapshotter
