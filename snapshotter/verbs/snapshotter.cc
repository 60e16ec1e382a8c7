#include "snapshotter/verbs/snapshotter.h"

#include <cstdio>

#include "base/log.h"
#include "index/keys.h"
#include "snapshotter/engine/changelog.h"
#include "snapshotter/engine/names.h"
#include "snapshotter/verbs/accounting.h"
#include "snapshotter/verbs/catalog.h"

namespace hoodyfs::snapshotter {

using index::ContainerRecord;
using index::GenState;
using index::KvScope;
using index::ReadScope;
using index::SnapshotRecord;
using index::Table;
using index::WriteScope;

namespace {
constexpr int64_t kPreRestoreExpiryDays = 7;

Status InUse(const std::string& container, const std::string& name, const std::string& reason) {
  return Status::Busy("snapshot " + name + " of container '" + container + "' is in use (" +
                      reason + ")");
}

}  // namespace

Snapshotter::Snapshotter(std::unique_ptr<Store> store)
    : store_(std::move(store)), internals_(*store_) {}

Result<std::unique_ptr<Snapshotter>> Snapshotter::Open(const std::string& dir,
                                                       StoreOptions options) {
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(dir, std::move(options)));
  std::unique_ptr<Snapshotter> snap(new Snapshotter(std::move(store)));
  {
    ReadScope s(snap->internals_.kv());
    HOODY_RETURN_IF_ERROR(snap->names_.Load(s));
  }
  HOODY_RETURN_IF_ERROR(snap->ExpireSnapshots().status());
  // A scratch left behind costs space only: a store that cannot remove it
  // now (full, read-only) still opens.
  if (Status st = snap->RemoveInterruptedReceives(); !st.ok()) {
    Log(LogLevel::kWarning, "could not remove an interrupted receive: " + st.ToString());
  }
  return snap;
}

void Snapshotter::SetHooks(SnapshotterHooks hooks) {
  MutexLock l(hooks_mu_);
  hooks_ = std::move(hooks);
}

SnapshotterHooks Snapshotter::Hooks() {
  MutexLock l(hooks_mu_);
  return hooks_;
}

Status Snapshotter::SyncContainer(const std::string& container) {
  SnapshotterHooks hooks = Hooks();
  if (!hooks.sync_container) return Status::OK();
  return hooks.sync_container(container);
}

int64_t Snapshotter::NowNs() const {
  const index::Timespec t = internals_.Now();
  return t.sec * 1000000000 + t.nsec;
}

// ---- containers ----

Result<ContainerInfo> Snapshotter::DescribeContainer(const KvScope& s, const std::string& name,
                                                     const ContainerRecord& rec) {
  HOODY_ASSIGN_OR_RETURN(std::vector<catalog::Entry> snaps, catalog::List(s, name));
  return ContainerInfo{name, rec.head, rec.created_ns, rec.origin, rec.project, snaps.size()};
}

Result<ContainerInfo> Snapshotter::CreateContainer(const std::string& name) {
  HOODY_RETURN_IF_ERROR(store_->CreateContainer(name));
  return GetContainer(name);
}

std::vector<ContainerInfo> Snapshotter::ListContainers() {
  std::vector<ContainerInfo> out;
  ReadScope s(internals_.kv());
  auto it = s.NewIterator(Table::kContainers);
  if (!it.ok()) return out;
  for (it->Seek(""); it->Valid(); it->Next()) {
    auto rec = ContainerRecord::Decode(it->value());
    if (!rec.ok()) continue;
    auto info = DescribeContainer(s, std::string(it->key()), *rec);
    if (info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

Result<ContainerInfo> Snapshotter::GetContainer(const std::string& name) {
  ReadScope s(internals_.kv());
  HOODY_ASSIGN_OR_RETURN(ContainerRecord rec, internals_.GetContainer(s, name));
  return DescribeContainer(s, name, rec);
}

Status Snapshotter::DeleteContainer(const std::string& name) {
  SnapshotterHooks hooks = Hooks();
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, name).status());
  }
  if (hooks.before_container_delete) HOODY_RETURN_IF_ERROR(hooks.before_container_delete(name));
  HOODY_RETURN_IF_ERROR(internals_.CheckWritable());
  {
    WriteScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(ContainerRecord rec, internals_.GetContainer(s, name));
    if (auto why = store_->PinnedBy(rec.head)) {
      return Status::Busy("container '" + name + "' is in use (" + *why + ")");
    }
    HOODY_ASSIGN_OR_RETURN(std::vector<catalog::Entry> snaps, catalog::List(s, name));
    for (const catalog::Entry& e : snaps) {
      if (auto why = store_->PinnedBy(e.record.gen)) return InUse(name, e.name, *why);
    }
    for (const catalog::Entry& e : snaps) {
      names_.Erase(s, name, e);
      HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, e.record.gen, GenState::kDropped));
    }
    HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, rec.head, GenState::kDropped));
    HOODY_RETURN_IF_ERROR(internals_.RemoveContainerIn(s, name));
    s.Commit();
  }
  return store_->Flush();
}

Result<ContainerInfo> Snapshotter::CopyContainer(const std::string& container,
                                                 const std::string& snapshot,
                                                 const std::string& new_name,
                                                 const std::string& project) {
  HOODY_RETURN_IF_ERROR(ValidateContainerName(new_name));
  {
    WriteScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(catalog::Entry e, catalog::MustFind(s, container, snapshot));
    ContainerRecord rec;
    rec.origin = container + "@" + e.name;
    rec.project = project;
    HOODY_RETURN_IF_ERROR(internals_.CreateContainerIn(s, new_name, e.record.gen, std::move(rec)));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(store_->Flush());
  return GetContainer(new_name);
}

// ---- snapshots ----

Result<bool> Snapshotter::HeadHoldsSomethingToKeep(const index::KvScope& s, GenId head) {
  // A head that wrote nothing of its own is its parent, record for record:
  // if that parent is a snapshot, which keeps it, nothing would be lost.
  ChangeLogCursor own(head);
  HOODY_ASSIGN_OR_RETURN(std::vector<ChangedKey> first, own.Next(s, 1));
  if (!first.empty()) return true;
  const GenId parent = internals_.tree().Parent(head);
  if (!parent.valid()) return true;
  if (names_.Find(parent)) return false;
  return true;  // the parent's name was deleted: the head is what keeps it
}

Result<SnapshotInfo> Snapshotter::Describe(const std::string& container, const std::string& name,
                                           const SnapshotRecord& rec, bool with_accounting) {
  SnapshotInfo info;
  info.container = container;
  info.name = name;
  info.alias = rec.alias;
  info.gen = rec.gen;
  info.created_ns = rec.created_ns;
  info.expires_ns = rec.expires_ns;
  info.guid = rec.guid;
  {
    ReadScope s(internals_.kv());
    const index::GenerationTree& tree = internals_.tree();
    if (tree.Contains(rec.gen)) {
      for (GenId g = tree.Parent(rec.gen); g.valid(); g = tree.Parent(g)) {
        std::optional<NameIndex::Name> named = names_.Find(g);
        if (!named) continue;
        info.parent =
            named->container == container ? named->name : named->container + "@" + named->name;
        break;
      }
    }
  }
  if (with_accounting) {
    HOODY_ASSIGN_OR_RETURN(index::GenerationStats st, Accounting(*store_).Stats(rec.gen));
    info.referenced_bytes = st.referenced_bytes;
    info.written_bytes = st.written_bytes;
  }
  return info;
}

Result<SnapshotInfo> Snapshotter::CreateSnapshot(const std::string& container,
                                                 const CreateSnapshotRequest& request) {
  if (!request.alias.empty()) HOODY_RETURN_IF_ERROR(catalog::ValidateAlias(request.alias));
  if (request.expiry_days) HOODY_RETURN_IF_ERROR(catalog::ValidateExpiryDays(*request.expiry_days));
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
  }
  // A snapshot keeps what later deletes would free: none while full.
  HOODY_RETURN_IF_ERROR(store_->CheckRoomToGrow());
  // Every write that returned before this call belongs in the snapshot.
  HOODY_RETURN_IF_ERROR(SyncContainer(container));
  std::string name;
  SnapshotRecord rec;
  {
    WriteScope s(internals_.kv());
    const int64_t now = NowNs();
    if (!request.alias.empty()) {
      HOODY_RETURN_IF_ERROR(catalog::CheckAliasFree(s, container, request.alias));
    }
    HOODY_ASSIGN_OR_RETURN(name, catalog::NewName(s, container, now));
    HOODY_ASSIGN_OR_RETURN(rec.gen, internals_.FreezeIn(s, container));
    rec.alias = request.alias;
    rec.created_ns = now;
    rec.expires_ns = request.expiry_days ? catalog::ExpiryFrom(now, *request.expiry_days) : 0;
    rec.guid = catalog::NewGuid();
    names_.Put(s, container, name, rec);
    s.Commit();
  }
  // The freeze, its name and every write before it become durable together:
  // in one metadata log record after the data file's sync (Store::Sync), not
  // a commit of the whole memtable, whose LMDB syncs a streaming writer's
  // disk traffic makes slow (docs/design.md, "Writeback starts before the
  // commit"). Unasked, the next sync of anything carries them: Store::Sync
  // and the group commit make everything done so far durable, never a part.
  if (request.sync) HOODY_RETURN_IF_ERROR(store_->Sync());
  return Describe(container, name, rec, /*with_accounting=*/false);
}

Result<std::vector<SnapshotInfo>> Snapshotter::ListSnapshots(const std::string& container) {
  std::vector<catalog::Entry> entries;
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(entries, catalog::List(s, container));
  }
  std::vector<SnapshotInfo> out;
  for (const catalog::Entry& e : entries) {
    HOODY_ASSIGN_OR_RETURN(SnapshotInfo info, Describe(container, e.name, e.record, true));
    out.push_back(std::move(info));
  }
  return out;
}

Result<SnapshotPage> Snapshotter::ListSnapshots(const std::string& container,
                                                const ListPage& page) {
  HOODY_RETURN_IF_ERROR(catalog::ValidatePageLimit("limit", page.limit));
  HOODY_ASSIGN_OR_RETURN(const catalog::ListStart start,
                         catalog::ParseListStart("after", page.after));
  std::vector<catalog::Entry> entries;
  SnapshotPage out;
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(NameIndex::NamePage names,
                           names_.Page(container, start, static_cast<size_t>(page.limit)));
    entries.reserve(names.names.size());
    for (const std::string& name : names.names) {
      HOODY_ASSIGN_OR_RETURN(catalog::Entry e, catalog::GetIndexed(s, container, name));
      entries.push_back(std::move(e));
    }
    out.next = std::move(names.next);
  }
  out.snapshots.reserve(entries.size());
  for (const catalog::Entry& e : entries) {
    HOODY_ASSIGN_OR_RETURN(SnapshotInfo info, Describe(container, e.name, e.record, true));
    out.snapshots.push_back(std::move(info));
  }
  return out;
}

Result<SnapshotInfo> Snapshotter::GetSnapshot(const std::string& container,
                                              const std::string& name) {
  catalog::Entry e;
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(e, catalog::MustFind(s, container, name));
  }
  return Describe(container, e.name, e.record, /*with_accounting=*/true);
}

Result<uint64_t> Snapshotter::ExclusiveBytes(const std::string& container,
                                             const std::string& name) {
  GenId gen;
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(catalog::Entry e, catalog::MustFind(s, container, name));
    gen = e.record.gen;
  }
  return Accounting(*store_).ExclusiveBytes(gen);
}

Result<SnapshotInfo> Snapshotter::SetSnapshot(const std::string& container, const std::string& name,
                                              const SetSnapshotRequest& request) {
  if (request.alias && !request.alias->empty()) {
    HOODY_RETURN_IF_ERROR(catalog::ValidateAlias(*request.alias));
  }
  if (request.expiry_days && *request.expiry_days != 0) {
    HOODY_RETURN_IF_ERROR(catalog::ValidateExpiryDays(*request.expiry_days));
  }
  HOODY_RETURN_IF_ERROR(internals_.CheckWritable());
  catalog::Entry e;
  {
    WriteScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(e, catalog::MustFind(s, container, name));
    const std::string old_alias = e.record.alias;
    if (request.alias) {
      if (!request.alias->empty()) {
        HOODY_RETURN_IF_ERROR(catalog::CheckAliasFree(s, container, *request.alias, e.name));
      }
      e.record.alias = *request.alias;
    }
    if (request.expiry_days) {
      e.record.expires_ns =
          *request.expiry_days == 0 ? 0 : catalog::ExpiryFrom(NowNs(), *request.expiry_days);
    }
    names_.Put(s, container, e.name, e.record, old_alias);
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(store_->Flush());
  return Describe(container, e.name, e.record, /*with_accounting=*/false);
}

Result<GenId> Snapshotter::ReplaceHeadIn(
    WriteScope& s, const std::string& container, GenId from, const RestoreRequest& request,
    std::optional<std::pair<std::string, SnapshotRecord>>* saved) {
  HOODY_ASSIGN_OR_RETURN(const GenId old_head, internals_.CurrentHead(container));
  const int64_t now = NowNs();
  HOODY_ASSIGN_OR_RETURN(bool keep_head, HeadHoldsSomethingToKeep(s, old_head));
  keep_head = keep_head && !request.discard_head;
  HOODY_ASSIGN_OR_RETURN(const GenId new_head, internals_.BranchIn(s, container, from));
  if (!keep_head) {
    HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, old_head, GenState::kDropped));
    return new_head;
  }
  HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, old_head, GenState::kFrozen));
  SnapshotRecord rec;
  rec.gen = old_head;
  rec.created_ns = now;
  rec.expires_ns = catalog::ExpiryFrom(now, kPreRestoreExpiryDays);
  rec.guid = catalog::NewGuid();
  const std::string base = "pre-restore-" + catalog::UtcStamp(now);
  rec.alias = base;
  for (int n = 2; !catalog::CheckAliasFree(s, container, rec.alias).ok(); ++n) {
    rec.alias = base + "-" + std::to_string(n);
  }
  HOODY_ASSIGN_OR_RETURN(std::string saved_name, catalog::NewName(s, container, now));
  names_.Put(s, container, saved_name, rec);
  saved->emplace(saved_name, rec);
  return new_head;
}

Result<RestoreResult> Snapshotter::Restore(const std::string& container, const std::string& name,
                                           const RestoreRequest& request) {
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_RETURN_IF_ERROR(catalog::MustFind(s, container, name).status());
  }
  // The head that the restore keeps as a snapshot must hold every write.
  if (!request.discard_head) HOODY_RETURN_IF_ERROR(SyncContainer(container));
  RestoreResult result;
  std::optional<std::pair<std::string, SnapshotRecord>> saved;
  GenId old_head;
  // Keeps the replaced head's change log until the hook has read what
  // differs (a discarded head is dropped by this very scope). Taken inside
  // the scope: garbage collection checks pins inside its own.
  Store::Pin old_head_pin;
  {
    WriteScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(catalog::Entry target, catalog::MustFind(s, container, name));
    HOODY_ASSIGN_OR_RETURN(old_head, internals_.CurrentHead(container));
    old_head_pin = store_->PinGeneration(old_head, "restore");
    HOODY_ASSIGN_OR_RETURN(result.new_head,
                           ReplaceHeadIn(s, container, target.record.gen, request, &saved));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(store_->Flush());
  if (SnapshotterHooks hooks = Hooks(); hooks.after_head_change) {
    hooks.after_head_change(HeadChange{container, old_head, result.new_head});
  }
  old_head_pin = Store::Pin();
  if (saved) {
    HOODY_ASSIGN_OR_RETURN(SnapshotInfo info,
                           Describe(container, saved->first, saved->second, false));
    result.saved_head = std::move(info);
  }
  return result;
}

Status Snapshotter::DeleteSnapshot(const std::string& container, const std::string& name) {
  HOODY_RETURN_IF_ERROR(internals_.CheckWritable());
  {
    WriteScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(catalog::Entry e, catalog::MustFind(s, container, name));
    if (auto why = store_->PinnedBy(e.record.gen)) return InUse(container, e.name, *why);
    names_.Erase(s, container, e);
    HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, e.record.gen, GenState::kDropped));
    s.Commit();
  }
  return store_->Flush();
}

// ---- diff ----

Result<GenId> Snapshotter::ResolveEndpoint(const std::string& container, const std::string& spec,
                                           std::string* label) {
  std::string owner = container;
  std::string snapshot = spec;
  if (const size_t at = spec.find('@'); at != std::string::npos) {
    owner = spec.substr(0, at);
    snapshot = spec.substr(at + 1);
  }
  *label = snapshot.empty() ? owner + "@(head)" : owner + "@" + snapshot;
  if (snapshot.empty()) HOODY_RETURN_IF_ERROR(SyncContainer(owner));
  ReadScope s(internals_.kv());
  HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, owner).status());
  if (snapshot.empty()) return internals_.CurrentHead(owner);
  HOODY_ASSIGN_OR_RETURN(catalog::Entry e, catalog::MustFind(s, owner, snapshot));
  return e.record.gen;
}

Result<DiffResult> Snapshotter::Diff(const std::string& container, const std::string& from,
                                     const std::string& to, const DiffProgressFn& progress) {
  if (from.empty()) return Status::InvalidArgument("diff needs a snapshot to compare from");
  std::string from_label, to_label;
  HOODY_ASSIGN_OR_RETURN(GenId a, ResolveEndpoint(container, from, &from_label));
  HOODY_ASSIGN_OR_RETURN(GenId b, ResolveEndpoint(container, to, &to_label));
  return Differ(*store_).Diff(a, b, progress);
}

// ---- maintenance ----

Result<size_t> Snapshotter::ExpireSnapshots() {
  const int64_t now = NowNs();
  struct Expired {
    std::string container, name, alias;
  };
  std::vector<Expired> expired;
  {
    ReadScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
    for (it.Seek(""); it.Valid(); it.Next()) {
      HOODY_ASSIGN_OR_RETURN(SnapshotRecord rec, SnapshotRecord::Decode(it.value()));
      if (rec.expires_ns == 0 || rec.expires_ns > now) continue;
      const std::string_view key = it.key();
      const size_t nul = key.find('\0');
      expired.push_back(
          Expired{std::string(key.substr(0, nul)), std::string(key.substr(nul + 1)), rec.alias});
    }
    HOODY_RETURN_IF_ERROR(it.status());
  }
  size_t deleted = 0;
  for (const auto& [container, name, alias] : expired) {
    Status st = DeleteSnapshot(container, name);
    if (st.ok()) {
      ++deleted;
      // Never silent: a clock that jumped forward deletes snapshots too.
      Log(LogLevel::kInfo, "snapshot " + name + (alias.empty() ? "" : " (" + alias + ")") +
                               " of container " + container + " expired and was deleted");
    } else if (st.code() == Code::kBusy || st.code() == Code::kNotFound) {
      // In use: it goes at a later pass. Gone: someone deleted it meanwhile.
      continue;
    } else {
      return st;
    }
  }
  return deleted;
}

Result<GcStats> Snapshotter::CollectGarbage(const GcOptions& options,
                                            const GcProgressFn& progress) {
  std::lock_guard l(gc_mu_);
  HOODY_ASSIGN_OR_RETURN(size_t expired, ExpireSnapshots());
  HOODY_ASSIGN_OR_RETURN(GcStats stats, GarbageCollector(*store_).CollectAll(options, progress));
  stats.expired = expired;
  return stats;
}

}  // namespace hoodyfs::snapshotter
