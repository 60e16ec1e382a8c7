#include "snapshotter/verbs/name_index.h"

#include "index/keys.h"
#include "index/schema.h"

namespace hoodyfs::snapshotter {

using index::SnapshotRecord;
using index::Table;

Status NameIndex::Load(const index::KvScope& s) {
  std::unordered_map<uint64_t, Name> loaded;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view key = it.key();
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return Status::Corruption("snapshot key without container");
    HOODY_ASSIGN_OR_RETURN(SnapshotRecord rec, SnapshotRecord::Decode(it.value()));
    loaded[rec.gen.value] = Name{std::string(key.substr(0, nul)), std::string(key.substr(nul + 1))};
  }
  HOODY_RETURN_IF_ERROR(it.status());
  MutexLock l(mu_);
  by_gen_ = std::move(loaded);
  return Status::OK();
}

void NameIndex::Put(index::WriteScope& s, std::string_view container, std::string_view name,
                    const SnapshotRecord& rec, std::string_view old_alias) {
  if (old_alias != rec.alias && !old_alias.empty()) {
    s.Delete(Table::kAliases, index::AliasKey(container, old_alias));
  }
  if (!rec.alias.empty()) s.Put(Table::kAliases, index::AliasKey(container, rec.alias), name);
  s.Put(Table::kSnapshots, index::SnapshotKey(container, name), rec.Encode());
  s.OnCommit([this, gen = rec.gen,
              entry = Name{std::string(container), std::string(name)}](index::WriteScope&) {
    MutexLock l(mu_);
    by_gen_[gen.value] = entry;
  });
}

void NameIndex::Erase(index::WriteScope& s, std::string_view container,
                      const catalog::Entry& entry) {
  if (!entry.record.alias.empty()) {
    s.Delete(Table::kAliases, index::AliasKey(container, entry.record.alias));
  }
  s.Delete(Table::kSnapshots, index::SnapshotKey(container, entry.name));
  s.OnCommit([this, gen = entry.record.gen,
              gone = Name{std::string(container), entry.name}](index::WriteScope&) {
    MutexLock l(mu_);
    auto it = by_gen_.find(gen.value);
    if (it != by_gen_.end() && it->second.container == gone.container &&
        it->second.name == gone.name) {
      by_gen_.erase(it);
    }
  });
}

std::optional<NameIndex::Name> NameIndex::Find(GenId gen) const {
  MutexLock l(mu_);
  auto it = by_gen_.find(gen.value);
  if (it == by_gen_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hoodyfs::snapshotter
