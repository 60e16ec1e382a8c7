// NameIndex: the only writer of the snapshot catalog (catalog.h), and an
// in-memory index of it by generation: which snapshot, if any, names a
// frozen generation. A snapshot's description names its parent snapshot
// (the nearest named ancestor), and a restore asks whether the head's
// parent is still named; both once scanned the whole catalog, which made
// every create cost O(snapshots in the store): 0.08 ms for the first 100
// of 10,000 snapshots, 6 ms for the last 100 (issue 12).
//
// Consistency: Put and Erase change the catalog in the caller's write
// scope and the index when that scope commits (WriteScope::OnCommit, still
// under the store's state lock held exclusively; a scope that fails half
// way changes neither). Find is called under a scope. So a reader that
// holds a scope sees the index and the catalog agree. Lock order: the state lock,
// then mu_. Built once at open (Load): O(snapshots), like the catalog scan
// it replaces, once instead of per verb.
//
// It also keeps each container's snapshot names in creation order, so a
// page of a list (Page) finds its names without reading the catalog: the
// catalog's keys sort by name, and a name's second and -N suffix do not
// order snapshots the way their creation times do (snap-T-10 sorts before
// snap-T-2; a received snapshot keeps its sender's name and time). Kept in
// memory beside by_gen_, with no table of its own: nothing on disk changes.
//
// Thread-safety: every method may be called from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/types.h"
#include "index/kv_store.h"
#include "snapshotter/verbs/catalog.h"

namespace hoodyfs::snapshotter {

class NameIndex {
 public:
  struct Name {
    std::string container;
    std::string name;
  };

  // Indexes every snapshot of the store. Errors: kCorruption, kIoError.
  Status Load(const index::KvScope& s) EXCLUDES(mu_);

  // Writes the record, keeps the alias index in step (`old_alias`: the
  // alias the snapshot had before, "" for a new one) and indexes its
  // generation.
  void Put(index::WriteScope& s, std::string_view container, std::string_view name,
           const index::SnapshotRecord& rec, std::string_view old_alias = "") EXCLUDES(mu_);
  void Erase(index::WriteScope& s, std::string_view container, const catalog::Entry& entry)
      EXCLUDES(mu_);

  // The snapshot that names `gen`, or nullopt. REQUIRES: a scope held.
  std::optional<Name> Find(GenId gen) const EXCLUDES(mu_);

  struct NamePage {
    std::vector<std::string> names;  // oldest first
    // The position (catalog::ListPosition) of the last of `names` when
    // snapshots follow it; nullopt when this page ends the list.
    std::optional<std::string> next;
  };
  // Up to `limit` (> 0) names of the container's snapshots that follow
  // `after` in creation order (created_ns, then name): after a position,
  // after the snapshot of a bare name, or from the first. REQUIRES: a scope
  // held. Errors: kInvalidArgument naming a bare name the container has no
  // snapshot of.
  Result<NamePage> Page(std::string_view container, const catalog::ListStart& after,
                        size_t limit) const EXCLUDES(mu_);

 private:
  // One container's snapshots in creation order, and each name's key in it.
  struct CreationOrder {
    std::set<std::pair<int64_t, std::string>> by_created;
    std::unordered_map<std::string, int64_t> created_of;
  };
  void Index(std::string_view container, std::string_view name, int64_t created_ns) REQUIRES(mu_);
  void Unindex(std::string_view container, std::string_view name) REQUIRES(mu_);

  mutable Mutex mu_;
  std::unordered_map<uint64_t, Name> by_gen_ GUARDED_BY(mu_);
  std::map<std::string, CreationOrder, std::less<>> by_container_ GUARDED_BY(mu_);
};

}  // namespace hoodyfs::snapshotter
