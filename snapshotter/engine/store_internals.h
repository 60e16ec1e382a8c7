// The two named views of Store's inside (Store's only friends), so that no
// other class reaches into it and each user's reach is written down here:
//
// StoreInternals: the part of Store's inside that the snapshot verbs
// (snapshotter/verbs/: Snapshotter, GarbageCollector, Differ, Accounting)
// and the engine's FileSystem and Fsck build on.
//
// What it offers: the metadata store, the generation tree and the block
// allocator (guarded by the KvStore state lock: hold a scope while using the
// tree or the allocator), the records of containers and generations, and
// the steps of freeze, branch and container creation and removal inside a
// caller's WriteScope, so a verb and its catalog records commit as one. Each
// method is the Store member of the same name; see store.h for its contract.
//
// EngineInternals: StoreInternals and the data path that only the engine's
// own FileSystem (filesystem.cc, fs_*.cc), Fsck (fsck.cc), Scrubber
// (scrub.cc) and BlockRepairer (block_repair.cc) use: the data
// device and the guard that keeps a block from reuse while it is read, the
// count of data writes a commit's fdatasync covers, the per-inode write
// locks, inode numbers, a head's lineage, block reservation and the
// open-file counts.
//
// Nothing else (fusefs, cli, transfer, tests) may use either: they have
// Store's public API; and the verbs use StoreInternals only.
//
// Cheap views: copyable, holding only the Store pointer. Thread-safety:
// that of the Store members they forward to.
#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>

#include "base/status.h"
#include "base/types.h"
#include "blockstore/block_device.h"
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
  Status RemoveContainerIn(index::WriteScope& scope, const std::string& name) const {
    return store_->RemoveContainerIn(scope, name);
  }

 private:
  Store* store_;
};

class EngineInternals : public StoreInternals {
 public:
  explicit EngineInternals(Store& store) : StoreInternals(store), store_(&store) {}

  // A container's head and its lineage (store.h).
  using HeadInfo = Store::HeadInfo;

  // The data device (the data file, or a test's device).
  blockstore::BlockDevice& device() const { return *store_->device_; }
  // Held shared by a reader of data blocks from before it drops its scope
  // until its I/O is done, and by the scrub's confirming reads; releasing
  // quarantined blocks takes it exclusively (store.h, data_readers_).
  std::shared_mutex& data_readers() const { return store_->data_readers_; }
  // Data writes completed: each data write adds one, so the next commit
  // knows whether it must fdatasync the data file first.
  std::atomic<uint64_t>& data_writes() const { return store_->data_writes_; }
  // The ranges written since the data file's last sync (the next fsync's
  // log record carries them): each data write notes its ranges.
  UnsyncedData& unsynced_data() const { return *store_->unsynced_data_; }
  // Each data write adds its bytes after it completed: every
  // writeback_start_bytes the host's writeback of the data file starts.
  void NoteDataWritten(uint64_t bytes) const { store_->NoteDataWritten(bytes); }
  // The write lock of `ino`'s stripe: a write's read-modify-write of edge
  // blocks and its chunk update, and a truncate or fallocate, hold it
  // exclusively; a write of whole blocks holds it shared (store.h).
  index::StateMutex& InodeLock(Ino ino) const { return store_->InodeLock(ino); }

  // Inode numbers and generation ids. REQUIRES: a scope held (a WriteScope
  // for NextIno). next_ino() and next_gen() are one past the highest
  // allocated so far.
  Ino NextIno(index::WriteScope& scope) const { return store_->NextIno(scope); }
  // Moves the next free inode number past `ino` (CreateOptions::ino).
  void ClaimIno(index::WriteScope& scope, Ino ino) const { store_->ClaimIno(scope, ino); }
  uint64_t next_ino() const { return store_->next_ino_; }
  uint64_t next_gen() const { return store_->next_gen_; }
  // REQUIRES: a scope held.
  Result<HeadInfo> CurrentHeadInfo(const std::string& container) const {
    return store_->CurrentHeadInfo(container);
  }

  // Data blocks, growing the data file when full (REQUIRES: the scope the
  // growth is recorded in).
  Result<index::BlockRun> ReserveBlocks(index::WriteScope& scope, uint32_t max_blocks) const {
    return store_->ReserveBlocks(scope, max_blocks);
  }
  Result<index::BlockRun> AllocateBlocks(index::WriteScope& scope, uint32_t max_blocks) const {
    return store_->AllocateBlocks(scope, max_blocks);
  }

  // Reservations (store.h): the store-wide total, moved in `scope`; the
  // data file grown to back them; the room left for everything else.
  // REQUIRES: a scope held (a WriteScope for the first two).
  void AdjustReserved(index::WriteScope& scope, int64_t delta) const {
    store_->AdjustReserved(scope, delta);
  }
  Status BackReservations(index::WriteScope& scope) const {
    return store_->BackReservations(scope);
  }
  uint64_t reserved_blocks() const { return store_->reserved_blocks_; }
  uint64_t AvailableBlocks() const { return store_->AvailableBlocksLocked(); }
  // The group commit: makes blocks freed so far allocatable again.
  Status Flush() const { return store_->Flush(); }
  // fdatasync of the data file for a block repair (block_repair.cc); a
  // failed sync makes the store read-only.
  Status SyncRepairedData() const { return store_->SyncRepairedData(); }

  // Open-file counts: an unlinked file is purged at its last release.
  void AddOpen(const std::string& container, Ino ino) const { store_->AddOpen(container, ino); }
  bool ReleaseOpen(const std::string& container, Ino ino) const {
    return store_->ReleaseOpen(container, ino);
  }
  bool IsOpen(const std::string& container, Ino ino) const {
    return store_->IsOpen(container, ino);
  }

 private:
  Store* store_;
};

}  // namespace hoodyfs::snapshotter
