// Store: room on the host filesystem, the reserve and the full state.
//
// A full host filesystem must not jam the store. Every change to metadata,
// a delete included, is a copy-on-write LMDB commit that needs fresh pages
// before it frees the old ones, so once the host has no room left a store
// could not even delete its way out. As ZFS keeps slop space, the store
// keeps `STORE/reserve`, a file of allocated blocks: when a commit fails for
// room, the reserve goes back to the host and the commit is tried again,
// and from then on the store is "full": growth is refused with kNoSpace
// before it changes anything, and what frees space goes on, in small
// commits (the flush threshold drops to a quarter of the reserve). The
// flusher tops the reserve up after its commits; once it is whole, or LMDB
// holds enough free pages of its own to stand in for it (a store whose
// metadata filled the disk, then lost many files), growth is back.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "base/log.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

namespace {
constexpr char kReserveFile[] = "/reserve";
constexpr uint64_t kMinReserve = uint64_t{4} << 20;
constexpr uint64_t kMaxReserve = uint64_t{64} << 20;

std::string MiB(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }
}  // namespace

Status Store::OpenReserve() {
  MutexLock l(space_mu_);
  reserve_fd_.Reset(::open((dir_ + kReserveFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!reserve_fd_.valid()) return FromErrno(errno, "open " + dir_ + kReserveFile);
  reserve_target_ = options_.reserve_bytes;
  if (reserve_target_ == 0) {
    struct statvfs sv;
    if (::fstatvfs(reserve_fd_.get(), &sv) != 0) return FromErrno(errno, "statvfs " + dir_);
    const uint64_t host_bytes = uint64_t{sv.f_blocks} * sv.f_frsize;
    reserve_target_ = std::clamp(host_bytes / 32, kMinReserve, kMaxReserve);
  }
  ReviewSpaceLocked();
  return Status::OK();
}

bool Store::TopUpReserve() {
  if (reserve_target_ == 0) return true;
  struct stat st;
  if (::fstat(reserve_fd_.get(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) >= reserve_target_) {
    return true;
  }
  if (::fallocate(reserve_fd_.get(), 0, 0, static_cast<off_t>(reserve_target_)) == 0) return true;
  if (errno == EOPNOTSUPP) {
    // A host filesystem that cannot allocate ahead: run without a reserve.
    Log(LogLevel::kWarning, dir_ +
                                " is on a filesystem without fallocate: no reserve is kept "
                                "for a full disk");
    reserve_target_ = 0;
    return true;
  }
  return false;
}

bool Store::ReleaseReserve() {
  struct stat st;
  if (::fstat(reserve_fd_.get(), &st) != 0 || st.st_size == 0) return false;
  return ::ftruncate(reserve_fd_.get(), 0) == 0;
}

void Store::EnterFull(const Status& why) {
  if (full_.exchange(true, std::memory_order_acq_rel)) return;
  Log(LogLevel::kWarning, "store " + dir_ + " is full (" + why.ToString() +
                              "): only deletes are accepted until space is freed");
}

Status Store::CheckRoomToGrow() const {
  if (!full()) return Status::OK();
  return Status::NoSpace("the host filesystem under " + dir_ +
                         " is full: the store accepts only deletes (files, snapshots, "
                         "containers) until space is freed");
}

Status Store::CommitPending() {
  Status s = kv_->Flush();
  if (s.code() != Code::kNoSpace) return s;
  EnterFull(s);
  // Room for the commit that failed (still sealed and pending: it goes
  // first): the reserve, if the host still holds it...
  bool released = false;
  {
    MutexLock l(space_mu_);
    released = ReleaseReserve();
  }
  if (released) {
    Log(LogLevel::kWarning, "store " + dir_ + ": gave the host the reserve of " +
                                MiB(reserve_target_) + " to finish a commit");
    s = kv_->Flush();
    if (s.code() != Code::kNoSpace) return s;
  }
  // ...then the pages the last commit freed, which LMDB hands out only
  // after one more commit.
  if (kv_->CommitNothing().ok()) s = kv_->Flush();
  return s;
}

void Store::ReviewSpace() {
  MutexLock l(space_mu_);
  ReviewSpaceLocked();
}

void Store::ReviewSpaceLocked() {
  const bool whole = TopUpReserve();
  if (whole && !full()) return;
  // Freed LMDB pages are room metadata grows into before it needs the host:
  // as good as the reserve for the commits of deletes.
  struct stat st;
  const uint64_t reserve_size =
      ::fstat(reserve_fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  Result<uint64_t> free_pages = kv_->env().FreePageBytes();
  const uint64_t lmdb_free = free_pages.ok() ? *free_pages : 0;
  if (full()) {
    if (whole || reserve_size + lmdb_free >= 2 * reserve_target_) {
      full_.store(false, std::memory_order_release);
      Log(LogLevel::kInfo, "store " + dir_ + " has room again (reserve " + MiB(reserve_size) +
                               ", free metadata pages " + MiB(lmdb_free) + ")");
    }
  } else if (reserve_size + lmdb_free < reserve_target_) {
    EnterFull(Status::NoSpace("the host has no room for the store's reserve: " + MiB(reserve_size) +
                              " of " + MiB(reserve_target_)));
  }
}

}  // namespace hoodyfs::snapshotter
