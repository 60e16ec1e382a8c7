#include "cli/remote_scrub.h"

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "cli/api/daemon_paths.h"
#include "cli/api/remote_api.h"
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

// Writes a block's verified bytes: in this process (offline) or through
// the daemon that serves the store.
using BlockWriter = std::function<Result<snapshotter::BlockRepairResult>(
    BlockNo block, uint64_t checksum, const std::string& bytes)>;

// Finds and writes one block's bytes; sets its repair fields (and counts
// it in `status` when repaired).
void RepairOne(remote::BlockReplicaFinder& finder, const BlockWriter& write, ScrubBlock& b,
               ScrubStatus& status) {
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
  Result<snapshotter::BlockRepairResult> r = write(BlockNo(b.block), checksum, found->bytes);
  if (!r.ok()) {
    return Unrepairable(b,
                        "the replica in " + found->source +
                            " verified, but rewriting the block failed: " + r.status().ToString());
  }
  RecordRepair(*r, found->source, b, status);
}

std::string RepairLine(const ScrubStatus& s, size_t done) {
  return "repair: " + std::to_string(done) + " of " + std::to_string(s.damaged.size()) +
         " damaged blocks, " + std::to_string(s.blocks_repaired) + " repaired";
}

std::string ScrubLine(const ScrubStatus& s) {
  return "scrub: " + std::to_string(s.blocks_checked) + " of " + std::to_string(s.blocks_total) +
         " blocks, " + std::to_string(s.blocks_damaged) + " damaged";
}

// The daemon's scrub (POST /api/v1/scrub; one already running is joined),
// followed to its end.
Result<ScrubStatus> ScrubInDaemon(RemoteApi& daemon, const ScrubRequest& request,
                                  Progress& progress) {
  Result<ScrubStatus> st = daemon.StartScrub(request);
  if (!st.ok() && st.status().code() == Code::kBusy) st = daemon.CurrentScrub();
  while (st.ok() && st->state == "running") {
    progress.Update(ScrubLine(*st));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling a remote job
    st = daemon.CurrentScrub();
  }
  return st;
}

}  // namespace

Status RunScrubRepair(remote::S3Client& client, const RemoteScrubArgs& args, std::ostream& out) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(ResolveStorePath(args.store)));
  ScrubRequest request;
  request.max_bytes_per_second = args.max_rate_mb * 1000 * 1000;
  Progress progress;
  // With a daemon serving the store (its mounts live), the daemon scrubs
  // and writes; this process, which holds the remote's credentials, finds
  // the bytes (docs/design.md, "Scrub", "Repair from a replica").
  RemoteApi daemon(UnixEndpoint(DaemonSocketPath(store)));
  std::unique_ptr<snapshotter::Snapshotter> snap;
  ScrubStatus status;
  BlockWriter write;
  if (daemon.Ping()) {
    HOODY_ASSIGN_OR_RETURN(status, ScrubInDaemon(daemon, request, progress));
    write = [&daemon](BlockNo block, uint64_t,
                      const std::string& bytes) -> Result<snapshotter::BlockRepairResult> {
      HOODY_ASSIGN_OR_RETURN(BlockRepairReply reply, daemon.RepairBlock(block.value, bytes));
      return reply.result;
    };
  } else {
    Result<std::unique_ptr<snapshotter::Snapshotter>> opened =
        snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions());
    if (!opened.ok()) return opened.status();
    snap = std::move(opened).value();
    HOODY_ASSIGN_OR_RETURN(
        status,
        RunScrub(
            *snap, request, [&](const ScrubStatus& s) { progress.Update(ScrubLine(s)); }, nullptr));
    write = [&snap](BlockNo block, uint64_t checksum,
                    const std::string& bytes) -> Result<snapshotter::BlockRepairResult> {
      return snapshotter::BlockRepairer(snap->store())
          .Repair(block, checksum,
                  std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()),
                                             bytes.size()));
    };
  }
  remote::BlockReplicaFinder finder(remote::ObjectsOf(client));
  // A cancelled or failed scrub (the daemon's: cancelled from elsewhere)
  // is reported as it is; its list of damage is not the whole.
  for (size_t i = 0; status.state == "done" && i < status.damaged.size(); ++i) {
    progress.Update(RepairLine(status, i));
    RepairOne(finder, write, status.damaged[i], status);
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
