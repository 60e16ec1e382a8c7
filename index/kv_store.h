// KvStore: the metadata key-value store. LMDB holds the committed state; an
// in-memory MemTable in front of it holds every change since the last commit.
// Readers see memtable-over-LMDB, so a change is visible to every later call
// the moment it is made, while durability comes in group commits (Flush):
// one synced LMDB transaction for everything pending, never one per call.
//
// Why not one synced commit per call: two fdatasyncs (~0.4 ms) per call caps
// a file create at a few thousand per second. Why not MDB_NOSYNC between
// syncs: LMDB then overwrites the durable meta page and reuses the durable
// tree's pages, so a power loss corrupts it. See docs/design.md.
//
// Concurrency: one writer-preferring reader/writer lock (StateMutex) guards
// the memtables and whatever in-memory state the owner ties to them (the
// generation tree, the block allocator). A ReadScope holds it shared, a
// WriteScope exclusively; Flush takes it only for two brief moments (seal and
// retire), and writes LMDB while readers and writers go on against the
// sealed memtable.
//
// Flush order: seal the active memtable -> before_commit hook (the owner
// fdatasyncs file data, so data is durable before the metadata pointing at
// it) -> one LMDB write transaction applies the sealed memtable -> synced
// commit -> retire it -> after_commit hook (release of deferred frees).
//
// Sync (an fsync) is cheaper than Flush: it appends what changed since the
// previous Sync to the write-ahead log (index/wal.h), one write and one
// fdatasync, with the file data of a small change in the same record
// (before_log hook; otherwise before_commit syncs it first); the memtable
// stays, and its LMDB commit comes with the next Flush. Open replays the
// log's live records, data first.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "index/lmdb_env.h"
#include "index/memtable.h"
#include "index/schema.h"
#include "index/wal.h"

namespace hoodyfs::index {

class KvStore;

// The state lock: a reader/writer lock that lets a waiting writer in before
// new readers. std::shared_mutex on glibc prefers readers, so a steady stream
// of overlapping ReadScopes (one per FUSE request, several threads) would
// starve every WriteScope and the seal and retire steps of Flush forever.
// Satisfies SharedMutex for std::unique_lock and std::shared_lock, and is a
// capability to clang's analysis (taken through WriterLock / ReaderLock,
// base/mutex.h, where the rule should be checked).
// REQUIRES: a thread never takes it twice, not even shared twice (with a
// writer waiting, the second shared acquisition blocks: deadlock).
class CAPABILITY("state lock") StateMutex {
 public:
  StateMutex();
  ~StateMutex();
  StateMutex(const StateMutex&) = delete;
  StateMutex& operator=(const StateMutex&) = delete;

  void lock() ACQUIRE();
  void unlock() RELEASE();
  void lock_shared() ACQUIRE_SHARED();
  void unlock_shared() RELEASE_SHARED();

 private:
  pthread_rwlock_t rw_;
};

// An ordered iterator over one table of a scope's view: the memtables merged
// over LMDB, newest first, tombstones hidden. Invalidated by any Put/Delete
// made through the scope it came from. As in LevelDB, an error makes the
// iterator invalid and sticks in status(): check it after the loop.
class KvIterator {
 public:
  KvIterator(KvIterator&&) noexcept;
  KvIterator& operator=(KvIterator&&) noexcept;
  ~KvIterator();

  // Keys >= `bound` end the iteration (empty: no bound). Without it a scan
  // that stops at a prefix's end would still walk every tombstone past it.
  void SetUpperBound(std::string bound) { upper_bound_ = std::move(bound); }
  // Positions at the first key >= `key`.
  void Seek(std::string_view key);
  void Next();
  bool Valid() const { return valid_; }
  const Status& status() const { return status_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  friend class KvScope;
  struct MemSource {
    const MemTable::Map* map;
    MemTable::Map::const_iterator it;
  };
  KvIterator(std::vector<MemSource> mems, std::optional<Cursor> cursor);
  void Fail(Status s);
  Status Settle();  // moves to the first visible entry at or after the sources' minimum
  std::vector<MemSource> mems_;  // newest first
  std::optional<Cursor> cursor_;
  bool cursor_valid_ = false;
  bool valid_ = false;
  std::string upper_bound_;
  Status status_;
  std::string_view key_;
  std::string_view value_;
};

// A consistent view of the store for the duration of one operation. Values
// returned by Get are valid until the next Put/Delete through this scope or
// the scope's end. ReadScope holds the state lock shared, WriteScope
// exclusively; the LMDB read transaction is taken on first use (after the
// lock, so the memtables captured and the LMDB snapshot agree).
class KvScope {
 public:
  KvScope(const KvScope&) = delete;
  KvScope& operator=(const KvScope&) = delete;
  ~KvScope();

  // Errors: kCorruption, kIoError, kBusy (LMDB).
  Result<std::optional<std::string_view>> Get(Table t, std::string_view key) const;
  Result<KvIterator> NewIterator(Table t) const;

 protected:
  KvScope(KvStore& store, bool exclusive);
  Status EnsureTxn() const;

  KvStore* store_;
  std::shared_lock<StateMutex> shared_lock_;
  std::unique_lock<StateMutex> unique_lock_;
  MemTable* active_;
  const MemTable* sealed_;  // may be null
  mutable std::optional<ReadTxn> txn_;
};

class ReadScope : public KvScope {
 public:
  explicit ReadScope(KvStore& store) : KvScope(store, /*exclusive=*/false) {}
};

// A WriteScope is all-or-nothing: its changes stay only if Commit() is
// called; a scope destroyed uncommitted (an operation that failed half way)
// puts every memtable entry it touched back as it was, so a failed call
// leaves nothing behind. In-memory state outside the memtable that must
// follow the same rule registers an OnCommit action instead of changing
// eagerly.
class WriteScope : public KvScope {
 public:
  explicit WriteScope(KvStore& store) : KvScope(store, /*exclusive=*/true) {}
  ~WriteScope();

  void Put(Table t, std::string_view key, std::string_view value);
  void Delete(Table t, std::string_view key);
  // Runs `action` at Commit(), in registration order, still under the lock.
  void OnCommit(std::function<void(WriteScope&)> action);
  // Runs `action` if the scope ends uncommitted, newest first: the undo of
  // an eager in-memory change (an allocation) made inside the scope.
  void OnRollback(std::function<void()> action);
  void Commit();
  // Epoch of the memtable this scope writes into.
  uint64_t epoch() const;

 private:
  struct Undo {
    Table table;
    MemTable::Map::iterator entry;  // in active_, which no one swaps while the scope lives
    std::optional<MemEntry> saved;  // nullopt: the scope made the entry
  };
  // The entry for key, with an undo record of it when the scope is open.
  MemTable::Map::iterator Touch(Table t, std::string_view key);
  // A file system call puts a handful of keys: room for them at the first,
  // so the undo log does not regrow (and move its strings) on the way.
  static constexpr size_t kUndoReserve = 8;
  std::vector<Undo> undo_;
  std::vector<std::function<void(WriteScope&)>> on_commit_;
  std::vector<std::function<void()>> on_rollback_;
  bool committed_ = false;
};

struct FlushHooks {
  // Called after sealing and before the LMDB commit; a failure aborts the flush.
  std::function<Status()> before_commit;
  // Called by Sync with the record it is about to append, which holds the
  // entries changed since the previous Sync: the owner makes the file data
  // those entries point at durable with the record, either by adding it
  // (WalPayload::AddData; one flush for both) or as before_commit does.
  // Unset: Sync calls before_commit. A failure aborts the Sync.
  std::function<Status(WalPayload&)> before_log;
  // Called after the commit is durable, with no KvStore lock held.
  std::function<void(uint64_t epoch)> after_commit;
};

// Writes the file data of the log's live records back, and makes it durable,
// before Open commits their entries (FlushHooks::before_log put it there).
using DataReplay = std::function<Status(const std::vector<WalData>&)>;

class KvStore {
 public:
  // Opens the LMDB environment at `path` and every table, and replays the
  // log's live records; their file data goes to `replay`, without which a
  // log holding file data is refused (kInvalidArgument).
  // Errors: kIoError, kCorruption, kPermission, kInvalidArgument.
  static Result<std::unique_ptr<KvStore>> Open(const std::string& path, const EnvOptions& options,
                                               DataReplay replay = {});
  ~KvStore();

  // Shrinks the LMDB file at `path` to its live pages, giving the rest back
  // to the host (an LMDB file never shrinks by itself: pages freed by
  // deletes serve later metadata only). Opens it (replaying the log, so
  // the copy holds every durable change and the log records stay obsolete),
  // writes a compacted copy beside it (`path` + ".compact"), syncs it and
  // renames it over `path`, then syncs the directory: a crash at any point
  // leaves the old file or the new one, both whole. REQUIRES: no other
  // process or KvStore has `path` open (Store holds its lock file).
  // Returns the file's sizes before and after. Errors: as Open, kNoSpace
  // (no room for the copy: the file is as it was), kIoError.
  struct CompactResult {
    uint64_t bytes_before = 0;
    uint64_t bytes_after = 0;
  };
  static Result<CompactResult> Compact(const std::string& path, const EnvOptions& options,
                                       DataReplay replay = {});

  void SetFlushHooks(FlushHooks hooks) { hooks_ = std::move(hooks); }

  // Makes every change made before the call durable: one synced LMDB commit
  // covering everything pending (group commit: concurrent callers share it).
  // Errors: kNoSpace, kIoError; on error nothing is lost from the in-memory
  // view and a later Flush retries.
  Status Flush() EXCLUDES(flush_mu_, state_mu_);

  // Makes every change made before the call durable, as Flush does, but
  // through the write-ahead log when it can: one record of what changed
  // since the previous Sync, with one fdatasync, and no LMDB commit (that
  // stays with the next Flush). Falls back to Flush while a failed commit is
  // pending, after a failed append, and past kMaxLogBytesPerEpoch.
  // Errors: as Flush.
  Status Sync() EXCLUDES(flush_mu_, state_mu_);
  static constexpr uint64_t kMaxLogBytesPerEpoch = 64u << 20;
  // Records appended to the log since open, for tests.
  uint64_t LogAppendCount() const { return log_appends_.load(std::memory_order_relaxed); }

  // One synced LMDB commit that changes nothing, for a full host: LMDB
  // reuses the pages a commit freed only once a later commit exists (the
  // previous tree stays whole until then), so after a commit that freed
  // pages this one lets the next commit build from them instead of growing
  // the file. Errors: kNoSpace, kIoError.
  Status CommitNothing() EXCLUDES(flush_mu_);

  // Epoch of the active memtable: a change made in epoch E is durable once
  // DurableEpoch() >= E. These take the state lock shared: REQUIRES the
  // calling thread holds no scope (see StateMutex).
  uint64_t ActiveEpoch() const EXCLUDES(state_mu_);
  // Number of Put/Delete calls made through write scopes since open: lets
  // tests check that an operation's work does not grow with the store.
  uint64_t MutationCount() const { return mutations_.load(std::memory_order_relaxed); }
  // Number of write scopes committed since open: lets tests check that an
  // operation is one atomic change (a freeze sees all of it or none).
  uint64_t CommitCount() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t DurableEpoch() const EXCLUDES(state_mu_);
  size_t PendingBytes() const EXCLUDES(state_mu_);

  // Test seam for crash simulation: forgets every change not yet committed,
  // as a process death would. REQUIRES: no scope or Flush in progress.
  void DropPendingForTest() EXCLUDES(state_mu_);

  const Env& env() const { return *env_; }
  TableHandle handle(Table t) const { return tables_[TableIndex(t)]; }

 private:
  friend class KvScope;
  friend class ReadScope;
  friend class WriteScope;
  KvStore() = default;
  Result<ReadTxn> AcquireTxn() EXCLUDES(pool_mu_);
  void ReleaseTxn(ReadTxn txn) EXCLUDES(pool_mu_);
  // Writes the sealed memtable of `epoch` to LMDB, with the epoch (the log
  // records it makes obsolete): only the one flusher does.
  Status CommitSealed(const MemTable& sealed, uint64_t epoch) REQUIRES(flush_mu_);
  // Applies the log's live records on top of LMDB in one commit, and starts
  // the epochs after the newest one LMDB or the log knows. Called by Open.
  Status Recover(const DataReplay& replay) NO_THREAD_SAFETY_ANALYSIS;

  std::unique_ptr<Env> env_;
  std::unique_ptr<Wal> wal_ PT_GUARDED_BY(flush_mu_);
  std::array<TableHandle, kTableCount> tables_{};
  TableHandle own_table_{};  // KvStore's bookkeeping (the committed epoch)
  FlushHooks hooks_;

  // One flusher at a time; taken before the state lock.
  Mutex flush_mu_ ACQUIRED_BEFORE(state_mu_);

  // The memtables and epochs. A scope (KvScope) holds the lock for its
  // lifetime, beyond what the analysis follows: its reads of these are
  // exempted where they happen. The sealed memtable's contents are
  // immutable once sealed, so the flusher writes them to LMDB unlocked.
  mutable StateMutex state_mu_;
  std::unique_ptr<MemTable> active_ GUARDED_BY(state_mu_) = std::make_unique<MemTable>();
  std::unique_ptr<MemTable> sealed_ GUARDED_BY(state_mu_);
  uint64_t active_epoch_ GUARDED_BY(state_mu_) = 1;
  uint64_t durable_epoch_ GUARDED_BY(state_mu_) = 0;

  // An append failed in this epoch: the entries it drained are in no log
  // record, so a later record alone would replay a state that never was.
  // Syncs of this epoch go through Flush.
  uint64_t log_failed_epoch_ GUARDED_BY(flush_mu_) = 0;

  std::atomic<uint64_t> mutations_{0};
  std::atomic<uint64_t> log_appends_{0};
  std::atomic<uint64_t> commits_{0};

  Mutex pool_mu_;
  std::vector<ReadTxn> txn_pool_ GUARDED_BY(pool_mu_);  // reset read transactions ready to renew
};

}  // namespace hoodyfs::index
