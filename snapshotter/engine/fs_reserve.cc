// Reservations of FileSystem: what fallocate's allocate modes (0, KEEP_SIZE)
// promise, on a store where every write takes fresh blocks.
//
// Copy-on-write leaves nothing to preallocate: a write never lands in a
// block chosen beforehand. So a reservation is accounted room instead,
// owned by one file of one container's head for single blocks of its range:
// the reservations table holds, per (container, ino, chunk), a bitmask of
// the chunk's blocks that fallocate reserved and nothing has written since.
// Reserved blocks count as used in statfs and as allocated in st_blocks,
// read as zeros (they have no block: a hole), and a write into them draws on
// the reservation rather than on the store's free room, which every other
// growth must leave to them (CheckRoomForWrite). Writes, truncates, punches
// and the file's purge release what they cover. docs/design.md,
// "Reservations", has the whole picture and its limits.
#include <bit>
#include <string>
#include <vector>

#include "base/coding.h"
#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

using index::InodeRecord;
using index::KvScope;
using index::Table;
using index::WriteScope;

namespace {
// The bits of chunk `c`'s blocks that lie in [first, end).
uint64_t ChunkBits(uint64_t c, uint64_t first, uint64_t end) {
  const uint64_t lo = c * index::kChunkBlocks;
  const uint64_t from = std::max(first, lo) - lo;
  const uint64_t to = std::min(end, lo + index::kChunkBlocks) - lo;
  if (from >= to) return 0;
  const uint64_t upto = to == 64 ? ~uint64_t{0} : (uint64_t{1} << to) - 1;
  return upto & ~((uint64_t{1} << from) - 1);
}

Result<uint64_t> DecodeMask(std::string_view value) {
  if (value.size() != 8) return Status::Corruption("reservation record is not 8 bytes");
  return GetLe64(value.data());
}

std::string EncodeMask(uint64_t mask) {
  std::string v;
  PutLe64(&v, mask);
  return v;
}
}  // namespace

Status FileSystem::ForEachReserved(const KvScope& s, Ino ino, uint64_t first_block,
                                   uint64_t end_block,
                                   const std::function<void(uint64_t, uint64_t)>& fn) const {
  if (read_only() || first_block >= end_block) return Status::OK();
  const std::string prefix = index::ReservationInoPrefix(*container_, ino);
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kReservations));
  it.SetUpperBound(index::ReservationKey(*container_, Ino(ino.value + 1), 0));
  it.Seek(index::ReservationKey(*container_, ino, first_block / index::kChunkBlocks));
  for (; it.Valid() && it.key().starts_with(prefix); it.Next()) {
    const uint64_t c = GetBig64(it.key().data() + prefix.size());
    if (c * index::kChunkBlocks >= end_block) break;
    HOODY_ASSIGN_OR_RETURN(uint64_t mask, DecodeMask(it.value()));
    const uint64_t in_range = mask & ChunkBits(c, first_block, end_block);
    if (in_range != 0) fn(c, in_range);
  }
  return it.status();
}

Result<uint64_t> FileSystem::CountReserved(const KvScope& s, Ino ino, uint64_t first_block,
                                           uint64_t end_block) const {
  if (read_only() || internals().reserved_blocks() == 0) return uint64_t{0};
  uint64_t n = 0;
  HOODY_RETURN_IF_ERROR(ForEachReserved(
      s, ino, first_block, end_block,
      [&](uint64_t, uint64_t bits) { n += static_cast<uint64_t>(std::popcount(bits)); }));
  return n;
}

Result<uint64_t> FileSystem::ReleaseReserved(WriteScope& s, Ino ino, uint64_t first_block,
                                             uint64_t end_block) {
  if (internals().reserved_blocks() == 0) return uint64_t{0};
  std::vector<std::pair<uint64_t, uint64_t>> hits;  // (chunk, bits to clear)
  HOODY_RETURN_IF_ERROR(
      ForEachReserved(s, ino, first_block, end_block,
                      [&](uint64_t c, uint64_t bits) { hits.emplace_back(c, bits); }));
  uint64_t released = 0;
  for (const auto& [c, bits] : hits) {
    const std::string key = index::ReservationKey(*container_, ino, c);
    HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kReservations, key));
    if (!v) return Status::Corruption("reservation record vanished under its scope");
    HOODY_ASSIGN_OR_RETURN(uint64_t mask, DecodeMask(*v));
    mask &= ~bits;
    if (mask == 0) {
      s.Delete(Table::kReservations, key);
    } else {
      s.Put(Table::kReservations, key, EncodeMask(mask));
    }
    released += static_cast<uint64_t>(std::popcount(bits));
  }
  internals().AdjustReserved(s, -static_cast<int64_t>(released));
  return released;
}

Status FileSystem::AddReserved(const KvScope& s, Attr* attr) const {
  if (!S_ISREG(attr->mode)) return Status::OK();
  HOODY_ASSIGN_OR_RETURN(uint64_t n, CountReserved(s, attr->ino, 0, UINT64_MAX));
  attr->blocks_512 += n * (kBlockSize / 512);
  return Status::OK();
}

Status FileSystem::Reserve(Ino ino, uint64_t offset, uint64_t end, bool keep_size) {
  const uint64_t first = offset / kBlockSize;
  const uint64_t last_end = (end - 1) / kBlockSize + 1;
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    if (S_ISDIR(rec.mode)) return Status::IsDirectory("inode " + std::to_string(ino.value));
    if (!S_ISREG(rec.mode)) return Status::InvalidArgument("fallocate of a non-regular file");
    const uint64_t avail = internals().AvailableBlocks();
    // Cheap refusal first: even if every block the file maps or has reserved
    // lay in the range, the rest would not fit (a range of terabytes is
    // refused without walking its chunks).
    HOODY_ASSIGN_OR_RETURN(uint64_t file_reserved, CountReserved(s, ino, 0, UINT64_MAX));
    const uint64_t range = last_end - first;
    if (range > rec.blocks + file_reserved && range - rec.blocks - file_reserved > avail) {
      return NoRoomToReserve(range - rec.blocks - file_reserved, avail);
    }
    // An inline file moves to a block, so its blocks are all in chunk maps.
    if (rec.has_inline) HOODY_RETURN_IF_ERROR(ConvertInline(s, meta, g, ino, &rec));
    uint64_t added = 0;
    for (uint64_t c = first / index::kChunkBlocks; c <= (last_end - 1) / index::kChunkBlocks; ++c) {
      const uint64_t want = ChunkBits(c, first, last_end);
      HOODY_ASSIGN_OR_RETURN(VisibleChunk chunk, meta.GetChunk(s, g, ino, c));
      uint64_t mapped = 0;
      for (uint32_t i = 0; i < index::kChunkBlocks; ++i) {
        if (chunk.blocks[i].valid()) mapped |= uint64_t{1} << i;
      }
      const std::string key = index::ReservationKey(*container_, ino, c);
      HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kReservations, key));
      uint64_t mask = 0;
      if (v) {
        HOODY_ASSIGN_OR_RETURN(mask, DecodeMask(*v));
      }
      const uint64_t add = want & ~mapped & ~mask;
      if (add == 0) continue;
      s.Put(Table::kReservations, key, EncodeMask(mask | add));
      added += static_cast<uint64_t>(std::popcount(add));
    }
    if (added > avail) return NoRoomToReserve(added, avail);
    internals().AdjustReserved(s, static_cast<int64_t>(added));
    // The data file holds the reserved room, so drawing on it later needs
    // nothing from the host.
    HOODY_RETURN_IF_ERROR(internals().BackReservations(s));
    if (!keep_size && end > rec.size) {
      HOODY_RETURN_IF_ERROR(Truncate(s, meta, g, ino, &rec, end));
      rec.mtime = rec.ctime = internals().Now();
    }
    return meta.PutInode(s, g, ino, rec);
  });
}

Status FileSystem::NoRoomToReserve(uint64_t blocks, uint64_t avail) {
  return Status::NoSpace("fallocate needs " + std::to_string(blocks) + " blocks of 4 KiB; " +
                         std::to_string(avail) + " are free");
}

Result<bool> FileSystem::AnyReserved(Ino ino, uint64_t offset, uint64_t length) {
  if (read_only() || length == 0) return false;
  const uint64_t first = offset / kBlockSize;
  const uint64_t end = (offset + length - 1) / kBlockSize + 1;
  uint64_t reserved = 0;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta&, GenId) -> Status {
    HOODY_ASSIGN_OR_RETURN(reserved, CountReserved(s, ino, first, end));
    return Status::OK();
  }));
  return reserved > 0;
}

Status FileSystem::CheckRoomForWrite(Ino ino, uint64_t offset, uint64_t length) {
  if (read_only()) return Status::OK();
  const uint64_t first = offset / kBlockSize;
  const uint64_t count = (offset + length - 1) / kBlockSize - first + 1;
  uint64_t reserved = 0;
  uint64_t avail = UINT64_MAX;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta&, GenId) -> Status {
    if (internals().reserved_blocks() == 0) return Status::OK();
    HOODY_ASSIGN_OR_RETURN(reserved, CountReserved(s, ino, first, first + count));
    avail = internals().AvailableBlocks();
    return Status::OK();
  }));
  // Drawn wholly from a reservation: room was set aside for it, full or not.
  if (reserved == count) return Status::OK();
  HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  if (count - reserved > avail) {
    return Status::NoSpace("the store's free room is reserved by fallocate: " +
                           std::to_string(avail) + " blocks of 4 KiB are free");
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
