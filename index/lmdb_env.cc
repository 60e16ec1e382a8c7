#include "index/lmdb_env.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "base/unique_fd.h"

namespace hoodyfs::index {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif
// ThreadSanitizer leaves a program about 1.5 TiB of address space for large
// mappings (its shadow memory takes the rest), so a second environment of
// the default 1 TiB open at once fails with ENOMEM (a test that remounts,
// or mounts a snapshot beside the head). Its builds map at most this much.
constexpr uint64_t kThreadSanitizerMapBytes = uint64_t{64} << 30;

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}
}  // namespace

Status FromMdb(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return Status::OK();
  std::string m(what);
  m += ": ";
  m += mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return Status(Code::kNotFound, std::move(m));
    case MDB_KEYEXIST:
      return Status(Code::kExists, std::move(m));
    case MDB_MAP_FULL:
      return Status(Code::kNoSpace, std::move(m), ENOSPC);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_PANIC:
    case MDB_VERSION_MISMATCH:
      return Status(Code::kCorruption, std::move(m));
    // A finished, reset or earlier-failed transaction: the operation failed,
    // the store is not damaged, so never report it as corruption.
    case MDB_BAD_TXN:
      return Status(Code::kIoError, std::move(m));
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_MAP_RESIZED:
      return Status(Code::kBusy, std::move(m));
    default:
      break;
  }
  if (rc > 0) return FromErrno(rc, what);
  return Status(Code::kIoError, std::move(m));
}

Result<std::unique_ptr<Env>> Env::Open(const std::string& path, const EnvOptions& options) {
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) return FromMdb(rc, "mdb_env_create");
  std::unique_ptr<Env> env(new Env(raw));
  const uint64_t map_bytes = kThreadSanitizer
                                 ? std::min(options.map_size_bytes, kThreadSanitizerMapBytes)
                                 : options.map_size_bytes;
  rc = mdb_env_set_mapsize(raw, map_bytes);
  if (rc == 0) rc = mdb_env_set_maxreaders(raw, options.max_readers);
  if (rc == 0) rc = mdb_env_set_maxdbs(raw, options.max_tables);
  if (rc != 0) return FromMdb(rc, "configure LMDB environment " + path);
  // The kernel's read-around stays on (no MDB_NORDAHEAD, which LMDB meant
  // for databases larger than memory): a cold walk of the tables faults the
  // map in one 4 KiB page at a time without it. A cold `find -ls` of
  // 100,000 files took 17,400-18,400 major faults and 2.0-2.5 s, against
  // 0.9-1.0 s with it; random 4 KiB reads of a file did not move (docs/benchmarks.md,
  // "The metadata file with the kernel's read-around").
  rc = mdb_env_open(raw, path.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0600);
  if (rc != 0) return FromMdb(rc, "open LMDB environment " + path);
  int dead = 0;
  rc = mdb_reader_check(raw, &dead);
  if (rc != 0) return FromMdb(rc, "mdb_reader_check " + path);
  return env;
}

Env::~Env() { mdb_env_close(env_); }

Status Env::CopyCompacted(const std::string& to_path) const {
  UniqueFd fd(::open(to_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return FromErrno(errno, "create " + to_path);
  const int rc = mdb_env_copyfd2(env_, fd.get(), MDB_CP_COMPACT);
  if (rc != 0) return FromMdb(rc, "compacted copy to " + to_path);
  if (::fdatasync(fd.get()) != 0) return FromErrno(errno, "sync " + to_path);
  if (::close(fd.Release()) != 0) return FromErrno(errno, "close " + to_path);
  return Status::OK();
}

Txn::Txn(Txn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}
Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    Abort();
    txn_ = std::exchange(other.txn_, nullptr);
  }
  return *this;
}
Txn::~Txn() { Abort(); }

void Txn::Abort() {
  if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
}

Result<std::optional<std::string_view>> Txn::Get(TableHandle table, std::string_view key) const {
  MDB_val k = ToVal(key);
  MDB_val v;
  int rc = mdb_get(txn_, table.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return FromMdb(rc, "mdb_get");
  return std::optional<std::string_view>(FromVal(v));
}

Result<ReadTxn> ReadTxn::Begin(const Env& env) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return FromMdb(rc, "begin read transaction");
  return ReadTxn(txn);
}

void ReadTxn::Reset() { mdb_txn_reset(txn_); }

Status ReadTxn::Renew() { return FromMdb(mdb_txn_renew(txn_), "renew read transaction"); }

Result<WriteTxn> WriteTxn::Begin(const Env& env) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.raw(), nullptr, 0, &txn);
  if (rc != 0) return FromMdb(rc, "begin write transaction");
  return WriteTxn(txn);
}

Result<TableHandle> WriteTxn::OpenTable(const char* name) {
  MDB_dbi dbi;
  int rc = mdb_dbi_open(txn_, name, MDB_CREATE, &dbi);
  if (rc != 0) return FromMdb(rc, std::string("open table ") + name);
  return TableHandle{dbi};
}

Status WriteTxn::Put(TableHandle table, std::string_view key, std::string_view value) {
  HOODY_ASSERT(!poisoned_, "Put on a poisoned write transaction");
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_put(txn_, table.dbi, &k, &v, 0);
  if (rc != 0) poisoned_ = true;
  return FromMdb(rc, "mdb_put");
}

Status WriteTxn::Delete(TableHandle table, std::string_view key) {
  HOODY_ASSERT(!poisoned_, "Delete on a poisoned write transaction");
  MDB_val k = ToVal(key);
  int rc = mdb_del(txn_, table.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::OK();
  if (rc != 0) poisoned_ = true;
  return FromMdb(rc, "mdb_del");
}

namespace {
// Whether the host filesystem under the LMDB file has no room: asks it for a
// little (allocated past the end of the file, then given back), since the
// free counts of statvfs do not say what a write may use (ext4 and XFS keep
// blocks back even from root).
bool HostLooksFull(MDB_env* env) {
  mdb_filehandle_t fd = -1;
  if (mdb_env_get_fd(env, &fd) != 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  constexpr off_t kProbeBytes = 64 << 10;
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, kProbeBytes) == 0) {
    // Gives the probe's blocks back: they lie past the end of the file.
    (void)::ftruncate(fd, st.st_size);
    return false;
  }
  if (errno == ENOSPC || errno == EDQUOT) return true;
  // No fallocate on this host filesystem: judge by what statvfs says.
  struct statvfs sv;
  if (::fstatvfs(fd, &sv) != 0) return false;
  return uint64_t{sv.f_bavail} * sv.f_frsize < (uint64_t{1} << 20);
}
}  // namespace

Status WriteTxn::Commit() && {
  HOODY_ASSERT(!poisoned_, "Commit of a poisoned write transaction");
  MDB_env* env = mdb_txn_env(txn_);
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  // LMDB reports a short page write as EIO (mdb_page_flush), and a short
  // write is what a full host filesystem gives it: name that cause, so the
  // caller answers ENOSPC and the store can fall back on its reserve.
  if (rc == EIO && HostLooksFull(env)) {
    return Status(Code::kNoSpace,
                  "commit metadata transaction: the host filesystem is full (LMDB: " +
                      std::string(mdb_strerror(rc)) + ")",
                  ENOSPC);
  }
  return FromMdb(rc, "commit metadata transaction");
}

Result<uint64_t> Env::FreePageBytes() const {
  // The free list is LMDB's table 0: each record holds a count of page
  // numbers (an IDL whose first word is its length), freed by one commit.
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return FromMdb(rc, "begin read transaction");
  MDB_cursor* c = nullptr;
  rc = mdb_cursor_open(txn, 0, &c);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return FromMdb(rc, "open the free list");
  }
  uint64_t pages = 0;
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (v.mv_size >= sizeof(size_t)) pages += *static_cast<const size_t*>(v.mv_data);
  }
  mdb_cursor_close(c);
  MDB_stat st;
  const int stat_rc = mdb_env_stat(env_, &st);
  mdb_txn_abort(txn);
  if (rc != MDB_NOTFOUND) return FromMdb(rc, "read the free list");
  if (stat_rc != 0) return FromMdb(stat_rc, "mdb_env_stat");
  return pages * st.ms_psize;
}

Result<Cursor> Cursor::Open(const Txn& txn, TableHandle table) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.raw(), table.dbi, &c);
  if (rc != 0) return FromMdb(rc, "mdb_cursor_open");
  return Cursor(c);
}

Cursor::Cursor(Cursor&& other) noexcept
    : cursor_(std::exchange(other.cursor_, nullptr)), key_(other.key_), value_(other.value_) {}
Cursor& Cursor::operator=(Cursor&& other) noexcept {
  if (this != &other) {
    if (cursor_) mdb_cursor_close(cursor_);
    cursor_ = std::exchange(other.cursor_, nullptr);
    key_ = other.key_;
    value_ = other.value_;
  }
  return *this;
}
Cursor::~Cursor() {
  if (cursor_) mdb_cursor_close(cursor_);
}

Result<bool> Cursor::Move(int op, std::string_view key) {
  MDB_val k = ToVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_cursor_get(cursor_, &k, &v, static_cast<MDB_cursor_op>(op));
  if (rc == MDB_NOTFOUND) {
    key_ = value_ = {};
    return false;
  }
  if (rc != 0) return FromMdb(rc, "mdb_cursor_get");
  key_ = FromVal(k);
  value_ = FromVal(v);
  return true;
}

Result<bool> Cursor::Seek(std::string_view key) {
  // MDB_SET_RANGE rejects an empty key; an empty key means "from the start".
  if (key.empty()) return First();
  return Move(MDB_SET_RANGE, key);
}
Result<bool> Cursor::First() { return Move(MDB_FIRST, {}); }
Result<bool> Cursor::Next() { return Move(MDB_NEXT, {}); }

}  // namespace hoodyfs::index
