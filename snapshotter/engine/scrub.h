// Scrubber: reads every data block the store references, once however many
// heads and snapshots share it, checks it against the checksum in its block
// record, and names every damaged block's holders: each head and frozen
// generation that reads it, with the file's offset and paths there.
//
// How it yields to foreground work (docs/design.md, "Scrub"):
//  - the block records are taken in batches of ScrubOptions::batch_blocks,
//    each under its own short read scope; no scope and no lock is held
//    across the data I/O;
//  - the reads are optimistic: a block freed and reused, or hole-punched,
//    while the scrub read it shows up as a mismatch, and every mismatch is
//    confirmed before it is reported (the record looked up again, the block
//    read again under the data-readers guard), so a busy store gives no false
//    damage and the guard, which a commit waits for, is held only over the
//    few confirming reads;
//  - an optional rate limit sleeps between batches.
// Reads go through the store's BlockDevice in batches of up to 1 MiB per op
// (neighbouring blocks are read together, and each op is at least 64 KiB, so
// the io_uring device reads it O_DIRECT: the disk is checked, not the host's
// page cache).
//
// Holders cost one walk over the chunks table (every version of every chunk
// map), in batches of read scopes, and only when something is damaged: the
// index has no back-references from a physical block to its chunk maps.
//
// Repair is not part of it: a damaged block's `holders` are what a replica
// is asked for (a snapshot's file at an offset) and `checksum` is what its
// bytes must hash to (snapshotter/remote/block_replica.h), and
// BlockRepairer (block_repair.h) rewrites the block with them.
//
// Thread-safety: Run may be called beside any other use of the store, from
// any thread; one Scrubber per run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "blockstore/aligned_buffer.h"

namespace hoodyfs::snapshotter {

class Store;
class EngineInternals;

struct ScrubProgress {
  uint64_t blocks_total = 0;  // blocks in use when the scrub began
  uint64_t blocks_checked = 0;
  uint64_t bytes_read = 0;  // more than blocks_checked * 4 KiB: neighbours are read together
  uint64_t blocks_damaged = 0;
};

struct ScrubOptions {
  // Block records per batch (one read scope and one device batch each),
  // and blocks read per batch (16 at least: one op's least).
  uint32_t batch_blocks = 2048;  // 8 MiB
  // 0: as fast as the device goes; else the scrub sleeps between batches to
  // stay at or below this rate of bytes read.
  uint64_t max_bytes_per_second = 0;
  // Called after every batch, on the scrubbing thread.
  std::function<void(const ScrubProgress&)> progress;
  // Polled between batches; once true, Run stops and reports what it saw.
  const std::atomic<bool>* cancel = nullptr;
};

// One view that reads a damaged block: byte `offset` of inode `ino` in
// generation `gen` (a container's head or a frozen generation), whose chunk
// map version was written in `written_in`.
struct BlockHolder {
  GenId gen;
  GenId written_in;
  Ino ino;
  uint64_t offset = 0;
  std::vector<std::string> paths;  // every name of the inode in `gen`; none: unlinked, still open
};

struct DamagedBlock {
  BlockNo block;
  uint64_t checksum = 0;  // what the block's bytes must hash to (XXH3-64)
  std::string why;        // the read error, or "checksum mismatch: expected .., found .."
  std::vector<BlockHolder> holders;
};

struct ScrubReport {
  ScrubProgress progress;
  bool cancelled = false;
  std::vector<DamagedBlock> damaged;  // by block number
};

class Scrubber {
 public:
  explicit Scrubber(Store& store) : store_(store) {}

  // Errors: kIoError, kCorruption when the metadata cannot be read;
  // kInvalidArgument for batch_blocks 0. Damaged data is the report's, not
  // an error.
  Result<ScrubReport> Run(const ScrubOptions& options);

 private:
  struct Batch;
  // Reads the next batch of block records from `*next` on; false when none.
  Result<bool> NextBatch(std::string* next, uint32_t max_blocks, Batch* batch);
  // Reads the batch into `buf` (large enough for batch.blocks) and appends
  // what fails its checksum to `suspects`.
  void CheckBatch(Batch& batch, blockstore::AlignedBuffer& buf, std::vector<DamagedBlock>* suspects,
                  uint64_t* bytes_read);
  // Reads each suspect again under the data-readers guard, against its
  // current record; keeps those still damaged.
  Result<std::vector<DamagedBlock>> Confirm(std::vector<DamagedBlock> suspects,
                                            uint64_t* bytes_read);
  Status FindHolders(std::vector<DamagedBlock>* damaged);
  EngineInternals internals() const;

  Store& store_;
};

}  // namespace hoodyfs::snapshotter
