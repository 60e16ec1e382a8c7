// Store: the store-wide side of fallocate's reservations (docs/design.md,
// "Reservations"): their total, the room they leave for everything else, the
// data file grown to back them, and their end with the head that held them.
//
// The per-file side (which blocks of which file are reserved) is the
// reservations table, written by FileSystem (fs_reserve.cc); the total here
// is its sum, kept in memory and recomputed at open, so it never disagrees
// with what the last commit recorded.
#include <sys/statvfs.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "base/coding.h"
#include "index/keys.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {

using index::KvScope;
using index::ReadScope;
using index::Table;
using index::WriteScope;

namespace {
// Blocks in one value of the reservations table. Errors: kCorruption.
Result<uint64_t> BlocksIn(std::string_view key, std::string_view value) {
  if (value.size() != 8) {
    return Status::Corruption("reservation record of " + std::to_string(key.size()) +
                              "-byte key holds " + std::to_string(value.size()) + " bytes, not 8");
  }
  return static_cast<uint64_t>(std::popcount(GetLe64(value.data())));
}
}  // namespace

Status Store::LoadReservations(const KvScope& scope) {
  reserved_blocks_ = 0;
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, scope.NewIterator(Table::kReservations));
  for (it.Seek(""); it.Valid(); it.Next()) {
    HOODY_ASSIGN_OR_RETURN(uint64_t n, BlocksIn(it.key(), it.value()));
    reserved_blocks_ += n;
  }
  return it.status();
}

void Store::AdjustReserved(WriteScope& scope, int64_t delta) {
  if (delta == 0) return;
  HOODY_ASSERT(delta > 0 || reserved_blocks_ >= static_cast<uint64_t>(-delta),
               "releasing more reserved blocks than are reserved");
  reserved_blocks_ = static_cast<uint64_t>(static_cast<int64_t>(reserved_blocks_) + delta);
  scope.OnRollback([this, delta] {
    reserved_blocks_ = static_cast<uint64_t>(static_cast<int64_t>(reserved_blocks_) - delta);
  });
}

uint64_t Store::reserved_blocks() const {
  ReadScope s(*kv_);
  return reserved_blocks_;
}

uint64_t Store::AvailableBlocks() const {
  ReadScope s(*kv_);
  return AvailableBlocksLocked();
}

uint64_t Store::AvailableBlocksLocked() const {
  struct statvfs host;
  uint64_t host_free_blocks = 0;
  if (::statvfs(dir_.c_str(), &host) == 0) {
    host_free_blocks = uint64_t{host.f_bavail} * host.f_frsize / kBlockSize;
  }
  // The data file grows on demand: what the host has free is ours too.
  const uint64_t free = allocator_.capacity_blocks() - allocator_.used_blocks() + host_free_blocks;
  return free > reserved_blocks_ ? free - reserved_blocks_ : 0;
}

Status Store::BackReservations(WriteScope& scope) {
  // Blocks quarantined come back at the next commit, blocks reserved in
  // memory belong to writes in flight, and block 0 is never handed out:
  // only what an allocation can take now backs a reservation.
  const uint64_t in_file = allocator_.free_blocks();
  if (in_file >= reserved_blocks_) return Status::OK();
  const uint64_t missing = reserved_blocks_ - in_file;
  const uint64_t groups = (missing + index::kFreeMapGroupBlocks - 1) / index::kFreeMapGroupBlocks;
  return GrowDataFile(scope, groups);
}

Status Store::DropReservations(WriteScope& scope, const std::string& container) {
  const std::string prefix = index::ReservationPrefix(container);
  std::vector<std::string> keys;
  uint64_t released = 0;
  {
    HOODY_ASSIGN_OR_RETURN(index::KvIterator it, scope.NewIterator(Table::kReservations));
    for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next()) {
      HOODY_ASSIGN_OR_RETURN(uint64_t n, BlocksIn(it.key(), it.value()));
      released += n;
      keys.emplace_back(it.key());
    }
    HOODY_RETURN_IF_ERROR(it.status());
  }
  for (const std::string& k : keys) scope.Delete(Table::kReservations, k);
  AdjustReserved(scope, -static_cast<int64_t>(released));
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
