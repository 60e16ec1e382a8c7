#include "index/kv_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "base/coding.h"
#include "base/log.h"
#include "base/test_hook.h"
#include "base/unique_fd.h"

namespace hoodyfs::index {

// ---- StateMutex ----

StateMutex::StateMutex() {
  pthread_rwlockattr_t attr;
  HOODY_ASSERT(pthread_rwlockattr_init(&attr) == 0, "pthread_rwlockattr_init");
  // Writer preference needs the non-recursive kind: glibc ignores plain
  // PTHREAD_RWLOCK_PREFER_WRITER_NP.
  HOODY_ASSERT(
      pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) == 0,
      "pthread_rwlockattr_setkind_np");
  HOODY_ASSERT(pthread_rwlock_init(&rw_, &attr) == 0, "pthread_rwlock_init");
  pthread_rwlockattr_destroy(&attr);
}
StateMutex::~StateMutex() { pthread_rwlock_destroy(&rw_); }
void StateMutex::lock() { HOODY_ASSERT(pthread_rwlock_wrlock(&rw_) == 0, "rwlock wrlock"); }
void StateMutex::unlock() { HOODY_ASSERT(pthread_rwlock_unlock(&rw_) == 0, "rwlock unlock"); }
void StateMutex::lock_shared() { HOODY_ASSERT(pthread_rwlock_rdlock(&rw_) == 0, "rwlock rdlock"); }
void StateMutex::unlock_shared() {
  HOODY_ASSERT(pthread_rwlock_unlock(&rw_) == 0, "rwlock unlock");
}

// ---- KvIterator ----

KvIterator::KvIterator(std::vector<MemSource> mems, std::optional<Cursor> cursor)
    : mems_(std::move(mems)), cursor_(std::move(cursor)) {}
KvIterator::KvIterator(KvIterator&&) noexcept = default;
KvIterator& KvIterator::operator=(KvIterator&&) noexcept = default;
KvIterator::~KvIterator() = default;

void KvIterator::Fail(Status s) {
  status_ = std::move(s);
  valid_ = false;
}

void KvIterator::Seek(std::string_view key) {
  for (auto& m : mems_) m.it = m.map->lower_bound(key);
  if (cursor_) {
    Result<bool> r = cursor_->Seek(key);
    if (!r.ok()) return Fail(r.status());
    cursor_valid_ = *r;
  }
  if (Status s = Settle(); !s.ok()) Fail(std::move(s));
}

void KvIterator::Next() {
  HOODY_ASSERT(valid_, "Next on an exhausted iterator");
  // Copy: advancing the source that owns key_ invalidates it.
  std::string current(key_);
  for (auto& m : mems_) {
    if (m.it != m.map->end() && std::string_view(m.it->first) == current) ++m.it;
  }
  if (cursor_valid_ && cursor_->key() == current) {
    Result<bool> r = cursor_->Next();
    if (!r.ok()) return Fail(r.status());
    cursor_valid_ = *r;
  }
  if (Status s = Settle(); !s.ok()) Fail(std::move(s));
}

Status KvIterator::Settle() {
  for (;;) {
    // The smallest key among the sources; the newest source holding it wins.
    const MemEntry* winner = nullptr;
    std::string_view min_key;
    bool any = false;
    for (auto& m : mems_) {
      if (m.it == m.map->end()) continue;
      if (!any || m.it->first < min_key) {
        min_key = m.it->first;
        winner = &m.it->second;
        any = true;
      }
    }
    bool from_cursor = false;
    if (cursor_valid_ && (!any || cursor_->key() < min_key)) {
      min_key = cursor_->key();
      from_cursor = true;
      any = true;
    }
    if (!any || (!upper_bound_.empty() && min_key >= upper_bound_)) {
      valid_ = false;
      return Status::OK();
    }
    if (from_cursor || !winner->tombstone) {
      valid_ = true;
      key_ = min_key;
      value_ = from_cursor ? cursor_->value() : std::string_view(winner->value);
      return Status::OK();
    }
    // A tombstone hides this key in every older source: skip it everywhere.
    std::string hidden(min_key);
    for (auto& m : mems_) {
      if (m.it != m.map->end() && std::string_view(m.it->first) == hidden) ++m.it;
    }
    if (cursor_valid_ && cursor_->key() == hidden) {
      HOODY_ASSIGN_OR_RETURN(cursor_valid_, cursor_->Next());
    }
  }
}

// ---- KvScope ----

// The lock taken here is held by the scope object until its destructor,
// across calls: beyond the analysis, which follows one function.
KvScope::KvScope(KvStore& store, bool exclusive) NO_THREAD_SAFETY_ANALYSIS : store_(&store) {
  if (exclusive) {
    unique_lock_ = std::unique_lock(store.state_mu_);
  } else {
    shared_lock_ = std::shared_lock(store.state_mu_);
  }
  active_ = store.active_.get();
  sealed_ = store.sealed_.get();
}

KvScope::~KvScope() {
  if (txn_) store_->ReleaseTxn(std::move(*txn_));
}

Status KvScope::EnsureTxn() const {
  if (txn_) return Status::OK();
  HOODY_ASSIGN_OR_RETURN(ReadTxn txn, store_->AcquireTxn());
  txn_.emplace(std::move(txn));
  return Status::OK();
}

Result<std::optional<std::string_view>> KvScope::Get(Table t, std::string_view key) const {
  for (const MemTable* m : {static_cast<const MemTable*>(active_), sealed_}) {
    if (m == nullptr) continue;
    if (const MemEntry* e = m->Find(t, key)) {
      if (e->tombstone) return std::optional<std::string_view>();
      return std::optional<std::string_view>(e->value);
    }
  }
  HOODY_RETURN_IF_ERROR(EnsureTxn());
  return txn_->Get(store_->handle(t), key);
}

Result<KvIterator> KvScope::NewIterator(Table t) const {
  std::vector<KvIterator::MemSource> mems;
  for (const MemTable* m : {static_cast<const MemTable*>(active_), sealed_}) {
    if (m != nullptr && !m->map(t).empty()) mems.push_back({&m->map(t), m->map(t).end()});
  }
  HOODY_RETURN_IF_ERROR(EnsureTxn());
  HOODY_ASSIGN_OR_RETURN(Cursor cursor, Cursor::Open(*txn_, store_->handle(t)));
  return KvIterator(std::move(mems), std::optional<Cursor>(std::move(cursor)));
}

// Under the scope's exclusive lock (see the constructor).
uint64_t WriteScope::epoch() const NO_THREAD_SAFETY_ANALYSIS { return store_->active_epoch_; }

WriteScope::~WriteScope() {
  if (committed_) return;
  for (auto it = on_rollback_.rbegin(); it != on_rollback_.rend(); ++it) (*it)();
  // Newest first, so a key touched twice ends at its first saved state.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    active_->RestoreAt(it->table, it->entry, it->saved);
  }
}

MemTable::Map::iterator WriteScope::Touch(Table t, std::string_view key) {
  if (committed_) return active_->Acquire(t, key, /*save=*/false).it;
  // Room first: nothing may fail between making an entry and recording
  // the undo that erases it.
  if (undo_.size() == undo_.capacity()) undo_.reserve(std::max(kUndoReserve, 2 * undo_.size()));
  MemTable::Acquired a = active_->Acquire(t, key, /*save=*/true);
  undo_.push_back(Undo{t, a.it, std::move(a.saved)});
  return a.it;
}

// LMDB refuses empty keys and keys over 511 bytes; such a key would only fail
// at the next commit, and make every later commit fail with it.
constexpr size_t kMaxKeyBytes = 511;

void WriteScope::Put(Table t, std::string_view key, std::string_view value) {
  HOODY_ASSERT(!key.empty() && key.size() <= kMaxKeyBytes, "key LMDB cannot store");
  store_->mutations_.fetch_add(1, std::memory_order_relaxed);
  active_->PutAt(t, Touch(t, key), value);
}

void WriteScope::Delete(Table t, std::string_view key) {
  store_->mutations_.fetch_add(1, std::memory_order_relaxed);
  active_->DeleteAt(t, Touch(t, key));
}

void WriteScope::OnCommit(std::function<void(WriteScope&)> action) {
  HOODY_ASSERT(!committed_, "OnCommit after Commit");
  on_commit_.push_back(std::move(action));
}

void WriteScope::OnRollback(std::function<void()> action) {
  HOODY_ASSERT(!committed_, "OnRollback after Commit");
  on_rollback_.push_back(std::move(action));
}

void WriteScope::Commit() {
  HOODY_ASSERT(!committed_, "WriteScope committed twice");
  committed_ = true;
  store_->commits_.fetch_add(1, std::memory_order_relaxed);
  for (auto& action : on_commit_) action(*this);
  on_commit_.clear();
  on_rollback_.clear();
  undo_.clear();
}

// ---- KvStore ----

namespace {
// KvStore's own LMDB database, beside the tables and invisible to their scans.
constexpr const char* kOwnTableName = "kvstore";
// In it: the epoch of the memtable the last LMDB commit wrote (Wal: the log
// records of epochs up to it are obsolete). Absent before the first commit.
constexpr std::string_view kCommittedEpochKey = "committed-epoch";
}  // namespace

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::string& path, const EnvOptions& options,
                                               DataReplay replay) {
  std::unique_ptr<KvStore> store(new KvStore());
  HOODY_ASSIGN_OR_RETURN(store->env_, Env::Open(path, options));
  HOODY_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(*store->env_));
  for (size_t i = 0; i < kTableCount; ++i) {
    HOODY_ASSIGN_OR_RETURN(store->tables_[i], txn.OpenTable(kTableNames[i]));
  }
  HOODY_ASSIGN_OR_RETURN(store->own_table_, txn.OpenTable(kOwnTableName));
  HOODY_RETURN_IF_ERROR(std::move(txn).Commit());
  HOODY_ASSIGN_OR_RETURN(store->wal_, Wal::Open(path));
  HOODY_RETURN_IF_ERROR(store->Recover(replay).WithContext("replay the metadata log of " + path));
  return store;
}

namespace {
Result<uint64_t> FileBytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FromErrno(errno, "stat " + path);
  return static_cast<uint64_t>(st.st_size);
}
}  // namespace

Result<KvStore::CompactResult> KvStore::Compact(const std::string& path, const EnvOptions& options,
                                                DataReplay replay) {
  CompactResult result;
  HOODY_ASSIGN_OR_RETURN(result.bytes_before, FileBytes(path));
  const std::string copy = path + ".compact";
  // Left by a compaction that was killed before its rename: never live.
  if (::unlink(copy.c_str()) != 0 && errno != ENOENT) return FromErrno(errno, "remove " + copy);
  {
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<KvStore> kv, Open(path, options, std::move(replay)));
    Status copied = kv->env_->CopyCompacted(copy);
    if (!copied.ok()) {
      (void)::unlink(copy.c_str());
      return copied;
    }
  }
  if (::rename(copy.c_str(), path.c_str()) != 0) {
    const int err = errno;
    (void)::unlink(copy.c_str());
    return FromErrno(err, "rename " + copy + " over " + path);
  }
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  const UniqueFd dir_fd(
      ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return FromErrno(errno, "open " + dir);
  if (::fsync(dir_fd.get()) != 0) return FromErrno(errno, "sync " + dir);
  HOODY_ASSIGN_OR_RETURN(result.bytes_after, FileBytes(path));
  return result;
}

// Single-threaded: called by Open before the store is shared.
Status KvStore::Recover(const DataReplay& replay) {
  uint64_t committed = 0;
  {
    HOODY_ASSIGN_OR_RETURN(ReadTxn txn, ReadTxn::Begin(*env_));
    HOODY_ASSIGN_OR_RETURN(auto v, txn.Get(own_table_, kCommittedEpochKey));
    if (v) {
      if (v->size() != 8) return Status::Corruption("committed epoch record of the wrong size");
      committed = GetLe64(v->data());
    }
  }
  HOODY_ASSIGN_OR_RETURN(WalRecovery recovered, wal_->Recover(committed));
  if (recovered.epoch != 0) {
    if (!recovered.data.empty()) {
      if (!replay) {
        return Status::InvalidArgument(
            "the metadata log holds file data of fsync'd writes; open the store (hoodyfs fsck, "
            "or mount) to write it back first");
      }
      // Data before the entries that point at it, as at every commit.
      HOODY_RETURN_IF_ERROR(replay(recovered.data));
    }
    MemTable replayed;
    for (const WalEntry& e : recovered.entries) {
      if (e.tombstone) {
        replayed.Delete(e.table, e.key);
      } else {
        replayed.Put(e.table, e.key, e.value);
      }
    }
    HOODY_RETURN_IF_ERROR(CommitSealed(replayed, recovered.epoch));
    Log(LogLevel::kInfo, "replayed " + std::to_string(recovered.records) +
                             " metadata log records (" + std::to_string(replayed.entries()) +
                             " keys) of epoch " + std::to_string(recovered.epoch));
    committed = recovered.epoch;
  }
  // Epochs keep growing across opens, so no live record is ever mistaken
  // for one of a later epoch.
  active_epoch_ = committed + 1;
  durable_epoch_ = committed;
  return Status::OK();
}

KvStore::~KvStore() {
  // Pooled transactions must end before the environment closes.
  txn_pool_.clear();
}

Result<ReadTxn> KvStore::AcquireTxn() {
  {
    MutexLock l(pool_mu_);
    if (!txn_pool_.empty()) {
      ReadTxn txn = std::move(txn_pool_.back());
      txn_pool_.pop_back();
      HOODY_RETURN_IF_ERROR(txn.Renew());
      return txn;
    }
  }
  return ReadTxn::Begin(*env_);
}

void KvStore::ReleaseTxn(ReadTxn txn) {
  txn.Reset();
  MutexLock l(pool_mu_);
  txn_pool_.push_back(std::move(txn));
}

uint64_t KvStore::ActiveEpoch() const {
  ReaderLock l(state_mu_);
  return active_epoch_;
}

uint64_t KvStore::DurableEpoch() const {
  ReaderLock l(state_mu_);
  return durable_epoch_;
}

size_t KvStore::PendingBytes() const {
  ReaderLock l(state_mu_);
  return active_->ApproximateBytes() + (sealed_ ? sealed_->ApproximateBytes() : 0);
}

void KvStore::DropPendingForTest() {
  WriterLock l(state_mu_);
  active_ = std::make_unique<MemTable>();
  sealed_.reset();
}

Status KvStore::CommitSealed(const MemTable& sealed, uint64_t epoch) {
  HOODY_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(*env_));
  std::string epoch_value;
  PutLe64(&epoch_value, epoch);
  HOODY_RETURN_IF_ERROR(txn.Put(own_table_, kCommittedEpochKey, epoch_value));
  for (size_t i = 0; i < kTableCount; ++i) {
    const Table t = static_cast<Table>(i);
    for (const auto& [key, entry] : sealed.map(t)) {
      if (entry.tombstone) {
        HOODY_RETURN_IF_ERROR(txn.Delete(tables_[i], key));
      } else {
        HOODY_RETURN_IF_ERROR(txn.Put(tables_[i], key, entry.value));
      }
    }
  }
  HOODY_TEST_HOOK("kv.before_commit");
  HOODY_RETURN_IF_ERROR(std::move(txn).Commit());
  HOODY_TEST_HOOK("kv.after_commit");
  return Status::OK();
}

Status KvStore::CommitNothing() {
  MutexLock flush_lock(flush_mu_);
  HOODY_ASSIGN_OR_RETURN(WriteTxn txn, WriteTxn::Begin(*env_));
  // A key put and deleted again: the transaction is dirty (LMDB skips the
  // commit of a clean one) and leaves nothing behind.
  constexpr std::string_view kKey = "\xff commit-nothing";
  HOODY_RETURN_IF_ERROR(txn.Put(tables_[TableIndex(Table::kMeta)], kKey, ""));
  HOODY_RETURN_IF_ERROR(txn.Delete(tables_[TableIndex(Table::kMeta)], kKey));
  return std::move(txn).Commit();
}

Status KvStore::Flush() {
  uint64_t wanted;
  {
    ReaderLock l(state_mu_);
    wanted = active_epoch_;
  }
  // Where a caller may start waiting for a commit in flight (the
  // backpressure test lets a held flusher go on from here).
  HOODY_TEST_HOOK("kv.flush.before_lock");
  MutexLock flush_lock(flush_mu_);
  for (;;) {
    uint64_t sealed_epoch;
    const MemTable* to_commit;
    {
      WriterLock l(state_mu_);
      // Group commit: a flush that ran while we waited may already cover us.
      if (durable_epoch_ >= wanted) return Status::OK();
      // A sealed memtable left by a failed flush is retried first, alone.
      if (!sealed_) {
        if (active_->empty()) {
          // Nothing to commit, but what rolled-back scopes left in its arena
          // goes (no scope is open: we hold the lock).
          if (active_->ApproximateBytes() > 0) active_ = std::make_unique<MemTable>();
          durable_epoch_ = active_epoch_++;
          return Status::OK();
        }
        sealed_ = std::move(active_);
        active_ = std::make_unique<MemTable>();
        ++active_epoch_;
      }
      sealed_epoch = active_epoch_ - 1;
      // Only this flusher (flush_mu_) replaces sealed_, so the pointer stays
      // good after the lock is dropped.
      to_commit = sealed_.get();
    }
    if (hooks_.before_commit) HOODY_RETURN_IF_ERROR(hooks_.before_commit());
    // The sealed memtable is immutable now; reading it without the lock is safe.
    HOODY_RETURN_IF_ERROR(CommitSealed(*to_commit, sealed_epoch));
    std::unique_ptr<MemTable> retired;
    {
      WriterLock l(state_mu_);
      retired = std::move(sealed_);
      durable_epoch_ = sealed_epoch;
    }
    // Freed outside the lock. Its arena's chunks go back whole: the large
    // ones straight to the system, the small ones to malloc, which the
    // arena notes to the heap trimmer (base/heap_trim.h).
    retired.reset();
    if (hooks_.after_commit) hooks_.after_commit(sealed_epoch);
  }
}

Status KvStore::Sync() {
  MutexLock flush_lock(flush_mu_);
  uint64_t epoch;
  WalPayload payload;
  bool must_commit;
  {
    WriterLock l(state_mu_);
    epoch = active_epoch_;
    // A commit that failed is retried by Flush first: records of this epoch
    // would replay on top of an LMDB that lacks the sealed epoch.
    must_commit = sealed_ != nullptr || log_failed_epoch_ == epoch ||
                  active_->ApproximateBytes() > kMaxLogBytesPerEpoch;
    if (!must_commit) {
      if (!active_->has_unlogged()) return Status::OK();  // an earlier Sync covered us
      active_->DrainUnlogged([&](Table t, std::string_view key, const MemEntry& e) {
        payload.Add(t, key, e.tombstone, e.value);
      });
      if (payload.empty()) return Status::OK();  // rolled back to a logged state
      must_commit = wal_->BytesInEpoch(epoch) + payload.bytes().size() > kMaxLogBytesPerEpoch;
    }
  }
  if (must_commit) {
    // Entries drained above are still in the memtable, so the commit holds
    // them; no record of this epoch may follow, as they are in none.
    log_failed_epoch_ = epoch;
    flush_lock.Unlock();
    return Flush();
  }
  Status s = hooks_.before_log      ? hooks_.before_log(payload)
             : hooks_.before_commit ? hooks_.before_commit()
                                    : Status::OK();
  if (s.ok()) s = wal_->Append(epoch, payload.bytes());
  if (!s.ok()) {
    // What this Sync drained is in no record: until this epoch is committed
    // to LMDB, no later record may be written.
    log_failed_epoch_ = epoch;
    return s;
  }
  log_appends_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace hoodyfs::index
