#include "snapshotter/engine/changelog.h"

#include "index/keys.h"

namespace hoodyfs::snapshotter {

ChangeLogCursor::ChangeLogCursor(GenId gen)
    : gen_(gen),
      next_(index::ChangeLogPrefix(gen)),
      end_(index::ChangeLogPrefix(GenId(gen.value + 1))) {}

Result<std::vector<ChangedKey>> ChangeLogCursor::Next(const index::KvScope& scope, size_t max) {
  std::vector<ChangedKey> out;
  if (done_) return out;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, scope.NewIterator(index::Table::kChangeLog));
  it.SetUpperBound(end_);
  for (it.Seek(next_); it.Valid() && out.size() < max; it.Next()) {
    const std::string_view key = it.key();
    if (key.size() < 10) return Status::Corruption("short change-log key");
    const auto table = static_cast<index::Table>(key[8]);
    if (!index::IsVersioned(table)) {
      return Status::Corruption("change-log entry of generation " + std::to_string(gen_.value) +
                                " names an unversioned table");
    }
    out.push_back(ChangedKey{table, std::string(key.substr(9))});
    next_.assign(key);
    next_.push_back('\0');  // the smallest key after this one
  }
  HOODY_RETURN_IF_ERROR(it.status());
  if (out.size() < max) done_ = true;
  return out;
}

}  // namespace hoodyfs::snapshotter
