#include "snapshotter/verbs/name_index.h"

#include "base/assert.h"
#include "index/keys.h"
#include "index/schema.h"

namespace hoodyfs::snapshotter {

using index::SnapshotRecord;
using index::Table;

Status NameIndex::Load(const index::KvScope& s) {
  MutexLock l(mu_);
  by_gen_.clear();
  by_container_.clear();
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
  for (it.Seek(""); it.Valid(); it.Next()) {
    const std::string_view key = it.key();
    const size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return Status::Corruption("snapshot key without container");
    HOODY_ASSIGN_OR_RETURN(SnapshotRecord rec, SnapshotRecord::Decode(it.value()));
    const std::string_view container = key.substr(0, nul);
    const std::string_view name = key.substr(nul + 1);
    by_gen_[rec.gen.value] = Name{std::string(container), std::string(name)};
    Index(container, name, rec.created_ns);
  }
  return it.status();
}

void NameIndex::Put(index::WriteScope& s, std::string_view container, std::string_view name,
                    const SnapshotRecord& rec, std::string_view old_alias) {
  if (old_alias != rec.alias && !old_alias.empty()) {
    s.Delete(Table::kAliases, index::AliasKey(container, old_alias));
  }
  if (!rec.alias.empty()) s.Put(Table::kAliases, index::AliasKey(container, rec.alias), name);
  s.Put(Table::kSnapshots, index::SnapshotKey(container, name), rec.Encode());
  s.OnCommit([this, gen = rec.gen, created_ns = rec.created_ns,
              entry = Name{std::string(container), std::string(name)}](index::WriteScope&) {
    MutexLock l(mu_);
    by_gen_[gen.value] = entry;
    Index(entry.container, entry.name, created_ns);
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
    Unindex(gone.container, gone.name);
  });
}

std::optional<NameIndex::Name> NameIndex::Find(GenId gen) const {
  MutexLock l(mu_);
  auto it = by_gen_.find(gen.value);
  if (it == by_gen_.end()) return std::nullopt;
  return it->second;
}

Result<NameIndex::NamePage> NameIndex::Page(std::string_view container,
                                            const catalog::ListStart& after, size_t limit) const {
  HOODY_ASSERT(limit > 0, "a page of no snapshots");
  NamePage page;
  MutexLock l(mu_);
  auto c = by_container_.find(container);
  const CreationOrder* order = c == by_container_.end() ? nullptr : &c->second;
  std::optional<int64_t> created = after.created_ns;
  if (!after.name.empty() && !created) {  // a bare name: where is it now?
    auto unknown = [&] {
      return Status::InvalidArgument("after: container '" + std::string(container) +
                                     "' has no snapshot named '" + after.name + "'");
    };
    if (!order) return unknown();
    auto named = order->created_of.find(after.name);
    if (named == order->created_of.end()) return unknown();
    created = named->second;
  }
  if (!order) return page;
  auto it = after.name.empty() ? order->by_created.begin()
                               : order->by_created.upper_bound({*created, after.name});
  int64_t last_created = 0;
  for (; it != order->by_created.end() && page.names.size() < limit; ++it) {
    page.names.push_back(it->second);
    last_created = it->first;
  }
  if (it != order->by_created.end()) {
    page.next = catalog::ListPosition(page.names.back(), last_created);
  }
  return page;
}

void NameIndex::Index(std::string_view container, std::string_view name, int64_t created_ns) {
  auto c = by_container_.find(container);
  if (c == by_container_.end())
    c = by_container_.emplace(std::string(container), CreationOrder{}).first;
  CreationOrder& order = c->second;
  auto [at, inserted] = order.created_of.try_emplace(std::string(name), created_ns);
  if (!inserted) {  // a rewritten record: its time may have changed
    if (at->second == created_ns) return;
    order.by_created.erase({at->second, std::string(name)});
    at->second = created_ns;
  }
  order.by_created.emplace(created_ns, std::string(name));
}

void NameIndex::Unindex(std::string_view container, std::string_view name) {
  auto c = by_container_.find(container);
  if (c == by_container_.end()) return;
  CreationOrder& order = c->second;
  auto at = order.created_of.find(std::string(name));
  if (at == order.created_of.end()) return;
  order.by_created.erase({at->second, std::string(name)});
  order.created_of.erase(at);
  if (order.created_of.empty()) by_container_.erase(c);
}

}  // namespace hoodyfs::snapshotter
