// Space operations of FileSystem: Fallocate (fallocate(2)).
//
// Copy-on-write shapes all of them. Preallocating blocks buys nothing, since
// a later write gets fresh blocks anyway, so "allocate" reserves room
// instead (fs_reserve.cc) and moves the size. A punch or a zeroed range
// never touches a block another generation can see: whole blocks leave the
// head's own chunk maps (holes read as zeros), and a partially covered edge
// block is rewritten, as a write of zeros, into a fresh block.
#include <linux/falloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

using index::InodeRecord;
using index::KvScope;
using index::WriteScope;

namespace {
// Largest end offset Fallocate accepts (off_t's range).
constexpr uint64_t kMaxEnd = uint64_t{1} << 63;

Status CheckRegularFile(const InodeRecord& rec, Ino ino) {
  if (S_ISDIR(rec.mode)) return Status::IsDirectory("inode " + std::to_string(ino.value));
  if (!S_ISREG(rec.mode)) return Status::InvalidArgument("fallocate of a non-regular file");
  return Status::OK();
}
}  // namespace

Status FileSystem::Fallocate(Ino ino, int mode, uint64_t offset, uint64_t length) {
  if (read_only()) return Status::ReadOnly("a frozen generation is read-only");
  if (length == 0) return Status::InvalidArgument("fallocate of an empty range");
  if (offset >= kMaxEnd || length > kMaxEnd - offset) {
    return Status::InvalidArgument("fallocate range ends past 2^63");
  }
  const bool keep_size = (mode & FALLOC_FL_KEEP_SIZE) != 0;
  const int op = mode & ~FALLOC_FL_KEEP_SIZE;
  if (op != 0 && op != FALLOC_FL_PUNCH_HOLE && op != FALLOC_FL_ZERO_RANGE) {
    return Status::NotSupported("fallocate mode " + std::to_string(mode));
  }
  if (op == FALLOC_FL_PUNCH_HOLE && !keep_size) {
    return Status::NotSupported("PUNCH_HOLE needs KEEP_SIZE");
  }
  const uint64_t end = offset + length;
  // Allocating promises room for later writes: none while the store is full.
  if (op == 0) HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  std::lock_guard file_lock(internals().InodeLock(ino));
  if (op == 0) return Reserve(ino, offset, end, keep_size);
  HOODY_RETURN_IF_ERROR(ZeroRange(ino, offset, end));
  return GrowTo(ino, keep_size ? 0 : end, /*touch=*/true);
}

Status FileSystem::ZeroRange(Ino ino, uint64_t offset, uint64_t end) {
  // Whole blocks of the range lose their reservations, past the end of the
  // file too (what KEEP_SIZE reserved there).
  const uint64_t first_whole = (offset + kBlockSize - 1) / kBlockSize;
  const uint64_t end_whole = end / kBlockSize;
  if (first_whole < end_whole) {
    HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta&, GenId) -> Status {
      return ReleaseReserved(s, ino, first_whole, end_whole).status();
    }));
  }
  uint64_t size = 0;
  bool is_inline = false;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    HOODY_RETURN_IF_ERROR(CheckRegularFile(rec, ino));
    size = rec.size;
    is_inline = rec.has_inline;
    return Status::OK();
  }));
  // Bytes at or past the end of the file already read as zeros.
  end = std::min(end, size);
  if (offset >= end) return Status::OK();
  if (is_inline) {
    return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
      HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
      if (!rec.has_inline) return Status::IoError("inline file changed under its inode lock");
      std::fill(rec.inline_data.begin() + static_cast<ptrdiff_t>(offset),
                rec.inline_data.begin() + static_cast<ptrdiff_t>(end), '\0');
      return meta.PutInode(s, g, ino, rec);
    });
  }
  // Whole blocks [first_full, end_full) become holes; the partial blocks at
  // either edge get zeros written over the covered bytes.
  const uint64_t first_full = (offset + kBlockSize - 1) / kBlockSize;
  const uint64_t end_full = end / kBlockSize;
  const std::vector<char> zeros(kBlockSize, '\0');
  auto zero_bytes = [&](uint64_t from, uint64_t to) -> Status {
    if (from >= to) return Status::OK();
    return WritePiece(ino, from, std::span<const char>(zeros.data(), to - from), nullptr);
  };
  if (first_full >= end_full) {
    // No whole block inside: one or two partial blocks.
    const uint64_t split = std::min(end, first_full * kBlockSize);
    HOODY_RETURN_IF_ERROR(zero_bytes(offset, split));
    return zero_bytes(std::max(split, offset), end);
  }
  HOODY_RETURN_IF_ERROR(zero_bytes(offset, first_full * kBlockSize));
  HOODY_RETURN_IF_ERROR(zero_bytes(end_full * kBlockSize, end));
  return UnmapBlocks(ino, first_full, end_full);
}

Status FileSystem::UnmapBlocks(Ino ino, uint64_t first_block, uint64_t end_block) {
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    // Only chunks that have a visible map can hold blocks to drop.
    const uint64_t first_chunk = first_block / index::kChunkBlocks;
    const uint64_t last_chunk = (end_block - 1) / index::kChunkBlocks;
    std::vector<uint64_t> chunks;
    HOODY_RETURN_IF_ERROR(meta.chunks().ForEach(
        s, index::InoPrefix(ino), index::ChunkLogical(ino, first_chunk), g,
        [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
          const uint64_t c = GetBig64(logical.data() + 8);
          if (c > last_chunk) return false;
          chunks.push_back(c);
          return true;
        }));
    for (uint64_t c : chunks) {
      HOODY_ASSIGN_OR_RETURN(VisibleChunk old, meta.GetChunk(s, g, ino, c));
      ChunkBlocks blocks = old.blocks;
      bool changed = false;
      for (uint32_t i = 0; i < index::kChunkBlocks; ++i) {
        const uint64_t b = c * index::kChunkBlocks + i;
        if (b >= first_block && b < end_block && blocks[i].valid()) {
          blocks[i] = BlockNo();
          changed = true;
        }
      }
      if (!changed) continue;
      // PutChunk writes the head's own version (or a whiteout) and moves
      // refcounts; an ancestor's version, and its blocks, stay as they were.
      HOODY_ASSIGN_OR_RETURN(int64_t delta, meta.PutChunk(s, g, ino, c, old, blocks));
      rec.blocks += delta;
    }
    const index::Timespec now = internals().Now();
    rec.mtime = rec.ctime = now;
    return meta.PutInode(s, g, ino, rec);
  });
}

Status FileSystem::GrowTo(Ino ino, uint64_t new_size, bool touch) {
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    HOODY_RETURN_IF_ERROR(CheckRegularFile(rec, ino));
    const bool grows = new_size > rec.size;
    if (!grows && !touch) return Status::OK();
    // Truncate upwards only moves the size (an inline file that outgrows its
    // record moves to a block first).
    if (grows) HOODY_RETURN_IF_ERROR(Truncate(s, meta, g, ino, &rec, new_size));
    const index::Timespec now = internals().Now();
    rec.mtime = rec.ctime = now;
    return meta.PutInode(s, g, ino, rec);
  });
}

}  // namespace hoodyfs::snapshotter
