#include "cli/remote_scrub.h"

#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "cli/api/scrub_api.h"
#include "cli/daemon_starter.h"
#include "cli/progress.h"
#include "cli/store_path.h"
#include "snapshotter/engine/block_repair.h"
#include "snapshotter/remote/block_replica.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

namespace {

void Unrepairable(ScrubBlock& b, std::string why) {
  b.repair = "unrepairable";
  b.repair_detail = std::move(why);
}

// Finds and writes one block's bytes; sets its repair fields.
void RepairOne(remote::BlockReplicaFinder& finder, snapshotter::Store& store, ScrubBlock& b) {
  if (b.holders.empty()) {
    return Unrepairable(b,
                        "held by no head or snapshot: nothing reads it, and garbage "
                        "collection frees it");
  }
  char* end = nullptr;
  const uint64_t checksum = std::strtoull(b.checksum.c_str(), &end, 16);
  if (b.checksum.size() != 16 || end != b.checksum.c_str() + 16) {
    return Unrepairable(b, "bad checksum '" + b.checksum + "' in the scrub's report");
  }
  remote::ReplicaRequest request;
  request.checksum = checksum;
  for (const ScrubHolder& h : b.holders) {
    request.holders.push_back({h.container, h.snapshot, h.ino, h.offset, h.paths});
  }
  Result<remote::ReplicaBlock> found = finder.Find(request);
  if (!found.ok()) return Unrepairable(b, found.status().message());
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(found->bytes.data()),
                                         found->bytes.size());
  Result<snapshotter::BlockRepairResult> r =
      snapshotter::BlockRepairer(store).Repair(BlockNo(b.block), checksum, bytes);
  if (!r.ok()) {
    return Unrepairable(b,
                        "the replica in " + found->source +
                            " verified, but rewriting the block failed: " + r.status().ToString());
  }
  switch (*r) {
    case snapshotter::BlockRepairResult::kRepaired:
      b.repair = "repaired";
      b.repair_detail = "from " + found->source;
      break;
    case snapshotter::BlockRepairResult::kAlreadyGood:
      b.repair = "repaired";
      b.repair_detail = "the disk reads right already (verified against " + found->source + ")";
      break;
    case snapshotter::BlockRepairResult::kNoLongerInUse:
    case snapshotter::BlockRepairResult::kRecordChanged:
      b.repair = "unneeded";
      b.repair_detail = std::string("the block was ") + snapshotter::BlockRepairResultName(*r);
      break;
  }
}

std::string RepairLine(const ScrubStatus& s, size_t done) {
  return "repair: " + std::to_string(done) + " of " + std::to_string(s.damaged.size()) +
         " damaged blocks, " + std::to_string(s.blocks_repaired) + " repaired";
}

}  // namespace

Status RunScrubRepair(remote::S3Client& client, const RemoteScrubArgs& args, std::ostream& out) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(ResolveStorePath(args.store)));
  Result<std::unique_ptr<snapshotter::Snapshotter>> snap =
      snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions());
  if (!snap.ok() && snap.status().code() == Code::kBusy) {
    return Status::Busy(snap.status().message() +
                        "; a scrub that repairs runs offline: stop the daemon serving " + store +
                        " (or what holds it) first");
  }
  if (!snap.ok()) return snap.status();
  ScrubRequest request;
  request.max_bytes_per_second = args.max_rate_mb * 1000 * 1000;
  Progress progress;
  HOODY_ASSIGN_OR_RETURN(ScrubStatus status,
                         RunScrub(
                             **snap, request,
                             [&](const ScrubStatus& s) {
                               progress.Update("scrub: " + std::to_string(s.blocks_checked) +
                                               " of " + std::to_string(s.blocks_total) +
                                               " blocks, " + std::to_string(s.blocks_damaged) +
                                               " damaged");
                             },
                             nullptr));
  remote::BlockReplicaFinder finder(remote::ObjectsOf(client));
  for (size_t i = 0; i < status.damaged.size(); ++i) {
    progress.Update(RepairLine(status, i));
    RepairOne(finder, (*snap)->store(), status.damaged[i]);
    if (status.damaged[i].repair == "repaired") ++status.blocks_repaired;
  }
  progress.Done();
  if (args.json) {
    out << ToJson(status).dump(2) << "\n";
  } else {
    PrintScrub(status, out);
  }
  return ScrubOutcome(status);
}

}  // namespace hoodyfs::cli
