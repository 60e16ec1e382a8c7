// Store: opening and closing a store, and the group commit: the background
// flusher and the hooks that sync data before each commit and give freed
// blocks back after it.
#include "snapshotter/engine/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <thread>
#include <utility>

#include "base/coding.h"
#include "base/heap_trim.h"
#include "base/log.h"
#include "blockstore/buffer_pool.h"
#include "index/keys.h"
#include "snapshotter/engine/store_keys.h"

namespace hoodyfs::snapshotter {

using index::ContainerRecord;
using index::GenerationRecord;
using index::KvScope;
using index::ReadScope;
using index::Table;
using index::WriteScope;
using store_keys::kKeyFormat;
using store_keys::kKeyNextGen;
using store_keys::kKeyNextIno;
using store_keys::U64;

namespace {
constexpr char kMetaFile[] = "/meta.lmdb";
constexpr char kDataFile[] = "/data";
constexpr char kLockFile[] = "/lock";

Result<uint64_t> GetMetaU64(const KvScope& s, const char* key) {
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kMeta, key));
  if (!v || v->size() != 8) return Status::Corruption(std::string("store meta key ") + key);
  return GetLe64(v->data());
}

index::Timespec SystemNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return index::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}
}  // namespace

Status Store::Init(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return FromErrno(errno, "create store directory " + dir);
  }
  struct stat st;
  if (::stat((dir + kMetaFile).c_str(), &st) == 0) {
    return Status::Exists(dir + " already holds a hoodyfs store");
  }
  HOODY_ASSIGN_OR_RETURN(auto kv, index::KvStore::Open(dir + kMetaFile, index::EnvOptions()));
  {
    WriteScope s(*kv);
    s.Put(Table::kMeta, kKeyFormat, U64(index::kFormatVersion));
    s.Put(Table::kMeta, kKeyNextIno, U64(2));
    s.Put(Table::kMeta, kKeyNextGen, U64(1));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(kv->Flush());
  return Status::OK();
}

namespace {
// Checks that `dir` holds a store and takes its lock: one process at a time.
Result<UniqueFd> LockStore(const std::string& dir) {
  struct stat st;
  if (::stat((dir + kMetaFile).c_str(), &st) != 0) {
    // Not "no store" when the cause is that we may not look (a non-root user).
    if (errno == EACCES || errno == EPERM) {
      return Status::Permission("permission denied reading the store " + dir +
                                " (it belongs to its owner, usually root: run as that user)");
    }
    return Status::NotFound(dir + " is not a hoodyfs store (run hoodyfs init)");
  }
  UniqueFd lock(::open((dir + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return FromErrno(errno, "open store lock " + dir + kLockFile);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Busy("store " + dir + " is in use by another process");
    }
    return FromErrno(errno, "lock store " + dir);
  }
  return lock;
}
}  // namespace

Result<index::KvStore::CompactResult> Store::CompactMetadata(const std::string& dir) {
  HOODY_ASSIGN_OR_RETURN(UniqueFd lock, LockStore(dir));
  HOODY_ASSIGN_OR_RETURN(
      std::unique_ptr<blockstore::BlockDevice> device,
      blockstore::OpenDataFile(dir + kDataFile, blockstore::DeviceOptions(), false));
  return index::KvStore::Compact(dir + kMetaFile, index::EnvOptions(), ReplayInto(*device));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  HOODY_ASSIGN_OR_RETURN(store->lock_fd_, LockStore(dir));
  if (!options.clock) options.clock = SystemNow;
  // The device first: replaying the metadata log writes the file data its
  // records carry back into it.
  if (options.device_override) {
    store->device_ = std::move(options.device_override);
  } else {
    HOODY_ASSIGN_OR_RETURN(store->device_,
                           blockstore::OpenDataFile(dir + kDataFile, options.device, true));
  }
  HOODY_ASSIGN_OR_RETURN(store->kv_, index::KvStore::Open(dir + kMetaFile, index::EnvOptions(),
                                                          ReplayInto(*store->device_)));
  store->unsynced_data_ = std::make_unique<UnsyncedData>(options.log_data_max_bytes);
  store->options_ = std::move(options);
  HOODY_RETURN_IF_ERROR(store->Load());
  HOODY_RETURN_IF_ERROR(store->OpenReserve());
  Store* raw = store.get();
  index::FlushHooks hooks;
  hooks.before_commit = [raw]() { return raw->SyncDataForCommit(); };
  hooks.before_log = [raw](index::WalPayload& record) { return raw->LogDataForSync(record); };
  hooks.after_commit = [raw](uint64_t epoch) { raw->AfterCommit(epoch); };
  store->kv_->SetFlushHooks(std::move(hooks));
  if (store->options_.flush_interval_ms > 0) {
    store->flusher_ = std::thread([raw] { raw->FlusherLoop(); });
  }
  if (store->options_.writeback_start_bytes > 0) {
    store->writeback_ = std::thread([raw] { raw->WritebackLoop(); });
  }
  return store;
}

Status Store::Load() {
  ReadScope s(*kv_);
  HOODY_ASSIGN_OR_RETURN(uint64_t format, GetMetaU64(s, kKeyFormat));
  if (format != index::kFormatVersion) {
    return Status::Corruption("store format " + std::to_string(format) + ", this build reads " +
                              std::to_string(index::kFormatVersion));
  }
  HOODY_ASSIGN_OR_RETURN(next_ino_, GetMetaU64(s, kKeyNextIno));
  HOODY_ASSIGN_OR_RETURN(next_gen_, GetMetaU64(s, kKeyNextGen));
  // Generation ids grow from parent to child, so key order adds parents first.
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kGenerations));
  for (it.Seek(""); it.Valid(); it.Next()) {
    HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(it.value()));
    const GenId gen(GetBig64(it.key().data()));
    if (rec.parent.valid() && !tree_.Contains(rec.parent)) {
      return Status::Corruption("generation " + std::to_string(gen.value) +
                                " has a missing parent");
    }
    tree_.Add(gen, rec.parent);
  }
  HOODY_RETURN_IF_ERROR(it.status());
  HOODY_ASSIGN_OR_RETURN(index::KvIterator ct, s.NewIterator(Table::kContainers));
  for (ct.Seek(""); ct.Valid(); ct.Next()) {
    HOODY_ASSIGN_OR_RETURN(ContainerRecord rec, ContainerRecord::Decode(ct.value()));
    if (!tree_.Contains(rec.head)) {
      return Status::Corruption("container '" + std::string(ct.key()) + "' has a missing head");
    }
    heads_[std::string(ct.key())] = HeadInfo{rec.head, next_lineage_++};
  }
  HOODY_RETURN_IF_ERROR(ct.status());
  HOODY_RETURN_IF_ERROR(allocator_.Load(s));
  const uint64_t device_blocks = device_->SizeBytes() / kBlockSize;
  if (device_blocks < allocator_.capacity_blocks()) {
    return Status::Corruption("data file holds " + std::to_string(device_blocks) +
                              " blocks but the free map covers " +
                              std::to_string(allocator_.capacity_blocks()));
  }
  return LoadReservations(s);
}

void Store::StopFlusher() {
  {
    MutexLock l(flusher_mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void Store::SimulateCrashForTest() {
  StopFlusher();
  StopWriteback();
  crashed_ = true;
  kv_->DropPendingForTest();
}

Store::~Store() {
  StopFlusher();
  StopWriteback();
  if (kv_ && !crashed_) {
    Status s = CommitPending();
    if (!s.ok()) Log(LogLevel::kError, "final flush of " + dir_ + " failed: " + s.ToString());
  }
}

void Store::FlusherLoop() {
  MutexLock l(flusher_mu_);
  while (!stopping_) {
    if (!flush_requested_) {
      l.WaitFor(flusher_cv_, std::chrono::milliseconds(options_.flush_interval_ms));
    }
    if (stopping_) break;
    flush_requested_ = false;
    l.Unlock();
    Status s = CommitPending();
    if (!s.ok()) Log(LogLevel::kError, "background flush failed: " + s.ToString());
    // While full, every freed block goes back to the host, to refill the
    // reserve sooner.
    ReturnFreeSpace(full() ? 1 : kBackgroundPunchBlocks);
    ReviewSpace();
    // Once a second: the pool of I/O buffers frees those the last second
    // did not need, and the process's heap gives back what a burst of frees
    // (committed memtables, inodes the kernel forgot, those buffers: a tick
    // later, since a free noted now makes this tick a busy one) left, after
    // the burst (base/heap_trim.h).
    blockstore::IoBuffers().ReleaseUnneeded();
    MaybeTrimHeap();
    l.Lock();
  }
}

void Store::AfterCommit(uint64_t epoch) {
  // Wait out every data read that began before this commit: once no reader
  // holds the guard, no one can still reach a block this commit freed.
  { std::unique_lock drain(data_readers_); }
  // Released without a punch: this runs on the caller's fsync, and a punch
  // costs a host metadata change (hundreds of microseconds, more with
  // discard) per run, where reusing the block later costs nothing.
  WriteScope s(*kv_);
  allocator_.ReleaseQuarantine(epoch);
  s.Commit();
}

uint64_t Store::ReturnFreeSpace(uint32_t min_blocks) {
  // Bounded batches, so writers are never kept from free space long.
  constexpr size_t kRunsPerBatch = 64;
  // A writer meets the lock a third of the time at most (store.h).
  constexpr int kPunchPauseFactor = 2;
  uint64_t punched = 0;
  uint64_t budget = 0;
  {
    ReadScope s(*kv_);
    budget = allocator_.unpunched_blocks();
  }
  // A write since the last look: a writer is active.
  uint64_t writes_seen = data_writes_.load(std::memory_order_relaxed);
  while (punched < budget) {
    std::vector<index::BlockRun> runs;
    {
      WriteScope s(*kv_);
      // Reservations are backed by the data file's free blocks: while any is
      // held, freed blocks stay with the store (docs/design.md, "Reservations").
      if (reserved_blocks_ > 0) return punched;
      runs = allocator_.TakeUnpunched(min_blocks, kRunsPerBatch);
      s.Commit();
    }
    if (runs.empty()) return punched;
    // Reserved while punched: no write can land there until Unreserve.
    for (const index::BlockRun& run : runs) {
      const auto start = std::chrono::steady_clock::now();
      device_->Discard(run.start.value * kBlockSize, uint64_t{run.count} * kBlockSize)
          .IgnoreError();
      punched += run.count;
      // A short run (an explicit gc's scattered blocks) under a writer:
      // pause, so the writer's requests do not queue behind punch after
      // punch. Runs of 1 MiB and more are few; a full host needs its space.
      const uint64_t writes = data_writes_.load(std::memory_order_relaxed);
      if (run.count < kBackgroundPunchBlocks && !full() && writes != writes_seen) {
        const auto took = std::chrono::steady_clock::now() - start;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            kPunchPauseFactor * took, std::chrono::milliseconds(20)));
      }
      writes_seen = writes;
    }
    WriteScope s(*kv_);
    for (const index::BlockRun& run : runs) allocator_.Unreserve(run);
    s.Commit();
  }
  return punched;
}

uint64_t Store::unpunched_blocks() const {
  ReadScope s(*kv_);
  return allocator_.unpunched_blocks();
}

Status Store::CheckWritable() const {
  if (sync_failed_.load(std::memory_order_acquire)) {
    return Status::IoError("a sync of the data file of " + dir_ +
                           " failed earlier; the store is read-only until it is reopened");
  }
  return Status::OK();
}

Status Store::MaybeFlush() {
  const size_t pending = kv_->PendingBytes();
  if (full()) {
    if (pending > std::max<size_t>(reserve_target_ / 4, 1)) return CommitPending();
    return Status::OK();
  }
  if (pending <= options_.flush_pending_bytes) return Status::OK();
  // A commit of 64 MiB of metadata took 0.1-0.8 s: run in the caller it
  // stalled one file create in ~60,000 that long (issue 12). The flusher
  // commits while callers go on against the new memtable; only when it
  // cannot keep up does a caller wait (backpressure).
  bool woken = false;
  if (pending <= std::max(options_.flush_hard_pending_bytes, options_.flush_pending_bytes)) {
    MutexLock l(flusher_mu_);
    if (options_.flush_interval_ms > 0 && !stopping_) {
      flush_requested_ = true;
      woken = true;
    }
  }
  if (!woken) return CommitPending();
  flusher_cv_.notify_one();
  return Status::OK();
}

Status Store::Flush() { return CommitPending(); }

Status Store::Sync() {
  // Any failure of the log path (a full host, a failed append) takes the
  // commit path, which handles the full host (store_space.cc) and reports.
  if (kv_->Sync().ok()) return Status::OK();
  return CommitPending();
}

index::Timespec Store::Now() const { return options_.clock(); }

}  // namespace hoodyfs::snapshotter
