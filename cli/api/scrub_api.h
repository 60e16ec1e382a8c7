// The values of a scrub as users see them (hoodyfs scrub, hoodyfs-snap
// scrub, POST/GET /api/v1/scrub): the engine's report
// (snapshotter/engine/scrub.h) with every holder of a damaged block named as
// a container's head or a snapshot, and the service the daemon runs scrubs
// in (cli/daemon/scrub_runner.h).
//
// Repair: every damaged block carries `repair`: "none" when no repair was
// asked for, else what `hoodyfs scrub --repair-from REMOTE` did with it
// (cli/remote_scrub.h): "repaired" (from the replica `repair_detail`
// names), "unrepairable" (`repair_detail` says why; nothing was written), or
// "unneeded" (freed or reused since the scrub: no damage any more).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshotter/engine/block_repair.h"
#include "snapshotter/engine/scrub.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

// One view that reads a damaged block.
struct ScrubHolder {
  std::string container;  // "" when the generation is neither a head nor a snapshot
  std::string snapshot;   // "" for the container's head
  std::string alias;
  uint64_t generation = 0;
  uint64_t written_in = 0;  // the generation whose chunk map holds the block
  uint64_t ino = 0;
  uint64_t offset = 0;             // byte offset of the block in the file
  std::vector<std::string> paths;  // none: unlinked, still open
};

struct ScrubBlock {
  uint64_t block = 0;
  std::string checksum;  // expected XXH3-64, 16 hex digits
  std::string error;
  std::string repair = "none";  // "none", "repaired", "unrepairable", "unneeded"
  std::string repair_detail;    // the replica it came from, or why not; "" for none
  std::vector<ScrubHolder> holders;
};

struct ScrubStatus {
  std::string state = "running";  // "running", "done", "cancelled", "failed"
  std::string error;              // "failed": why
  std::string started;            // UTC, "2026-03-04T10:30:00Z"
  double seconds = 0;
  uint64_t blocks_total = 0;
  uint64_t blocks_checked = 0;
  uint64_t bytes_read = 0;
  uint64_t blocks_damaged = 0;
  uint64_t blocks_repaired = 0;     // of the damaged, "repaired" ones
  std::vector<ScrubBlock> damaged;  // once finished
};

struct ScrubRequest {
  uint64_t max_bytes_per_second = 0;  // 0: unlimited
};

// Runs a scrub of `snap`'s store on this thread. `progress` (may be empty)
// is called with the status after every batch; `cancel` (may be null)
// stops it between batches. Errors: those of Scrubber::Run.
Result<ScrubStatus> RunScrub(snapshotter::Snapshotter& snap, const ScrubRequest& request,
                             const std::function<void(const ScrubStatus&)>& progress,
                             const std::atomic<bool>* cancel);

// What the daemon did with one block's bytes a client handed it
// (PUT /api/v1/scrub/blocks/N, docs/api.md).
struct BlockRepairReply {
  uint64_t block = 0;
  snapshotter::BlockRepairResult result = snapshotter::BlockRepairResult::kRepaired;
};

// The JSON names of BlockRepairResult: "repaired", "already_good",
// "no_longer_in_use", "record_changed"; and back (kInvalidArgument for
// another name).
const char* BlockRepairResultCode(snapshotter::BlockRepairResult r);
Result<snapshotter::BlockRepairResult> BlockRepairResultFromCode(const std::string& code);

// The daemon's background scrub: one at a time; and block repairs, which
// may run beside it and beside the mounts.
class ScrubService {
 public:
  virtual ~ScrubService() = default;
  // Starts one. Errors: kBusy while one runs (its status is in the message).
  virtual Result<ScrubStatus> Start(const ScrubRequest& request) = 0;
  // The running or last scrub. Errors: kNotFound when none has run.
  virtual Result<ScrubStatus> Current() = 0;
  // Asks the running scrub to stop. Errors: kNotFound when none runs.
  virtual Status Cancel() = 0;
  // Rewrites `block` with `bytes` when they are its own content: they must
  // hash to the checksum its record holds now (BlockRepairer::
  // RepairToRecord). Errors: kNotFound (no record: not in use),
  // kInvalidArgument (not one block of bytes, or bytes of another checksum:
  // nothing written), those of the repair.
  virtual Result<BlockRepairReply> RepairBlock(uint64_t block,
                                               std::span<const std::byte> bytes) = 0;
};

// "web1 (head)", "web1@snap-20260304-103000 (v1)", or "generation 7".
std::string HolderLabel(const ScrubHolder& h);

// The human report: a summary line, the damaged files by head and snapshot,
// then each damaged block with its holders.
void PrintScrub(const ScrubStatus& status, std::ostream& out);

// The JSON form (docs/api.md, "Scrub") and back; decoding is strict.
nlohmann::json ToJson(const ScrubStatus& status);
Result<ScrubStatus> ScrubStatusFromJson(const nlohmann::json& j);

// Notes on a damaged block what a repair with bytes from `source` did
// ("lab:web1@nightly", "a client's PUT /api/v1/scrub/blocks/N"): repair
// "repaired" (also when the disk read right already) or "unneeded" (freed
// or reused since), repair_detail saying which; and counts a newly
// repaired block in `status.blocks_repaired`. The one wording of both the
// helper's report and the daemon's stored scrub.
void RecordRepair(snapshotter::BlockRepairResult result, const std::string& source,
                  ScrubBlock& block, ScrubStatus& status);

// True when `block` still reads damaged: not repaired (nor gone since).
bool StillDamaged(const ScrubBlock& block);

// kCorruption naming the count of damaged blocks and files when any is
// still damaged (so the command exits 7; repaired blocks are damage no
// more), kStale when cancelled, else OK.
Status ScrubOutcome(const ScrubStatus& status);

}  // namespace hoodyfs::cli
