// StoreInternals: the part of Store's inside that the snapshot verbs
// (snapshotter/verbs/: Snapshotter, GarbageCollector, Differ, Accounting)
// build on, named in one place instead of a friend declaration per verb. It
// is the one friend of Store outside the engine's own FileSystem and Fsck.
// Nothing else (fusefs, cli, transfer, tests) may use it: they have Store's
// public API.
//
// What it offers: the metadata store, the generation tree and the block
// allocator (guarded by the KvStore state lock: hold a scope while using the
// tree or the allocator), the records of containers and generations, and
// the steps of freeze, branch and container creation and removal inside a
// caller's WriteScope, so a verb and its catalog records commit as one. Each
// method is the Store member of the same name; see store.h for its contract.
//
// A cheap view: copyable, holds only the Store pointer. Thread-safety: that
// of the Store members it forwards to.
#pragma once

#include <string>
#include <utility>

#include "base/status.h"
#include "base/types.h"
#include "index/block_allocator.h"
#include "index/generation_tree.h"
#include "index/kv_store.h"
#include "index/records.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

class StoreInternals {
 public:
  explicit StoreInternals(Store& store) : store_(&store) {}

  index::KvStore& kv() const { return *store_->kv_; }
  index::GenerationTree& tree() const { return store_->tree_; }
  index::BlockAllocator& allocator() const { return store_->allocator_; }

  index::Timespec Now() const { return store_->Now(); }
  Status CheckWritable() const { return store_->CheckWritable(); }
  Status MaybeFlush() const { return store_->MaybeFlush(); }

  // Containers and generations (REQUIRES: a scope held where one is taken).
  Result<GenId> CurrentHead(const std::string& container) const {
    return store_->CurrentHead(container);
  }
  Result<index::ContainerRecord> GetContainer(const index::KvScope& scope,
                                              const std::string& name) const {
    return store_->GetContainer(scope, name);
  }
  Result<index::GenerationRecord> GetGeneration(const index::KvScope& scope, GenId gen) const {
    return store_->GetGeneration(scope, gen);
  }
  void PutGeneration(index::WriteScope& scope, GenId gen,
                     const index::GenerationRecord& rec) const {
    store_->PutGeneration(scope, gen, rec);
  }
  Status SetGenerationState(index::WriteScope& scope, GenId gen, index::GenState state) const {
    return store_->SetGenerationState(scope, gen, state);
  }

  // Freeze, branch, create and remove inside the caller's scope.
  Result<GenId> FreezeIn(index::WriteScope& scope, const std::string& container) const {
    return store_->FreezeIn(scope, container);
  }
  Result<GenId> BranchIn(index::WriteScope& scope, const std::string& container, GenId from) const {
    return store_->BranchIn(scope, container, from);
  }
  Status CreateContainerIn(index::WriteScope& scope, const std::string& name, GenId from,
                           index::ContainerRecord record) const {
    return store_->CreateContainerIn(scope, name, from, std::move(record));
  }
  void RemoveContainerIn(index::WriteScope& scope, const std::string& name) const {
    store_->RemoveContainerIn(scope, name);
  }

 private:
  Store* store_;
};

}  // namespace hoodyfs::snapshotter
