// Reading a generation's change log: the (table, logical key) of every
// versioned record the generation wrote itself (docs/format.md,
// "changelog"). Diff, accounting and garbage collection all walk it, so
// their cost follows what a generation changed, not what the container holds.
//
// ChangeLogCursor reads in batches, each under a scope the caller holds
// only for that batch: long walks never pin one LMDB read transaction or
// hold the state lock for their whole length.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/kv_store.h"
#include "index/schema.h"

namespace hoodyfs::snapshotter {

struct ChangedKey {
  index::Table table;
  std::string logical;  // the versioned key without its generation suffix
};

class ChangeLogCursor {
 public:
  explicit ChangeLogCursor(GenId gen);

  // The next up to `max` entries, in key order. Empty once done().
  // Errors: kCorruption (an entry naming an unversioned table), kIoError.
  Result<std::vector<ChangedKey>> Next(const index::KvScope& scope, size_t max);
  bool done() const { return done_; }

 private:
  GenId gen_;
  std::string next_;  // smallest change-log key not yet read
  std::string end_;   // first key past this generation's entries
  bool done_ = false;
};

}  // namespace hoodyfs::snapshotter
