// RAII wrappers for LMDB: Env, ReadTxn, WriteTxn, Cursor. This header and
// its .cc are the only code in hoodyfs that includes <lmdb.h>; no raw MDB
// handle leaves index/.
//
// Rules (from lmdb.h, enforced here where cheap):
// - One write transaction at a time per environment; a WriteTxn must be
//   committed or aborted on the thread that began it.
// - The environment is opened with MDB_NOTLS, so a ReadTxn is not tied to a
//   thread, but it must be used by one thread at a time.
// - Values returned by Get() and Cursor point into the memory map: they are
//   valid until the next write in the same transaction or the transaction's
//   end, whichever comes first.
// - A Cursor must be destroyed before its transaction ends.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace hoodyfs::index {

// Maps an LMDB return code to a Status naming `what` failed:
// MDB_NOTFOUND -> kNotFound, MDB_KEYEXIST -> kExists, MDB_MAP_FULL -> kNoSpace,
// MDB_CORRUPTED/PAGE_NOTFOUND/INVALID/PANIC/VERSION_MISMATCH -> kCorruption,
// MDB_READERS_FULL/TXN_FULL/MAP_RESIZED -> kBusy, MDB_BAD_TXN (a finished,
// reset or earlier-failed transaction) -> kIoError, errno values via
// FromErrno, any other LMDB code -> kIoError.
Status FromMdb(int rc, std::string_view what);

struct EnvOptions {
  uint64_t map_size_bytes = uint64_t{1} << 40;  // sparse: reserves address space only
  unsigned max_readers = 1024;                  // well above any FUSE thread count
  unsigned max_tables = 32;
};

class Env {
 public:
  // Opens (creating if absent) the environment in file `path` (MDB_NOSUBDIR,
  // lock file at path + "-lock"). Commits are synced (no MDB_NOSYNC, no
  // MDB_WRITEMAP: a full disk must be an error, not SIGBUS). Stale reader
  // slots of dead processes are cleared (mdb_reader_check). The map is read
  // with the kernel's read-around (no MDB_NORDAHEAD).
  // Errors: kIoError, kCorruption, kPermission.
  static Result<std::unique_ptr<Env>> Open(const std::string& path, const EnvOptions& options);

  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env();

  MDB_env* raw() const { return env_; }  // for index/ internals only

  // Bytes of the pages LMDB's free list holds: room the file has inside it
  // for metadata to grow into before it needs the host's. Reads the whole
  // free list (one record per commit that freed pages): not for hot paths.
  // Errors: kIoError, kCorruption.
  Result<uint64_t> FreePageBytes() const;

  // Writes a compacted copy of the environment to the new file `to_path`
  // (mdb_env_copy with MDB_CP_COMPACT: live pages only, free pages left
  // out, renumbered), fdatasync'd before it returns. Runs in a read
  // transaction: the copy is one point in time. Errors: kExists (to_path
  // exists), kNoSpace, kIoError.
  Status CopyCompacted(const std::string& to_path) const;

 private:
  explicit Env(MDB_env* env) : env_(env) {}
  MDB_env* env_;
};

// A table (LMDB named database). Opened once at startup; cheap to copy.
struct TableHandle {
  unsigned dbi = 0;
};

// Transaction base: move-only; destroying an unfinished transaction aborts it.
class Txn {
 public:
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  // Looks up `key`. Returns nullopt when absent.
  // Errors: kCorruption, kIoError.
  Result<std::optional<std::string_view>> Get(TableHandle table, std::string_view key) const;

  MDB_txn* raw() const { return txn_; }
  bool active() const { return txn_ != nullptr; }

 protected:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  void Abort();
  MDB_txn* txn_ = nullptr;
};

class ReadTxn : public Txn {
 public:
  // Errors: kBusy (reader table full), kIoError.
  static Result<ReadTxn> Begin(const Env& env);

  // Releases the snapshot but keeps the reader slot (mdb_txn_reset), and
  // re-acquires a fresh snapshot (mdb_txn_renew): cheaper than begin/abort.
  void Reset();
  Status Renew();

 private:
  using Txn::Txn;
};

class WriteTxn : public Txn {
 public:
  // REQUIRES: no other WriteTxn of this Env is live on any thread.
  static Result<WriteTxn> Begin(const Env& env);

  // Opens (creating) a named table. Only at startup.
  Result<TableHandle> OpenTable(const char* name);

  // Errors: kNoSpace (map or disk full), kIoError. After an error the
  // transaction is poisoned: only destruction (abort) is allowed.
  Status Put(TableHandle table, std::string_view key, std::string_view value);
  // Deleting an absent key is OK.
  Status Delete(TableHandle table, std::string_view key);

  // Commits, synced to disk. Consumes the transaction.
  // Errors: kNoSpace, kIoError; the transaction is gone either way.
  Status Commit() &&;

 private:
  using Txn::Txn;
  bool poisoned_ = false;
};

// A read cursor over one table. REQUIRES: destroyed before its transaction.
class Cursor {
 public:
  static Result<Cursor> Open(const Txn& txn, TableHandle table);
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&& other) noexcept;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // Positions at the first key >= `key`. Returns false at the end.
  Result<bool> Seek(std::string_view key);
  Result<bool> First();
  // Advances. Returns false at the end.
  Result<bool> Next();
  // Valid while positioned (after a call that returned true).
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  Result<bool> Move(int op, std::string_view key);
  MDB_cursor* cursor_ = nullptr;
  std::string_view key_;
  std::string_view value_;
};

}  // namespace hoodyfs::index
