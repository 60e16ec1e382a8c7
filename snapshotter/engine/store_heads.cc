// Store: containers, their heads and the generations: the records of both,
// the in-memory head map and generation tree, and freeze and branch.
#include <optional>
#include <utility>

#include "base/test_hook.h"
#include "index/keys.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/names.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::ContainerRecord;
using index::GenerationRecord;
using index::GenState;
using index::InodeRecord;
using index::KvScope;
using index::ReadScope;
using index::Table;
using index::WriteScope;

namespace {
int64_t ToNs(index::Timespec t) { return t.sec * 1000000000 + t.nsec; }
}  // namespace

void Store::PutGeneration(WriteScope& scope, GenId gen, const GenerationRecord& rec) {
  scope.Put(Table::kGenerations, index::GenerationKey(gen), rec.Encode());
}

Result<ContainerRecord> Store::GetContainer(const KvScope& scope, const std::string& name) const {
  HOODY_ASSIGN_OR_RETURN(auto v, scope.Get(Table::kContainers, name));
  if (!v) return Status::NotFound("no container named '" + name + "'");
  return ContainerRecord::Decode(*v);
}

Result<Store::HeadInfo> Store::CurrentHeadInfo(const std::string& container) const {
  auto it = heads_.find(container);
  if (it == heads_.end()) return Status::NotFound("no container named '" + container + "'");
  return it->second;
}

Result<GenId> Store::CurrentHead(const std::string& container) const {
  HOODY_ASSIGN_OR_RETURN(HeadInfo info, CurrentHeadInfo(container));
  return info.gen;
}

void Store::SetHead(WriteScope& scope, const std::string& container, ContainerRecord rec,
                    bool new_lineage) {
  scope.Put(Table::kContainers, container, rec.Encode());
  auto previous = heads_.find(container);
  std::optional<HeadInfo> old;
  if (previous != heads_.end()) old = previous->second;
  const uint64_t lineage = new_lineage || !old ? next_lineage_++ : old->lineage;
  heads_[container] = HeadInfo{rec.head, lineage};
  scope.OnRollback([this, container, old] {
    if (old) {
      heads_[container] = *old;
    } else {
      heads_.erase(container);
    }
  });
}

Status Store::CreateRoot(WriteScope& scope, GenId gen) {
  InodeRecord root;
  root.mode = 040755;
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = Now();
  root.btime = root.ctime;
  Meta meta(tree_, allocator_);
  return meta.PutInode(scope, gen, kRootIno, root);
}

void Store::AddToTree(WriteScope& scope, GenId gen, GenId parent) {
  tree_.Add(gen, parent);
  scope.OnRollback([this, gen] { tree_.Remove(gen); });
}

Result<GenerationRecord> Store::GetGeneration(const KvScope& scope, GenId gen) const {
  HOODY_ASSIGN_OR_RETURN(auto v, scope.Get(Table::kGenerations, index::GenerationKey(gen)));
  if (!v) return Status::Corruption("generation " + std::to_string(gen.value) + " has no record");
  return GenerationRecord::Decode(*v);
}

Status Store::SetGenerationState(WriteScope& scope, GenId gen, GenState state) {
  HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GetGeneration(scope, gen));
  rec.state = state;
  PutGeneration(scope, gen, rec);
  return Status::OK();
}

Status Store::CreateContainerIn(WriteScope& s, const std::string& name, GenId from,
                                ContainerRecord record) {
  HOODY_RETURN_IF_ERROR(ValidateContainerName(name));
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  HOODY_ASSIGN_OR_RETURN(auto existing, s.Get(Table::kContainers, name));
  if (existing) return Status::Exists("container '" + name + "' already exists");
  if (from.valid() && !tree_.Contains(from)) {
    return Status::NotFound("generation " + std::to_string(from.value));
  }
  const index::Timespec now = Now();
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{from, GenState::kHead, name, ToNs(now)});
  AddToTree(s, head, from);
  if (!from.valid()) HOODY_RETURN_IF_ERROR(CreateRoot(s, head));
  record.head = head;
  record.created_ns = ToNs(now);
  SetHead(s, name, std::move(record), /*new_lineage=*/true);
  return Status::OK();
}

Status Store::RemoveContainerIn(WriteScope& s, const std::string& name) {
  HOODY_RETURN_IF_ERROR(DropReservations(s, name));
  s.Delete(Table::kContainers, name);
  auto it = heads_.find(name);
  if (it == heads_.end()) return Status::OK();
  const HeadInfo old = it->second;
  heads_.erase(it);
  s.OnRollback([this, name, old] { heads_[name] = old; });
  return Status::OK();
}

Status Store::CreateContainer(const std::string& name, GenId from) {
  {
    WriteScope s(*kv_);
    HOODY_RETURN_IF_ERROR(CreateContainerIn(s, name, from, ContainerRecord{}));
    s.Commit();
  }
  return CommitPending();
}

std::vector<std::string> Store::ListContainers() const {
  std::vector<std::string> names;
  ReadScope s(*kv_);
  auto it = s.NewIterator(Table::kContainers);
  if (!it.ok()) return names;
  for (it->Seek(""); it->Valid(); it->Next()) names.emplace_back(it->key());
  return names;
}

Result<GenId> Store::HeadOf(const std::string& container) const {
  ReadScope s(*kv_);
  return CurrentHead(container);
}

Result<GenerationInfo> Store::Generation(GenId gen) const {
  ReadScope s(*kv_);
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kGenerations, index::GenerationKey(gen)));
  if (!v) return Status::NotFound("generation " + std::to_string(gen.value));
  HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(*v));
  return GenerationInfo{gen, rec.parent, rec.state, rec.container, rec.created_ns};
}

Result<GenId> Store::FreezeIn(WriteScope& s, const std::string& container) {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_ASSIGN_OR_RETURN(ContainerRecord c, GetContainer(s, container));
  const GenId frozen = c.head;
  HOODY_RETURN_IF_ERROR(SetGenerationState(s, frozen, GenState::kFrozen));
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{frozen, GenState::kHead, container, ToNs(Now())});
  AddToTree(s, head, frozen);
  c.head = head;
  SetHead(s, container, std::move(c), /*new_lineage=*/false);
  return frozen;
}

Result<GenId> Store::BranchIn(WriteScope& s, const std::string& container, GenId from) {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_ASSIGN_OR_RETURN(ContainerRecord c, GetContainer(s, container));
  if (!tree_.Contains(from)) return Status::NotFound("generation " + std::to_string(from.value));
  // The new head replaces the old one's files, and with them their
  // reservations; a freeze keeps them (the head goes on with its files).
  HOODY_RETURN_IF_ERROR(DropReservations(s, container));
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{from, GenState::kHead, container, ToNs(Now())});
  AddToTree(s, head, from);
  c.head = head;
  SetHead(s, container, std::move(c), /*new_lineage=*/true);
  return head;
}

Result<GenId> Store::Freeze(const std::string& container) {
  GenId frozen;
  {
    WriteScope s(*kv_);
    HOODY_ASSIGN_OR_RETURN(frozen, FreezeIn(s, container));
    s.Commit();
  }
  HOODY_TEST_HOOK("store.freeze.before_flush");
  // The freeze and every write before it become durable together.
  HOODY_RETURN_IF_ERROR(CommitPending());
  return frozen;
}

Result<GenId> Store::Branch(const std::string& container, GenId from) {
  GenId head;
  {
    WriteScope s(*kv_);
    HOODY_ASSIGN_OR_RETURN(GenId old_head, CurrentHead(container));
    HOODY_ASSIGN_OR_RETURN(head, BranchIn(s, container, from));
    // The replaced head stays readable as it was: nothing writes it again.
    HOODY_RETURN_IF_ERROR(SetGenerationState(s, old_head, GenState::kFrozen));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(CommitPending());
  return head;
}

Result<FileSystem> Store::Head(const std::string& container) {
  HOODY_RETURN_IF_ERROR(HeadOf(container).status());
  return FileSystem(this, container, GenId());
}

Result<FileSystem> Store::AtGeneration(GenId gen) {
  {
    ReadScope s(*kv_);
    if (!tree_.Contains(gen)) return Status::NotFound("generation " + std::to_string(gen.value));
  }
  return FileSystem(this, std::nullopt, gen);
}

}  // namespace hoodyfs::snapshotter
