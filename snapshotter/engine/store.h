// Store: one hoodyfs store directory opened by one process. It owns the
// metadata (KvStore over LMDB), the generation tree, the block allocator and
// the data file, and offers the generation operations (freeze, branch) and
// per-container filesystem views (FileSystem).
//
// Directory layout: `meta.lmdb` (+ `meta.lmdb-lock`), `data` (the block
// store's data file), `lock` (flock: one process owns a store), `reserve`
// (room kept on the host for when it fills up: store_space.cc).
//
// Durability: every call's effect is visible to every later call when it
// returns; it is durable when Flush(), a file's Fsync, or Freeze returns,
// or when the background flusher's timer fires. Data reaches the disk before
// the metadata commit that points at it.
//
// Thread-safety: all public methods may be called from many threads.
//
// Implementation, one file per concept: store.cc (open, close, the flusher
// and the commit hooks), store_ids.cc (inode numbers, generation ids),
// store_heads.cc (containers, heads, generations, freeze and branch),
// store_blocks.cc (data block allocation), store_pins.cc (pins and
// open-file counts),
// store_space.cc (the reserve and the full state).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "base/types.h"
#include "base/unique_fd.h"
#include "blockstore/block_device.h"
#include "blockstore/data_file.h"
#include "index/block_allocator.h"
#include "index/generation_tree.h"
#include "index/kv_store.h"
#include "index/records.h"
#include "index/versioned.h"
#include "snapshotter/engine/unsynced_data.h"

namespace hoodyfs::snapshotter {

class FileSystem;

struct StoreOptions {
  blockstore::DeviceOptions device;
  // Period of the background group commit; 0 disables the flusher thread
  // (tests that want to control durability exactly).
  unsigned flush_interval_ms = 1000;
  // More pending metadata than this wakes the background flusher (the
  // caller goes on); without a flusher (flush_interval_ms 0), the call
  // that finds more than this pending flushes itself. 16 MiB, not 64: a
  // receive or import ends with a synced commit of what is pending, on the
  // command's wall time (a Debian root's receive 0.93 -> 0.74 s); FUSE
  // workloads rarely pend that much within the flusher's period.
  size_t flush_pending_bytes = 16u << 20;
  // Backpressure: a mutating call that finds more than this pending (the
  // flusher cannot keep up) commits itself, waiting for the flusher's
  // commit first. Bounds the memtables' memory. At least
  // flush_pending_bytes.
  size_t flush_hard_pending_bytes = 256u << 20;
  // An fsync whose change wrote at most this much file data since the data
  // file's last sync carries the data in its log record (one device flush);
  // more, and it syncs the data file first (two). store_data_sync.cc.
  uint64_t log_data_max_bytes = 512u << 10;
  // Every this many bytes of file data written, a background thread waits
  // for the data file's writeback it started last and starts the next
  // (BlockDevice::StartWriteback); a data write that finds twice this much
  // written and not yet started waits for the thread. So a commit's
  // fdatasync waits for a few MiB, not for a second of a streaming writer's
  // data, and a writer faster than the disk is held to the disk's pace
  // (store_writeback.cc). 0 disables both. Durability does not depend on it.
  uint64_t writeback_start_bytes = 4u << 20;
  // Data file growth step when the allocator runs out of blocks.
  uint64_t grow_step_bytes = 64u << 20;
  // Size of the reserve file kept on the host for a full disk; 0: 1/32 of
  // the host filesystem, at least 4 MiB and at most 64 MiB (as ZFS's slop
  // space). See store_space.cc.
  uint64_t reserve_bytes = 0;
  // Clock for timestamps; tests inject a fake one.
  std::function<index::Timespec()> clock;
  // Test seam: use this device instead of opening the data file.
  std::unique_ptr<blockstore::BlockDevice> device_override;
};

struct GenerationInfo {
  GenId id;
  GenId parent;
  index::GenState state;
  std::string container;
  int64_t created_ns;
};

class Store {
 public:
  // Creates an empty store in `dir` (created if absent).
  // Errors: kExists (already a store), kIoError, kPermission.
  static Status Init(const std::string& dir);

  // Opens the store in `dir`, taking its lock.
  // Errors: kNotFound (not a store), kBusy (another process owns it),
  // kCorruption, kIoError.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreOptions options);

  // Shrinks the metadata file of the store in `dir` to its live pages
  // (index::KvStore::Compact), holding the store's lock meanwhile: the
  // host's blocks that deletes freed inside it go back to the host. Errors:
  // as Open, kNoSpace (no room for the compacted copy: nothing changed).
  static Result<index::KvStore::CompactResult> CompactMetadata(const std::string& dir);

  // Flushes and closes.
  ~Store();

  // --- containers and generations ---
  // Creates a container with an empty root directory, or (from.valid()) a
  // container whose head is a fresh child of generation `from`.
  // Errors: kExists, kInvalidArgument (bad name), kNotFound (from).
  Status CreateContainer(const std::string& name, GenId from = GenId());
  std::vector<std::string> ListContainers() const;
  // Errors: kNotFound.
  Result<GenId> HeadOf(const std::string& container) const;
  Result<GenerationInfo> Generation(GenId gen) const;

  // Freezes the container's head: it becomes immutable and the container gets
  // a new head, its child. O(1): one short transaction plus the synced commit
  // of what was pending. Returns the frozen generation.
  Result<GenId> Freeze(const std::string& container);
  // Points the container's head at a fresh child of `from` (restore). The
  // previous head stays as it is. Returns the new head.
  Result<GenId> Branch(const std::string& container, GenId from);

  // A filesystem view: the container's live head (writable) or one frozen
  // generation (read-only). Cheap; views share the store.
  Result<FileSystem> Head(const std::string& container);
  Result<FileSystem> AtGeneration(GenId gen);

  // Makes everything done so far durable. Errors: kNoSpace, kIoError.
  Status Flush();
  // Makes everything done so far durable, as Flush, at the cost of one log
  // append when it can (KvStore::Sync): what an fsync calls. Errors: as Flush.
  Status Sync();

  // --- room on the host (store_space.cc) ---
  // When the host filesystem fills up, a commit fails; the store then gives
  // the host its reserve file back, so that this commit and the deletes that
  // free space still go through, and turns "full": every call that would
  // grow the store (a new file, a write, an xattr, a snapshot, a container)
  // is refused with kNoSpace before it changes anything, while unlink,
  // rmdir, truncate, snapshot and container deletion, restore and garbage
  // collection go on. It leaves that state once the reserve is whole again.
  // Errors of CheckRoomToGrow: kNoSpace while full.
  Status CheckRoomToGrow() const;
  bool full() const { return full_.load(std::memory_order_acquire); }

  // Gives the host back the space of freed blocks in runs of at least
  // `min_blocks`, punching them out of the data file. A commit only frees
  // blocks (they stay in the host file, for reuse by later writes): the
  // flusher thread calls this with kBackgroundPunchBlocks after its commits,
  // garbage collection with 1. A failed punch costs space only. Returns the
  // count of blocks punched. It punches at most what was free when it
  // began: a writer that frees blocks as fast as they are punched (every
  // overwrite frees one) must not keep it going forever. Runs shorter than
  // kBackgroundPunchBlocks yield to the store's writes: each punch holds the
  // data file's inode lock, which a write to the file also takes, so while
  // writes go on (and the host is not full) each such punch is followed by
  // a pause of twice its own length.
  // None while fallocate reservations are held: they are backed by the data
  // file's free blocks.
  uint64_t ReturnFreeSpace(uint32_t min_blocks);
  static constexpr uint32_t kBackgroundPunchBlocks = 256;  // 1 MiB
  // Freed blocks still held by the host file (not punched, not reused).
  uint64_t unpunched_blocks() const;

  // --- pins ---
  // A pin keeps one generation as it is while something reads it (a
  // read-only mount of a snapshot, a bisect, a running diff or accounting
  // pass): deleting the snapshot that names it is refused, and garbage
  // collection neither reclaims it nor merges another generation into it.
  // Move-only; the pin ends with the object. In memory only: a pin never
  // outlives the process.
  class Pin {
   public:
    Pin() = default;
    Pin(Pin&& other) noexcept;
    Pin& operator=(Pin&& other) noexcept;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin();
    GenId gen() const { return gen_; }

   private:
    friend class Store;
    Pin(Store* store, GenId gen, uint64_t id) : store_(store), gen_(gen), id_(id) {}
    void Release();
    Store* store_ = nullptr;
    GenId gen_;
    uint64_t id_ = 0;
  };
  // `reason` names the user ("mounted at /mnt/x", "bisect"): errors quote it.
  Pin PinGeneration(GenId gen, std::string reason) EXCLUDES(pins_mu_);
  // The reason of one pin held on `gen`, or nullopt when it has none.
  std::optional<std::string> PinnedBy(GenId gen) const EXCLUDES(pins_mu_);

  // Consistency check of the whole store (docs/design.md, "fsck").
  Status CheckInvariants();
  // After a full garbage collection: nothing reclaimable is left (fsck.h).
  Status CheckFullyCollected();
  // (Every referenced data block against its checksum: Scrubber, scrub.h.)

  // Test seam: behaves from now on as if the process had died: the flusher
  // stops, everything not yet committed is forgotten, and the destructor
  // does not flush. The caller then destroys the Store (and may simulate a
  // power loss on the data device) and reopens.
  void SimulateCrashForTest();

  // Metadata mutations made since open (KvStore::MutationCount).
  uint64_t MutationCount() const { return kv_->MutationCount(); }
  // Metadata changed and not yet committed, in the memtables
  // (KvStore::PendingBytes): what flush_hard_pending_bytes bounds.
  size_t PendingMetadataBytes() const { return kv_->PendingBytes(); }
  // Write scopes committed since open (KvStore::CommitCount): one per
  // FileSystem change.
  uint64_t CommitCount() const { return kv_->CommitCount(); }

  // One past the highest inode number given in this store so far: a send
  // stream carries it, so the receiver knows which numbers the sender may
  // still use (FileSystem CreateOptions::ino).
  uint64_t InoLimit() const;

  uint64_t capacity_blocks() const;
  uint64_t used_blocks() const;
  // Blocks of the data file an allocation can take now: neither used,
  // quarantined nor reserved in memory by a write in flight.
  uint64_t allocatable_blocks() const;
  // Blocks fallocate reserved in every container's head and nothing has
  // written since (store_reservations.cc; docs/design.md, "Reservations").
  uint64_t reserved_blocks() const;
  // What the store can still give out: free blocks of the data file and the
  // host's free room, less the reservations (statfs's free and available).
  uint64_t AvailableBlocks() const;
  const std::string& dir() const { return dir_; }
  std::string DescribeDevice() const { return device_->Describe(); }

 private:
  // Two named views of the inside (store_internals.h): StoreInternals for
  // the snapshot verbs and the engine, EngineInternals for the engine's own
  // FileSystem and Fsck. Nothing else sees inside.
  friend class StoreInternals;
  friend class EngineInternals;
  Store() = default;
  Status Load();
  void FlusherLoop() EXCLUDES(flusher_mu_);
  void StopFlusher() EXCLUDES(flusher_mu_);
  void AfterCommit(uint64_t epoch);
  index::Timespec Now() const;
  // Over the flush threshold: wakes the flusher, or, past the hard limit
  // (or without a flusher, or while full, when the threshold is small so
  // each commit needs little room), commits in the caller.
  Status MaybeFlush() EXCLUDES(flusher_mu_);
  // The group commit (KvStore::Flush), falling back on the reserve when the
  // host is full. Every commit of the store goes through here.
  Status CommitPending() EXCLUDES(space_mu_);

  // Allocation of inode numbers and generation ids (under a WriteScope).
  Ino NextIno(index::WriteScope& scope);
  void ClaimIno(index::WriteScope& scope, Ino ino);
  GenId NextGen(index::WriteScope& scope);
  void PutGeneration(index::WriteScope& scope, GenId gen, const index::GenerationRecord& rec);
  Result<index::ContainerRecord> GetContainer(const index::KvScope& scope,
                                              const std::string& name) const;
  // A container's head and its lineage: a freeze continues the lineage (the
  // new head starts with the old head's contents), a branch starts a new one
  // (the head is replaced). A write that began in one lineage must not land
  // in another.
  struct HeadInfo {
    GenId gen;
    uint64_t lineage = 0;
  };
  // The container's head from the in-memory map (every filesystem call
  // needs it). REQUIRES: a scope held.
  Result<GenId> CurrentHead(const std::string& container) const;
  Result<HeadInfo> CurrentHeadInfo(const std::string& container) const;
  // Records a new head in the containers table and the in-memory map; a
  // branch gives it a new lineage.
  void SetHead(index::WriteScope& scope, const std::string& container, index::ContainerRecord rec,
               bool new_lineage);
  Status CreateRoot(index::WriteScope& scope, GenId gen);
  Result<index::GenerationRecord> GetGeneration(const index::KvScope& scope, GenId gen) const;
  // Rewrites the state of a generation's record.
  Status SetGenerationState(index::WriteScope& scope, GenId gen, index::GenState state);
  // The steps of Freeze, Branch and CreateContainer inside a caller's scope,
  // so the snapshot catalog can make a freeze and its snapshot record (or a
  // restore and the snapshot that keeps the old head) one atomic change.
  // FreezeIn returns the frozen generation; BranchIn the new head and leaves
  // the old head's record alone (the caller decides what it becomes).
  Result<GenId> FreezeIn(index::WriteScope& scope, const std::string& container);
  Result<GenId> BranchIn(index::WriteScope& scope, const std::string& container, GenId from);
  Status CreateContainerIn(index::WriteScope& scope, const std::string& name, GenId from,
                           index::ContainerRecord record);
  // Removes the container's record and head entry (the caller drops its
  // generations).
  // Its reservations go with it. Errors: scope errors.
  Status RemoveContainerIn(index::WriteScope& scope, const std::string& name);
  // Adds a generation to the tree, undone if the scope rolls back.
  void AddToTree(index::WriteScope& scope, GenId gen, GenId parent);
  // Reserves data blocks (BlockAllocator::Reserve), growing the data file
  // when full; the growth is recorded in `scope`.
  Result<index::BlockRun> ReserveBlocks(index::WriteScope& scope, uint32_t max_blocks);
  // Reserves and claims in one scope.
  Result<index::BlockRun> AllocateBlocks(index::WriteScope& scope, uint32_t max_blocks);
  // Grows the data file by `groups` free-map groups or more (the grow step),
  // recorded in `scope`; one group at a time when the host lacks room for
  // the step. Errors: kNoSpace, kIoError.
  Status GrowDataFile(index::WriteScope& scope, uint64_t groups);

  // --- reservations (store_reservations.cc) ---
  // Sums the reservations table into reserved_blocks_ (at open).
  Status LoadReservations(const index::KvScope& scope);
  // Moves the total by `delta` blocks, undone if `scope` rolls back.
  void AdjustReserved(index::WriteScope& scope, int64_t delta);
  // Makes the data file hold at least reserved_blocks_ free blocks, so a
  // write that draws on a reservation never needs the host to grow it; and
  // AvailableBlocks() the host's free room (statvfs of the store's
  // directory) plus the data file's free blocks, less the reservations.
  // REQUIRES: a WriteScope (for the growth). Errors: kNoSpace, kIoError.
  Status BackReservations(index::WriteScope& scope);
  uint64_t AvailableBlocksLocked() const;
  // Drops every reservation of `container` (a restore or a removal replaces
  // its head): the reserved space goes back to free.
  Status DropReservations(index::WriteScope& scope, const std::string& container);

  std::string dir_;
  StoreOptions options_;
  UniqueFd lock_fd_;
  std::unique_ptr<index::KvStore> kv_;
  std::unique_ptr<blockstore::BlockDevice> device_;

  // Guarded by the KvStore state lock (shared to read, exclusive to write).
  index::GenerationTree tree_;
  index::BlockAllocator allocator_;
  std::unordered_map<std::string, HeadInfo> heads_;  // container -> head
  uint64_t next_lineage_ = 1;
  uint64_t next_ino_ = 2;
  uint64_t next_gen_ = 1;
  uint64_t reserved_blocks_ = 0;  // sum of the reservations table's bits

  // Readers of data blocks hold this shared from before they drop the state
  // lock until their I/O is done; releasing quarantined blocks takes it
  // exclusively, so no in-flight read can see a reused block.
  std::shared_mutex data_readers_;

  // Per-inode write serialization (striped): a write's read-modify-write of
  // edge blocks and its chunk update must not interleave with another
  // write or truncate of the same file. Held exclusively by those; a write
  // of whole blocks reads nothing of the file, so it holds it shared and
  // runs beside other such writes (fs_data.cc, FileSystem::Write). Writer-
  // preferring (index::StateMutex), so a steady stream of such writes never
  // keeps a truncate, an fallocate or a partial write waiting; a thread
  // holds at most one stripe, once.
  static constexpr size_t kInodeLockStripes = 256;
  index::StateMutex& InodeLock(Ino ino) { return inode_locks_[ino.value % kInodeLockStripes]; }
  std::array<index::StateMutex, kInodeLockStripes> inode_locks_;

  // Open-file counts, so an unlinked open file keeps its data until release.
  // Keyed by container and inode: a copy shares inode numbers with the
  // container it came from, and an open file in one must not keep an
  // unlinked file of the other alive (store_pins.cc).
  // AddOpen counts one more open of the file; ReleaseOpen drops one and
  // returns true when that was the last; IsOpen tells whether any is left.
  void AddOpen(const std::string& container, Ino ino) EXCLUDES(open_mu_);
  bool ReleaseOpen(const std::string& container, Ino ino) EXCLUDES(open_mu_);
  bool IsOpen(const std::string& container, Ino ino) const EXCLUDES(open_mu_);
  mutable Mutex open_mu_;
  std::map<std::pair<std::string, uint64_t>, uint32_t> open_counts_ GUARDED_BY(open_mu_);

  // Data writes completed, and how many of them the last commit's fdatasync
  // covered: a commit with no new data skips the data file's fdatasync.
  std::atomic<uint64_t> data_writes_{0};
  uint64_t synced_data_writes_ = 0;  // touched only by the flush hook
  // The ranges written since the data file's last sync, for the log.
  std::unique_ptr<UnsyncedData> unsynced_data_;
  // Starting the data file's writeback early (store_writeback.cc): each
  // data write adds its bytes; the write that crosses writeback_start_bytes
  // wakes the writeback thread, which resets the count and starts the
  // host's writeback; a write that finds two steps unstarted waits for the
  // reset. No durability rests on it.
  void NoteDataWritten(uint64_t bytes) EXCLUDES(writeback_mu_);
  void WritebackLoop() EXCLUDES(writeback_mu_);
  void StopWriteback() EXCLUDES(writeback_mu_);
  std::atomic<uint64_t> unstarted_bytes_{0};  // reset only under writeback_mu_
  Mutex writeback_mu_;
  std::condition_variable writeback_cv_;     // wakes the thread
  std::condition_variable writeback_paced_;  // wakes writers waiting for a reset
  bool writeback_requested_ GUARDED_BY(writeback_mu_) = false;
  bool writeback_stopping_ GUARDED_BY(writeback_mu_) = false;
  bool writeback_failure_logged_ = false;  // touched only by the writeback thread
  std::thread writeback_;
  // KvStore's before_commit hook: fdatasyncs the data file if data was
  // written since its last sync (store_data_sync.cc).
  Status SyncDataForCommit();
  // A block repair's fdatasync (block_repair.cc), outside any commit: a
  // failure sets sync_failed_ as a commit's would, since the kernel reports
  // a writeback error once and the next commit's sync would miss it.
  Status SyncRepairedData();
  // KvStore's before_log hook: adds the data written since the data file's
  // last sync to an fsync's log record, or syncs the data file when that is
  // more than log_data_max_bytes.
  Status LogDataForSync(index::WalPayload& record);
  // The DataReplay that writes a log's file data back into `device`.
  static index::DataReplay ReplayInto(blockstore::BlockDevice& device);
  // Set when an fdatasync of the data file failed. The kernel may have
  // dropped the dirty pages it could not write ("fsyncgate"), so a later
  // sync that succeeds proves nothing: from then on the store refuses every
  // change and every commit, and a reopen returns to the last commit.
  std::atomic<bool> sync_failed_{false};
  // kIoError once sync_failed_ is set.
  Status CheckWritable() const;

  // Pins by generation: id -> reason. Taken after the state lock when both
  // are needed (garbage collection checks pins inside its write scopes).
  mutable Mutex pins_mu_;
  // gen -> id -> reason
  std::unordered_map<uint64_t, std::map<uint64_t, std::string>> pins_ GUARDED_BY(pins_mu_);
  uint64_t next_pin_id_ GUARDED_BY(pins_mu_) = 1;

  // The reserve and the full state (store_space.cc). space_mu_ serialises
  // the reserve file's changes and the full_ transitions; full_ is read
  // without it.
  Status OpenReserve() EXCLUDES(space_mu_);
  // Grows the reserve file to its target; false when the host lacks room.
  bool TopUpReserve() REQUIRES(space_mu_);
  // Gives the reserve file's blocks back to the host; false if it had none.
  bool ReleaseReserve() REQUIRES(space_mu_);
  void EnterFull(const Status& why);
  // After a commit, from the flusher: tops the reserve up and leaves the
  // full state when there is room again (or enters it when the reserve
  // cannot be kept whole and LMDB has no free pages to make up for it).
  void ReviewSpace() EXCLUDES(space_mu_);
  void ReviewSpaceLocked() REQUIRES(space_mu_);
  Mutex space_mu_;
  UniqueFd reserve_fd_ GUARDED_BY(space_mu_);
  // Bytes; 0: no reserve (the host cannot allocate one). Written under
  // space_mu_; read without it too (the flush threshold while full).
  std::atomic<uint64_t> reserve_target_{0};
  std::atomic<bool> full_{false};

  Mutex flusher_mu_;
  std::condition_variable flusher_cv_;
  bool stopping_ GUARDED_BY(flusher_mu_) = false;
  bool flush_requested_ GUARDED_BY(flusher_mu_) = false;  // MaybeFlush found too much pending
  bool crashed_ = false;                                  // SimulateCrashForTest was called
  std::thread flusher_;
};

}  // namespace hoodyfs::snapshotter
