#include "snapshotter/engine/scrub.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <tuple>

#include "base/assert.h"
#include "base/coding.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"
#include "blockstore/checksum.h"
#include "index/keys.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

using index::ReadScope;
using index::Table;

namespace {

// Neighbouring blocks in use are read in one op when at most this many
// blocks apart (the free ones between are read and ignored: cheaper than
// another op).
constexpr uint64_t kGapBlocks = 16;
// The largest op (blockstore::kMaxIoBytes).
constexpr uint64_t kWindowMaxBlocks = blockstore::kMaxIoBytes / kBlockSize;
// The smallest op: reads this large go O_DIRECT on the io_uring device
// (blockstore/ring.h, kDirectReadMinBytes), so the disk is read, not a page
// the host cached.
constexpr uint64_t kWindowMinBlocks = 16;
static_assert(kWindowMinBlocks * kBlockSize >= 64 * 1024);
// Chunk records per read scope while looking for holders, and suspects per
// confirming round (the data-readers guard is held over one round's reads).
constexpr size_t kChunkRecordsPerScope = 4096;
constexpr size_t kSuspectsPerRound = 64;

std::string Mismatch(uint64_t expected, uint64_t found) {
  char why[96];
  std::snprintf(why, sizeof why, "checksum mismatch: expected %016" PRIx64 ", found %016" PRIx64,
                expected, found);
  return why;
}

}  // namespace

// One batch of block records and the ops that read them: a window is a run
// of blocks read by one op, holding the records [first_record,
// first_record + records).
struct Scrubber::Batch {
  struct Window {
    uint64_t first = 0;  // block
    uint64_t count = 0;  // blocks read
    size_t first_record = 0;
    size_t records = 0;
  };
  std::vector<std::pair<BlockNo, uint64_t>> records;  // block, checksum
  std::vector<Window> windows;
  uint64_t blocks = 0;  // sum of the windows' counts
};

EngineInternals Scrubber::internals() const { return EngineInternals(store_); }

Result<bool> Scrubber::NextBatch(std::string* next, uint32_t max_blocks, Batch* batch) {
  batch->records.clear();
  batch->windows.clear();
  batch->blocks = 0;
  const uint64_t device_blocks = internals().device().SizeBytes() / kBlockSize;
  // The op a window needs: at least kWindowMinBlocks where the device has them.
  const auto padded = [&](uint64_t first, uint64_t count) {
    return std::max(count, std::min(kWindowMinBlocks, device_blocks - first));
  };
  ReadScope s(internals().kv());
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kBlocks));
  for (it.Seek(*next); it.Valid(); it.Next()) {
    const BlockNo block(GetBig64(it.key().data()));
    HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(it.value()));
    Batch::Window* w = batch->windows.empty() ? nullptr : &batch->windows.back();
    const bool joins = w != nullptr && block.value - w->first < kWindowMaxBlocks &&
                       block.value - batch->records.back().first.value <= kGapBlocks;
    const uint64_t grown =
        joins ? padded(w->first, block.value - w->first + 1) - w->count : padded(block.value, 1);
    // At most max_blocks records, and at most that many blocks read (but
    // one window's least, kWindowMinBlocks, is always allowed).
    if (!batch->records.empty() &&
        (batch->records.size() >= max_blocks ||
         batch->blocks + grown > std::max<uint64_t>(max_blocks, kWindowMinBlocks))) {
      *next = std::string(it.key());
      return true;
    }
    if (joins) {
      w->count += grown;
      ++w->records;
    } else {
      batch->windows.push_back({block.value, grown, batch->records.size(), 1});
    }
    batch->blocks += grown;
    batch->records.emplace_back(block, rec.checksum);
  }
  HOODY_RETURN_IF_ERROR(it.status());
  return false;
}

void Scrubber::CheckBatch(Batch& batch, blockstore::AlignedBuffer& buf,
                          std::vector<DamagedBlock>* suspects, uint64_t* bytes_read) {
  HOODY_ASSERT(buf.size_bytes() >= batch.blocks * kBlockSize, "scrub buffer too small");
  std::vector<blockstore::IoOp> ops;
  std::vector<std::byte*> at;  // each window's place in buf
  std::byte* place = buf.data();
  for (const Batch::Window& w : batch.windows) {
    blockstore::IoOp op;
    op.kind = blockstore::IoKind::kRead;
    op.offset_bytes = w.first * kBlockSize;
    op.buffer = place;
    op.length_bytes = static_cast<uint32_t>(w.count * kBlockSize);
    ops.push_back(op);
    at.push_back(place);
    place += w.count * kBlockSize;
  }
  // No lock is held: a block freed and reused meanwhile reads as a
  // mismatch, which Confirm sorts out. A failed op fails alone.
  internals().device().Execute(ops).IgnoreError();
  *bytes_read += batch.blocks * kBlockSize;
  for (size_t k = 0; k < ops.size(); ++k) {
    const Batch::Window& w = batch.windows[k];
    for (size_t r = w.first_record; r < w.first_record + w.records; ++r) {
      const auto [block, expected] = batch.records[r];
      if (!ops[k].result.ok()) {
        suspects->push_back({block, expected, ops[k].result.ToString(), {}});
        continue;
      }
      const uint64_t found =
          blockstore::BlockChecksum(at[k] + (block.value - w.first) * kBlockSize);
      if (found != expected) suspects->push_back({block, expected, Mismatch(expected, found), {}});
    }
  }
}

Result<std::vector<DamagedBlock>> Scrubber::Confirm(std::vector<DamagedBlock> suspects,
                                                    uint64_t* bytes_read) {
  std::vector<DamagedBlock> damaged;
  const uint64_t device_blocks = internals().device().SizeBytes() / kBlockSize;
  for (size_t from = 0; from < suspects.size(); from += kSuspectsPerRound) {
    const size_t to = std::min(suspects.size(), from + kSuspectsPerRound);
    std::vector<DamagedBlock> round;
    std::shared_lock<std::shared_mutex> guard(internals().data_readers(), std::defer_lock);
    {
      ReadScope s(internals().kv());
      for (size_t i = from; i < to; ++i) {
        HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kBlocks, index::BlockKey(suspects[i].block)));
        if (!v) continue;  // freed since: nothing reads it any more
        HOODY_ASSIGN_OR_RETURN(index::BlockRecord rec, index::BlockRecord::Decode(*v));
        suspects[i].checksum = rec.checksum;
        round.push_back(std::move(suspects[i]));
      }
      // Before the scope ends: no block of the round can be freed and
      // reused until its read is done (as FileSystem::Read).
      guard.lock();
    }
    // One aligned op of kWindowMinBlocks around each suspect, so this read
    // too goes to the disk (O_DIRECT) as the first one did.
    blockstore::AlignedBuffer buf(round.size() * kWindowMinBlocks * kBlockSize);
    std::vector<blockstore::IoOp> ops(round.size());
    std::vector<uint64_t> firsts(round.size());
    for (size_t i = 0; i < round.size(); ++i) {
      const uint64_t b = round[i].block.value;
      firsts[i] = std::min(b - b % kWindowMinBlocks,
                           device_blocks > kWindowMinBlocks ? device_blocks - kWindowMinBlocks : 0);
      const uint64_t count = std::min(kWindowMinBlocks, device_blocks - firsts[i]);
      ops[i].kind = blockstore::IoKind::kRead;
      ops[i].offset_bytes = firsts[i] * kBlockSize;
      ops[i].buffer = buf.data() + i * kWindowMinBlocks * kBlockSize;
      ops[i].length_bytes = static_cast<uint32_t>(count * kBlockSize);
      *bytes_read += count * kBlockSize;
    }
    internals().device().Execute(ops).IgnoreError();
    guard.unlock();
    for (size_t i = 0; i < round.size(); ++i) {
      DamagedBlock& d = round[i];
      if (!ops[i].result.ok()) {
        d.why = ops[i].result.ToString();
        damaged.push_back(std::move(d));
        continue;
      }
      const std::byte* data =
          static_cast<const std::byte*>(ops[i].buffer) + (d.block.value - firsts[i]) * kBlockSize;
      const uint64_t found = blockstore::BlockChecksum(data);
      if (found == d.checksum) continue;  // rewritten while the batch was read
      d.why = Mismatch(d.checksum, found);
      damaged.push_back(std::move(d));
    }
  }
  return damaged;
}

Result<ScrubReport> Scrubber::Run(const ScrubOptions& options) {
  if (options.batch_blocks == 0) return Status::InvalidArgument("scrub: batch_blocks must be > 0");
  ScrubReport report;
  report.progress.blocks_total = store_.used_blocks();
  const auto start = std::chrono::steady_clock::now();
  Batch batch;
  // One buffer for every batch: allocating (and so zeroing and faulting in)
  // 8 MiB per batch cost four fifths of the scrub's time.
  blockstore::AlignedBuffer buf(std::max<uint64_t>(options.batch_blocks, kWindowMinBlocks) *
                                kBlockSize);
  std::string next = index::BlockKey(BlockNo(0));
  for (bool more = true; more;) {
    if (options.cancel != nullptr && options.cancel->load()) {
      report.cancelled = true;
      break;
    }
    HOODY_ASSIGN_OR_RETURN(more, NextBatch(&next, options.batch_blocks, &batch));
    if (batch.records.empty()) break;
    std::vector<DamagedBlock> suspects;
    CheckBatch(batch, buf, &suspects, &report.progress.bytes_read);
    if (!suspects.empty()) {
      HOODY_ASSIGN_OR_RETURN(std::vector<DamagedBlock> damaged,
                             Confirm(std::move(suspects), &report.progress.bytes_read));
      for (DamagedBlock& d : damaged) report.damaged.push_back(std::move(d));
    }
    report.progress.blocks_checked += batch.records.size();
    report.progress.blocks_damaged = report.damaged.size();
    if (options.progress) options.progress(report.progress);
    if (options.max_bytes_per_second > 0) {
      // Sleep until the bytes read so far fit the rate.
      const auto due = start + std::chrono::microseconds(report.progress.bytes_read * 1000000 /
                                                         options.max_bytes_per_second);
      if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
    }
  }
  if (!report.damaged.empty()) HOODY_RETURN_IF_ERROR(FindHolders(&report.damaged));
  return report;
}

namespace {

// The path of directory `dir` in `gen` ("" for the root), through its one
// back-reference per level; bounded, so a damaged tree cannot loop it.
Result<std::string> DirPath(const index::KvScope& s, Meta& meta, GenId gen, Ino dir) {
  std::string path;
  for (int depth = 0; dir != kRootIno; ++depth) {
    if (depth == 4096) return Status::Corruption("scrub: directory chain deeper than 4096");
    HOODY_ASSIGN_OR_RETURN(auto link, meta.AnyBackref(s, gen, dir));
    if (!link) return Status::NotFound("directory " + std::to_string(dir.value) + " has no name");
    path = "/" + link->second + path;
    dir = link->first;
  }
  return path;
}

// Every name of `ino` in `gen` (several for hard links; none when unlinked).
Result<std::vector<std::string>> PathsOf(const index::KvScope& s, Meta& meta, GenId gen, Ino ino) {
  std::vector<std::pair<Ino, std::string>> links;
  HOODY_RETURN_IF_ERROR(meta.backrefs().ForEach(
      s, index::InoPrefix(ino), "", gen,
      [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
        // logical = ino(8) parent(8) name NUL
        if (logical.size() < 17) return Status::Corruption("short backref key");
        links.emplace_back(Ino(GetBig64(logical.data() + 8)),
                           std::string(logical.substr(16, logical.size() - 17)));
        return true;
      }));
  std::vector<std::string> paths;
  for (const auto& [parent, name] : links) {
    Result<std::string> dir = DirPath(s, meta, gen, parent);
    if (!dir.ok()) continue;  // a directory removed while open: no path
    paths.push_back(*dir + "/" + name);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

Status Scrubber::FindHolders(std::vector<DamagedBlock>* damaged) {
  // 1. Which chunk-map versions hold a damaged block: one walk over the
  // chunks table, a bounded number of records per read scope.
  struct Version {
    GenId written_in;
    Ino ino;
    uint64_t chunk = 0;
    size_t slot = 0;
    DamagedBlock* block = nullptr;
  };
  std::map<uint64_t, DamagedBlock*> by_block;
  for (DamagedBlock& d : *damaged) by_block[d.block.value] = &d;
  std::vector<Version> versions;
  std::string next;
  for (bool more = true; more;) {
    ReadScope s(internals().kv());
    HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kChunks));
    size_t n = 0;
    for (it.Seek(next); it.Valid() && n < kChunkRecordsPerScope; it.Next(), ++n) {
      const std::string_view v = it.value();
      if (v.empty() || v[0] == index::kWhiteoutTag) continue;
      HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(v.substr(1)));
      const ChunkBlocks blocks = Expand(map);
      for (size_t i = 0; i < blocks.size(); ++i) {
        if (!blocks[i].valid()) continue;
        auto d = by_block.find(blocks[i].value);
        if (d == by_block.end()) continue;
        const std::string_view logical = index::LogicalPart(it.key());
        versions.push_back({index::GenOfKey(it.key()), Ino(GetBig64(logical.data())),
                            GetBig64(logical.data() + 8), i, d->second});
      }
    }
    HOODY_RETURN_IF_ERROR(it.status());
    more = it.Valid();
    if (more) next = std::string(it.key());
  }
  // 2. Which heads and frozen generations see each version: those below
  // the generation that wrote it, down to where a descendant wrote its own
  // version of the chunk (what it and its subtree see instead).
  for (const Version& v : versions) {
    ReadScope s(internals().kv());
    Meta meta(internals().tree(), internals().allocator());
    const index::GenerationTree& tree = internals().tree();
    if (!tree.Contains(v.written_in)) continue;  // collected meanwhile
    std::vector<GenId> todo = {v.written_in};
    while (!todo.empty()) {
      const GenId g = todo.back();
      todo.pop_back();
      HOODY_ASSIGN_OR_RETURN(VisibleChunk seen, meta.GetChunk(s, g, v.ino, v.chunk));
      if (seen.owner != v.written_in || seen.blocks[v.slot] != v.block->block) continue;
      HOODY_ASSIGN_OR_RETURN(index::GenerationRecord rec, internals().GetGeneration(s, g));
      if (rec.state != index::GenState::kDropped) {
        HOODY_ASSIGN_OR_RETURN(std::vector<std::string> paths, PathsOf(s, meta, g, v.ino));
        v.block->holders.push_back({g, v.written_in, v.ino,
                                    (v.chunk * index::kChunkBlocks + v.slot) * kBlockSize,
                                    std::move(paths)});
      }
      for (GenId c : tree.Children(g)) todo.push_back(c);
    }
  }
  for (DamagedBlock& d : *damaged) {
    std::sort(d.holders.begin(), d.holders.end(), [](const BlockHolder& a, const BlockHolder& b) {
      return std::tie(a.gen.value, a.ino.value, a.offset) <
             std::tie(b.gen.value, b.ino.value, b.offset);
    });
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
