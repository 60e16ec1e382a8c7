// File data: Read, Write, MakeWholeFile, Truncate and Fsync of FileSystem.
//
// A write copies on write at block granularity: it reserves fresh blocks,
// writes the bytes (edge blocks merged with their old contents) with no lock
// but the file's own, then, in one short WriteScope, claims the blocks and
// points the file's chunk maps at them. Blocks are never overwritten in
// place, so no committed metadata ever points at a half-written block and a
// frozen generation's blocks stay as they were.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <shared_mutex>
#include <utility>

#include "base/test_hook.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/buffer_pool.h"
#include "blockstore/checksum.h"
#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

using blockstore::AlignedBuffer;
using index::InodeRecord;
using index::KvScope;
using index::WriteScope;

namespace {
constexpr uint32_t kMaxRunBlocks = blockstore::kMaxIoBytes / kBlockSize;
// Writes are cut into pieces that never span more than this many bytes.
constexpr uint64_t kWritePieceBytes = blockstore::kMaxIoBytes;

// One block of a file as read from the maps: where it lives and its checksum.
struct MappedBlock {
  uint64_t logical = 0;
  BlockNo physical;  // invalid: a hole
  uint64_t checksum = 0;
};

Status CheckRegular(const InodeRecord& rec, Ino ino) {
  if (S_ISDIR(rec.mode)) return Status::IsDirectory("inode " + std::to_string(ino.value));
  if (!S_ISREG(rec.mode)) return Status::InvalidArgument("not a regular file");
  return Status::OK();
}

// Looks up the physical block and checksum of logical blocks
// [first, first + count) as seen from `gen`.
Status MapBlocks(const KvScope& s, Meta& meta, GenId gen, Ino ino, uint64_t first, uint64_t count,
                 std::vector<MappedBlock>* out) {
  out->clear();
  out->reserve(count);
  VisibleChunk chunk;
  uint64_t loaded = UINT64_MAX;
  for (uint64_t b = first; b < first + count; ++b) {
    const uint64_t c = b / index::kChunkBlocks;
    if (c != loaded) {
      HOODY_ASSIGN_OR_RETURN(chunk, meta.GetChunk(s, gen, ino, c));
      loaded = c;
    }
    MappedBlock m;
    m.logical = b;
    m.physical = chunk.blocks[b % index::kChunkBlocks];
    if (m.physical.valid()) {
      HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, meta.GetBlock(s, m.physical));
      m.checksum = rec.checksum;
    }
    out->push_back(m);
  }
  return Status::OK();
}

// Reads mapped blocks into `dst` (block i at dst + i * kBlockSize; dst is
// kIoAlign aligned), holes as zeros. Physically consecutive blocks are read
// in one op, up to 1 MiB.
// REQUIRES: the caller holds the data-readers guard.
Status ReadMapped(blockstore::BlockDevice& device, const std::vector<MappedBlock>& blocks,
                  std::byte* dst) {
  std::vector<blockstore::IoOp> ops;
  std::vector<std::pair<size_t, size_t>> spans;  // (first index, count) per op
  for (size_t i = 0; i < blocks.size();) {
    if (!blocks[i].physical.valid()) {
      std::memset(dst + i * kBlockSize, 0, kBlockSize);
      ++i;
      continue;
    }
    size_t n = 1;
    while (i + n < blocks.size() && n < kMaxRunBlocks && blocks[i + n].physical.valid() &&
           blocks[i + n].physical.value == blocks[i].physical.value + n) {
      ++n;
    }
    blockstore::IoOp op;
    op.kind = blockstore::IoKind::kRead;
    op.offset_bytes = blocks[i].physical.value * kBlockSize;
    op.buffer = dst + i * kBlockSize;
    op.length_bytes = static_cast<uint32_t>(n * kBlockSize);
    ops.push_back(op);
    spans.emplace_back(i, n);
    i += n;
  }
  if (ops.empty()) return Status::OK();
  HOODY_RETURN_IF_ERROR(device.Execute(ops));
  std::vector<uint64_t> expected;
  for (const auto& [first, n] : spans) {
    expected.clear();
    for (size_t k = 0; k < n; ++k) expected.push_back(blocks[first + k].checksum);
    HOODY_RETURN_IF_ERROR(
        blockstore::VerifyBlocks(dst + first * kBlockSize, expected, blocks[first].physical.value));
  }
  return Status::OK();
}

// The ops that write consecutive blocks of `buf` to the runs, in order.
std::vector<blockstore::IoOp> WriteOps(const std::vector<index::BlockRun>& runs,
                                       const AlignedBuffer& buf) {
  std::vector<blockstore::IoOp> ops;
  size_t at = 0;
  for (const index::BlockRun& run : runs) {
    blockstore::IoOp op;
    op.kind = blockstore::IoKind::kWrite;
    op.offset_bytes = run.start.value * kBlockSize;
    op.buffer = const_cast<std::byte*>(buf.data()) + at * kBlockSize;
    op.length_bytes = run.count * kBlockSize;
    ops.push_back(op);
    at += run.count;
  }
  return ops;
}

// Counts completed writes for the next commit's data sync and the next
// fsync's log record.
void NoteWritten(const EngineInternals& store, std::span<const blockstore::IoOp> ops) {
  uint64_t bytes = 0;
  for (const blockstore::IoOp& op : ops) {
    store.unsynced_data().Note(op.offset_bytes, op.length_bytes);
    bytes += op.length_bytes;
  }
  store.data_writes().fetch_add(1, std::memory_order_release);
  store.NoteDataWritten(bytes);
}

// Writes consecutive blocks of `buf` to the runs, in order, and counts the
// write (NoteWritten).
Status WriteRuns(const EngineInternals& store, const std::vector<index::BlockRun>& runs,
                 const AlignedBuffer& buf) {
  std::vector<blockstore::IoOp> ops = WriteOps(runs, buf);
  HOODY_RETURN_IF_ERROR(store.device().Execute(ops));
  NoteWritten(store, ops);
  return Status::OK();
}

// The buffer a write stages its blocks in: lent from the process's pool and
// never cleared (a fresh zeroed one per FUSE write, received piece or small
// file cost a clear and its page faults; memset was 9% of a receive's
// samples). Its callers write every byte they send: a pooled buffer holds
// whatever its last user left.
blockstore::BufferPool::Lease WriteBuffer(size_t bytes) {
  return blockstore::IoBuffers().Borrow(bytes);
}

std::vector<BlockNo> Flatten(const std::vector<index::BlockRun>& runs) {
  std::vector<BlockNo> out;
  for (const auto& r : runs) {
    for (uint32_t i = 0; i < r.count; ++i) out.push_back(BlockNo(r.start.value + i));
  }
  return out;
}
}  // namespace

// Points logical blocks [first, first + n) of `ino` at `fresh` (with their
// checksums) in generation `gen`; returns the change in mapped blocks.
static Result<int64_t> MapFresh(WriteScope& s, Meta& meta, GenId gen, Ino ino, uint64_t first,
                                const std::vector<BlockNo>& fresh,
                                const std::vector<uint64_t>& sums) {
  int64_t delta = 0;
  for (size_t i = 0; i < fresh.size();) {
    const uint64_t c = (first + i) / index::kChunkBlocks;
    HOODY_ASSIGN_OR_RETURN(VisibleChunk old, meta.GetChunk(s, gen, ino, c));
    ChunkBlocks blocks = old.blocks;
    const size_t chunk_begin = i;
    for (; i < fresh.size() && (first + i) / index::kChunkBlocks == c; ++i) {
      blocks[(first + i) % index::kChunkBlocks] = fresh[i];
    }
    const FreshSlots slots{static_cast<uint32_t>((first + chunk_begin) % index::kChunkBlocks),
                           std::span<const uint64_t>(sums).subspan(chunk_begin, i - chunk_begin)};
    HOODY_ASSIGN_OR_RETURN(int64_t d, meta.PutChunk(s, gen, ino, c, old, blocks, slots));
    delta += d;
  }
  return delta;
}

Result<size_t> FileSystem::Read(Ino ino, uint64_t offset, std::span<char> out, AtimeUpdate atime) {
  std::shared_lock<std::shared_mutex> guard(internals().data_readers(), std::defer_lock);
  std::vector<MappedBlock> blocks;
  size_t length = 0;
  uint64_t first_block = 0;
  bool touch = false;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    HOODY_RETURN_IF_ERROR(CheckRegular(rec, ino));
    // A read at or past the end counts as an access too (filemap_read).
    touch = atime != AtimeUpdate::kNever && !read_only() &&
            AtimeNeedsUpdate(atime, rec.atime, rec.mtime, rec.ctime, internals().Now());
    if (offset >= rec.size) return Status::OK();
    length = static_cast<size_t>(std::min<uint64_t>(out.size(), rec.size - offset));
    if (rec.has_inline) {
      std::memcpy(out.data(), rec.inline_data.data() + offset, length);
      blocks.clear();
      return Status::OK();
    }
    first_block = offset / kBlockSize;
    const uint64_t last_block = (offset + length - 1) / kBlockSize;
    HOODY_RETURN_IF_ERROR(
        MapBlocks(s, meta, g, ino, first_block, last_block - first_block + 1, &blocks));
    // Taken before the scope ends: a block freed after this point cannot be
    // reused until this read is done.
    guard.lock();
    return Status::OK();
  }));
  if (!blocks.empty()) {
    const size_t skip = offset - first_block * kBlockSize;
    const size_t whole_blocks = blocks.size() * kBlockSize;
    auto* direct = reinterpret_cast<std::byte*>(out.data());
    if (skip == 0 && whole_blocks <= out.size() &&
        reinterpret_cast<uintptr_t>(direct) % blockstore::kIoAlign == 0) {
      // Straight into the caller's buffer (a FUSE read's, a send's): no copy.
      // A block that fails its checksum must not reach the caller, even in
      // a buffer it is told not to use: a failed read clears what it wrote.
      if (Status st = ReadMapped(internals().device(), blocks, direct); !st.ok()) {
        std::memset(direct, 0, whole_blocks);
        return st;
      }
    } else {
      // A pooled buffer for reads of up to 1 MiB and their edges; a larger
      // one (diff reads a whole file) lives for this read only.
      blockstore::BufferPool::Lease lease = blockstore::IoBuffers().Borrow(whole_blocks);
      std::byte* buf = lease.buffer().data();
      HOODY_RETURN_IF_ERROR(ReadMapped(internals().device(), blocks, buf));
      std::memcpy(out.data(), buf + skip, length);
    }
    guard.unlock();
  }
  if (touch) MarkAccessed(ino, atime);
  return length;
}

Result<size_t> FileSystem::Write(Ino ino, uint64_t offset, std::span<const char> data,
                                 Attr* after) {
  if (read_only()) return Status::ReadOnly("a frozen generation is read-only");
  if (offset > kMaxFileBytes || data.size() > kMaxFileBytes - offset) {
    return Status::FileTooBig("write would end past the largest file size (2^63 - 1 bytes)");
  }
  if (data.empty()) return size_t{0};
  // A write of whole blocks reads none of the file's old contents, so the
  // file's other such writes may run beside it (asynchronous O_DIRECT
  // writers, several processes writing pages of one database file): each
  // maps its blocks in its own scope, and where two overlap the later scope
  // wins, block by block, as on a local filesystem's concurrent direct
  // writes. A write with partial edge blocks, a truncate and an fallocate
  // read what they keep of the old blocks, so they hold the lock alone. So
  // does a write into blocks fallocate reserved: CheckRoomForWrite lets it
  // skip the room check because it draws on the reservation, and two such
  // writes at once would both count the same reserved blocks. Under the
  // shared lock no reservation of this file can appear (fallocate holds the
  // lock alone), so a range found without one stays without.
  const bool whole_blocks = offset % kBlockSize == 0 && data.size() % kBlockSize == 0;
  std::shared_lock<index::StateMutex> shared_file_lock(internals().InodeLock(ino), std::defer_lock);
  std::unique_lock<index::StateMutex> file_lock(internals().InodeLock(ino), std::defer_lock);
  if (whole_blocks) {
    shared_file_lock.lock();
    HOODY_ASSIGN_OR_RETURN(const bool reserved, AnyReserved(ino, offset, data.size()));
    if (reserved) {
      shared_file_lock.unlock();
      file_lock.lock();
    }
  } else {
    file_lock.lock();
  }
  size_t done = 0;
  while (done < data.size()) {
    const uint64_t at = offset + done;
    // Pieces end at 1 MiB boundaries so each is one extent of at most 257 blocks.
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(data.size() - done, kWritePieceBytes - at % kWritePieceBytes));
    // Room for each piece: a piece wholly inside a reservation needs none.
    Status st = CheckRoomForWrite(ino, at, n);
    if (st.ok()) st = WritePiece(ino, at, data.subspan(done, n), after);
    // Each piece is all-or-nothing, the call is not: once a piece has landed,
    // report the bytes written (a short write, as write(2) does on ENOSPC),
    // not an error for a call that did change the file.
    if (!st.ok()) return done > 0 ? Result<size_t>(done) : Result<size_t>(st);
    done += n;
  }
  return done;
}

Status FileSystem::ConvertInline(WriteScope& s, Meta& meta, GenId g, Ino ino, InodeRecord* rec) {
  HOODY_ASSERT(rec->has_inline, "converting a file that is not inline");
  rec->has_inline = false;
  if (rec->size == 0) return Status::OK();
  AlignedBuffer buf(kBlockSize);
  std::memcpy(buf.data(), rec->inline_data.data(), rec->inline_data.size());
  rec->inline_data.clear();
  HOODY_ASSIGN_OR_RETURN(index::BlockRun run, internals().AllocateBlocks(s, 1));
  HOODY_RETURN_IF_ERROR(WriteRuns(internals(), {run}, buf));
  HOODY_ASSIGN_OR_RETURN(int64_t delta, MapFresh(s, meta, g, ino, 0, {run.start},
                                                 {blockstore::BlockChecksum(buf.data())}));
  rec->blocks += delta;
  return Status::OK();
}

Result<bool> FileSystem::WriteInline(Ino ino, uint64_t offset, std::span<const char> data,
                                     Attr* after) {
  const uint64_t end = offset + data.size();
  bool done = false;
  HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    HOODY_RETURN_IF_ERROR(CheckRegular(rec, ino));
    if (!rec.has_inline) return Status::OK();
    if (end <= index::kInlineMaxBytes) {
      if (rec.inline_data.size() < end) rec.inline_data.resize(end, '\0');
      std::memcpy(rec.inline_data.data() + offset, data.data(), data.size());
      rec.size = std::max<uint64_t>(rec.size, end);
      rec.mtime = rec.ctime = internals().Now();
      done = true;
      if (after != nullptr) *after = internal::ToAttr(ino, rec);
    } else {
      HOODY_RETURN_IF_ERROR(ConvertInline(s, meta, g, ino, &rec));
    }
    return meta.PutInode(s, g, ino, rec);
  }));
  return done;
}

Status FileSystem::WritePiece(Ino ino, uint64_t offset, std::span<const char> data, Attr* after) {
  const uint64_t end = offset + data.size();
  const uint64_t first = offset / kBlockSize;
  const uint64_t count = (end - 1) / kBlockSize - first + 1;
  // 1. One read scope: the inode, the head's lineage and the old contents of
  // partially written edge blocks. An inline file is written in place, or
  // moved to a block first and then looked at again.
  std::shared_lock<std::shared_mutex> guard(internals().data_readers(), std::defer_lock);
  std::vector<MappedBlock> edges;
  uint64_t lineage = 0;
  for (;;) {
    bool is_inline = false;
    HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
      HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
      HOODY_RETURN_IF_ERROR(CheckRegular(rec, ino));
      if (rec.has_inline) {
        is_inline = true;
        return Status::OK();
      }
      HOODY_ASSIGN_OR_RETURN(EngineInternals::HeadInfo head,
                             internals().CurrentHeadInfo(*container_));
      lineage = head.lineage;
      std::vector<MappedBlock> one;
      if (offset % kBlockSize != 0) {
        HOODY_RETURN_IF_ERROR(MapBlocks(s, meta, g, ino, first, 1, &one));
        edges.push_back(one[0]);
      }
      if (end % kBlockSize != 0 && (count > 1 || offset % kBlockSize == 0)) {
        HOODY_RETURN_IF_ERROR(MapBlocks(s, meta, g, ino, first + count - 1, 1, &one));
        edges.push_back(one[0]);
      }
      guard.lock();
      return Status::OK();
    }));
    if (!is_inline) break;
    HOODY_ASSIGN_OR_RETURN(bool written, WriteInline(ino, offset, data, after));
    if (written) return Status::OK();
  }
  // Only what the data does not cover is cleared: the edge blocks' bytes
  // around it, which a hole leaves as zeros and an old block's read below
  // replaces.
  const size_t bytes = count * kBlockSize;
  blockstore::BufferPool::Lease lease = WriteBuffer(bytes);
  AlignedBuffer& buf = lease.buffer();
  const size_t head = offset % kBlockSize;
  std::memset(buf.data(), 0, head);
  std::memset(buf.data() + head + data.size(), 0, bytes - head - data.size());
  for (const MappedBlock& e : edges) {
    if (!e.physical.valid()) continue;
    HOODY_RETURN_IF_ERROR(
        ReadMapped(internals().device(), {e}, buf.data() + (e.logical - first) * kBlockSize));
  }
  guard.unlock();
  std::memcpy(buf.data() + head, data.data(), data.size());
  std::vector<uint64_t> sums(count);
  blockstore::ChecksumBlocks(buf.data(), sums);

  // 2. Reserve fresh blocks (in memory only: a crash before step 4 leaks nothing).
  HOODY_ASSIGN_OR_RETURN(std::vector<index::BlockRun> runs,
                         ReserveFreshBlocks(count, /*for_new_file=*/false));
  auto unreserve = [&] { UnreserveBlocks(runs); };

  // 3. The data, with no engine lock held.
  if (Status st = WriteRuns(internals(), runs, buf); !st.ok()) {
    unreserve();
    return st;
  }

  HOODY_TEST_HOOK("fs.write.before_map");
  // 4. Claim the blocks and map them, in the head that is current now.
  Status st = Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    // Freezes since step 1 give heads that start from the same contents
    // (and a write with edge blocks held the file's lock alone, so the old
    // bytes it read are still the file's); a branch replaced the tree this
    // write was aimed at.
    HOODY_ASSIGN_OR_RETURN(EngineInternals::HeadInfo now, internals().CurrentHeadInfo(*container_));
    if (now.lineage != lineage) {
      return Status::Stale("the container was restored to another generation during the write");
    }
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    for (const auto& r : runs) internals().allocator().Claim(s, r);
    HOODY_ASSIGN_OR_RETURN(int64_t delta, MapFresh(s, meta, g, ino, first, Flatten(runs), sums));
    rec.blocks += delta;
    // Blocks written where fallocate reserved them are the file's own now;
    // the rest took room the data file must still hold for reservations.
    HOODY_ASSIGN_OR_RETURN(uint64_t drawn, ReleaseReserved(s, ino, first, first + count));
    if (drawn < count && internals().reserved_blocks() > 0) {
      HOODY_RETURN_IF_ERROR(internals().BackReservations(s));
    }
    rec.size = std::max(rec.size, end);
    rec.mtime = rec.ctime = internals().Now();
    if (after != nullptr) *after = internal::ToAttr(ino, rec);
    return meta.PutInode(s, g, ino, rec);
  });
  if (!st.ok()) unreserve();
  return st;
}

Result<std::vector<index::BlockRun>> FileSystem::ReserveFreshBlocks(uint64_t count,
                                                                    bool for_new_file) {
  std::vector<index::BlockRun> runs;
  for (int attempt = 0;; ++attempt) {
    Status got;
    bool reservations = false;
    {
      WriteScope s(internals().kv());
      reservations = internals().reserved_blocks() > 0;
      if (for_new_file && reservations && count > internals().AvailableBlocks()) {
        got = Status::NoSpace("the store's free room is reserved by fallocate: " +
                              std::to_string(internals().AvailableBlocks()) +
                              " blocks of 4 KiB are free");
      }
      for (uint64_t have = 0; got.ok() && have < count;) {
        Result<index::BlockRun> run = internals().ReserveBlocks(
            s, static_cast<uint32_t>(std::min<uint64_t>(count - have, kMaxRunBlocks)));
        if (!run.ok()) {
          for (const auto& r : runs) internals().allocator().Unreserve(r);
          runs.clear();
          got = run.status();
          break;
        }
        runs.push_back(*run);
        have += run->count;
      }
      if (got.ok()) s.Commit();
    }
    if (got.ok()) return runs;
    // Blocks freed by overwrites return to use at the next commit: a store
    // whose free room is held for reservations may need them now.
    if (got.code() != Code::kNoSpace || !reservations || attempt > 0) return got;
    HOODY_RETURN_IF_ERROR(internals().Flush());
  }
}

void FileSystem::UnreserveBlocks(const std::vector<index::BlockRun>& runs) {
  WriteScope s(internals().kv());
  for (const auto& r : runs) internals().allocator().Unreserve(r);
  s.Commit();
}

// A file made whole (MakeWholeFile) writes its data before its one scope,
// as a write does: fresh blocks reserved, written, then claimed and mapped
// in the scope that links the file, so no generation ever sees the file
// without its data or the blocks without their file.
Result<Entry> FileSystem::MakeWholeFile(Ino parent, std::string_view name, const WholeFile& file) {
  // An inline file stages nothing: no pooled buffer for it.
  AlignedBuffer none;
  AlignedBuffer* staging = &none;
  blockstore::BufferPool::Lease lease;
  if (file.size > index::kInlineMaxBytes && !file.data.empty()) {
    lease = WriteBuffer((file.data.size() + kBlockSize - 1) / kBlockSize * kBlockSize);
    staging = &lease.buffer();
  }
  HOODY_ASSIGN_OR_RETURN(StartedWholeFile started, StartWholeFile(file, staging));
  return FinishWholeFile(parent, name, std::move(started));
}

Result<StartedWholeFile> FileSystem::StartWholeFile(const WholeFile& file, AlignedBuffer* staging) {
  if (read_only()) return Status::ReadOnly("a frozen generation is read-only");
  if (file.data.size() > kWholeFileMaxDataBytes) {
    return Status::InvalidArgument("a whole file's data over " +
                                   std::to_string(kWholeFileMaxDataBytes) + " bytes");
  }
  if (file.size < file.data.size()) {
    return Status::InvalidArgument("a whole file's data longer than its size");
  }
  if (file.size > kMaxFileBytes) {
    return Status::FileTooBig("size past the largest file size (2^63 - 1 bytes)");
  }
  for (const auto& [xname, value] : file.xattrs) {
    if (xname.empty()) return Status::InvalidArgument("empty attribute name");
    if (xname.size() > internal::kXattrNameMax) {
      return Status::Range("attribute name over 255 bytes");
    }
    if (value.size() > internal::kXattrValueMax) {
      return Status::Range("attribute value over 64 KiB");
    }
  }
  StartedWholeFile out;
  out.mode_ = file.mode;
  out.owner_ = file.owner;
  out.size_ = file.size;
  out.atime_ = file.atime;
  out.mtime_ = file.mtime;
  out.xattrs_.assign(file.xattrs.begin(), file.xattrs.end());
  out.ino_ = file.ino;
  out.data_bytes_ = file.data.size();
  out.is_inline_ = file.size <= index::kInlineMaxBytes;
  if (out.is_inline_) {
    out.inline_data_.assign(file.data.data(), file.data.size());
    out.inline_data_.resize(file.size, '\0');
    return out;
  }
  const uint64_t count = (file.data.size() + kBlockSize - 1) / kBlockSize;
  if (count == 0) return out;
  if (staging->size_bytes() < count * kBlockSize) {
    *staging = AlignedBuffer::ForReading(std::max<size_t>(count * kBlockSize, kWritePieceBytes));
  }
  std::memcpy(staging->data(), file.data.data(), file.data.size());
  // The last block's tail reads as zeros, never as an earlier file's bytes.
  std::memset(staging->data() + file.data.size(), 0, count * kBlockSize - file.data.size());
  out.sums_.resize(count);
  blockstore::ChecksumBlocks(staging->data(), out.sums_);
  HOODY_ASSIGN_OR_RETURN(std::vector<index::BlockRun> runs,
                         ReserveFreshBlocks(count, /*for_new_file=*/true));
  // From here on, a drop gives the blocks back.
  out.blocks_.reset(new StartedWholeFile::Reservation{this, std::move(runs)});
  out.io_ = internals().device().Start(WriteOps(out.blocks_->runs, *staging));
  return out;
}

Result<Entry> FileSystem::FinishWholeFile(Ino parent, std::string_view name,
                                          StartedWholeFile started) {
  if (started.io_) {
    HOODY_RETURN_IF_ERROR(started.io_->Wait());
    NoteWritten(internals(), started.io_->ops());
  }
  CreateOptions options;
  options.ino = started.ino_;
  HOODY_RETURN_IF_ERROR(CheckNewNode(name, options));

  InodeRecord rec;
  rec.mode = S_IFREG | (started.mode_ & 07777);
  rec.uid = started.owner_.uid;
  rec.gid = started.owner_.gid;
  Entry out;
  HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(Ino ino, LinkNewNode(s, meta, g, parent, name, &rec, options));
    rec.has_inline = started.is_inline_;
    if (started.is_inline_) {
      rec.inline_data = started.inline_data_;
    } else if (started.blocks_) {
      const std::vector<index::BlockRun>& runs = started.blocks_->runs;
      for (const auto& r : runs) internals().allocator().Claim(s, r);
      HOODY_ASSIGN_OR_RETURN(int64_t delta,
                             MapFresh(s, meta, g, ino, 0, Flatten(runs), started.sums_));
      rec.blocks += delta;
      // The blocks drew on no reservation: the data file must still hold
      // the room reservations keep.
      if (internals().reserved_blocks() > 0) {
        HOODY_RETURN_IF_ERROR(internals().BackReservations(s));
      }
    }
    rec.size = started.size_;
    rec.atime = started.atime_;
    rec.mtime = started.mtime_;
    for (const auto& [xname, value] : started.xattrs_) {
      HOODY_RETURN_IF_ERROR(meta.xattrs().Put(s, index::XattrLogical(ino, xname), g, value));
    }
    HOODY_RETURN_IF_ERROR(meta.PutInode(s, g, ino, rec));
    out = Entry{ino, internal::ToAttr(ino, rec)};
    return Status::OK();
  }));
  if (started.blocks_) started.blocks_->fs = nullptr;  // claimed and mapped: the file's now
  return out;
}

StartedWholeFile::StartedWholeFile() = default;
StartedWholeFile::StartedWholeFile(StartedWholeFile&& other) noexcept = default;
StartedWholeFile::~StartedWholeFile() = default;

StartedWholeFile::Reservation::~Reservation() {
  if (fs != nullptr) fs->UnreserveBlocks(runs);
}

Status FileSystem::Truncate(WriteScope& s, Meta& meta, GenId g, Ino ino, InodeRecord* rec,
                            uint64_t new_size) {
  if (rec->has_inline) {
    if (new_size <= index::kInlineMaxBytes) {
      rec->inline_data.resize(new_size, '\0');
      rec->size = new_size;
      return Status::OK();
    }
    HOODY_RETURN_IF_ERROR(ConvertInline(s, meta, g, ino, rec));
  }
  if (new_size < rec->size) {
    const uint64_t keep = (new_size + kBlockSize - 1) / kBlockSize;  // blocks kept
    HOODY_RETURN_IF_ERROR(ReleaseReserved(s, ino, keep, UINT64_MAX).status());
    std::vector<uint64_t> chunks;
    HOODY_RETURN_IF_ERROR(meta.chunks().ForEach(
        s, index::InoPrefix(ino), index::ChunkLogical(ino, keep / index::kChunkBlocks), g,
        [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
          chunks.push_back(GetBig64(logical.data() + 8));
          return true;
        }));
    for (uint64_t c : chunks) {
      HOODY_ASSIGN_OR_RETURN(VisibleChunk old, meta.GetChunk(s, g, ino, c));
      ChunkBlocks blocks = old.blocks;
      for (uint32_t i = 0; i < index::kChunkBlocks; ++i) {
        if (c * index::kChunkBlocks + i >= keep) blocks[i] = BlockNo();
      }
      HOODY_ASSIGN_OR_RETURN(int64_t delta, meta.PutChunk(s, g, ino, c, old, blocks));
      rec->blocks += delta;
    }
    // Bytes past the new end of the last block must read as zeros if the
    // file grows again: rewrite that block with its tail cleared.
    if (new_size % kBlockSize != 0) {
      std::vector<MappedBlock> tail;
      HOODY_RETURN_IF_ERROR(MapBlocks(s, meta, g, ino, keep - 1, 1, &tail));
      if (tail[0].physical.valid()) {
        AlignedBuffer buf(kBlockSize);
        HOODY_RETURN_IF_ERROR(ReadMapped(internals().device(), tail, buf.data()));
        std::memset(buf.data() + new_size % kBlockSize, 0, kBlockSize - new_size % kBlockSize);
        HOODY_ASSIGN_OR_RETURN(index::BlockRun run, internals().AllocateBlocks(s, 1));
        HOODY_RETURN_IF_ERROR(WriteRuns(internals(), {run}, buf));
        HOODY_ASSIGN_OR_RETURN(int64_t delta, MapFresh(s, meta, g, ino, keep - 1, {run.start},
                                                       {blockstore::BlockChecksum(buf.data())}));
        rec->blocks += delta;
      }
    }
  }
  rec->size = new_size;
  return Status::OK();
}

Status FileSystem::Fsync(Ino) { return store_->Sync(); }

}  // namespace hoodyfs::snapshotter
