// BlockRepairer: gives a damaged data block back the bytes its block record
// promises, rewriting it in place, once those bytes have been found elsewhere
// (a replica: snapshotter/remote/block_replica.h) and checked.
//
// Why in place (docs/design.md, "Scrub", "Repair"): the bytes written are
// exactly the ones the block's XXH3-64 already promises, so no chunk map,
// refcount or block record changes and every head and snapshot that holds
// the block reads the right data at once; a reader that races the write
// sees the old damaged bytes, a torn mix or the new ones, and the first two
// fail their checksum (EIO) as before, so no one is given wrong bytes. A
// kill or power loss at any point leaves the metadata as it was (fsck
// clean) and the block damaged or repaired, never worse: the next scrub
// says which. Blocks are otherwise never overwritten in place; this write
// is the one exception, and it only ever writes a block's own content.
//
// Against concurrent use (a live store): the block's record is looked up
// again and must still carry the expected checksum (a block freed and
// reused since holds other data and is left alone), and the data-readers
// guard is taken before that read scope ends and held over the write, the
// sync and the read-back, so the block cannot be released and reused
// meanwhile (a block in use is never written by anyone else).
//
// Thread-safety: Repair may be called beside any other use of the store,
// from any thread.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "base/types.h"

namespace hoodyfs::snapshotter {

class Store;
class EngineInternals;

enum class BlockRepairResult {
  kRepaired,       // rewritten, synced, and read back from the disk matching
  kAlreadyGood,    // the disk holds the right bytes now: nothing written
  kNoLongerInUse,  // no record any more: nothing reads it, nothing written
  kRecordChanged,  // freed and reused since (another checksum): nothing written
};
const char* BlockRepairResultName(BlockRepairResult r);

class BlockRepairer {
 public:
  explicit BlockRepairer(Store& store) : store_(store) {}

  // Rewrites `block` with `bytes` (kBlockSize of them), whose XXH3-64 must
  // be `checksum`, the checksum the scrub reported for the block.
  // Errors: kInvalidArgument (not kBlockSize bytes, or bytes that do not hash
  // to `checksum`: nothing written, ever); kIoError (the store is read-only
  // after a failed sync, or the write, sync or read-back failed; a failed
  // sync makes the store read-only); kCorruption (written and synced, but
  // the disk still returns other bytes: a bad sector the host filesystem
  // did not remap); those of the metadata reads.
  Result<BlockRepairResult> Repair(BlockNo block, uint64_t checksum,
                                   std::span<const std::byte> bytes);

  // As Repair, against the checksum the block's record holds now rather
  // than one a caller names: for bytes from a caller the store does not
  // trust (the daemon's PUT /api/v1/scrub/blocks/N, docs/api.md), which
  // are written only when they are the block's own content.
  // Errors: kNotFound (the block has no record: not in use), those of
  // Repair (kInvalidArgument names the block when the bytes hash to
  // another checksum than its record's).
  Result<BlockRepairResult> RepairToRecord(BlockNo block, std::span<const std::byte> bytes);

 private:
  EngineInternals internals() const;
  Store& store_;
};

}  // namespace hoodyfs::snapshotter
