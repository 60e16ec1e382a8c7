// `hoodyfs-snap-remote scrub` (behind `hoodyfs scrub --repair-from REMOTE`,
// docs/cli.md): scrub a store in this process, then repair each damaged
// block from a remote's replica, as ZFS repairs from a mirror
// (docs/design.md, "Scrub", "Repair").
//
// For each damaged block: BlockReplicaFinder (snapshotter/remote/
// block_replica.h) looks for its bytes in the remote's manifests and
// checks them (each chunk's SHA-256, then the block's XXH3-64), and
// BlockRepairer (snapshotter/engine/block_repair.h) checks them again and
// rewrites the block in place, syncs and reads it back. A block no replica
// gives verified bytes for is reported unrepairable with the reason, and
// nothing is written for it.
//
// Where a daemon serves the store (mounts live), the daemon scrubs (POST
// /api/v1/scrub, followed to its end) and writes (PUT /api/v1/scrub/
// blocks/N, where it checks the bytes against the block's record before
// writing); this process keeps the remote's credentials and finds the
// bytes. Otherwise the store is opened in this process (offline).
//
// Thread-safety: one call at a time.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "base/status.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::cli {

struct RemoteScrubArgs {
  std::string store;  // "" : the default store
  bool json = false;
  uint64_t max_rate_mb = 0;  // MB/s; 0: unlimited
};

// Prints the report (human or JSON, as `hoodyfs scrub`) on `out`.
// Errors: kCorruption when damage remains after the repairs (after the
// report), kStale (the daemon's scrub was cancelled, after the report),
// kBusy (the store is held by another process that is no daemon),
// kNotFound (no store), those of the scrub.
Status RunScrubRepair(remote::S3Client& client, const RemoteScrubArgs& args, std::ostream& out);

}  // namespace hoodyfs::cli
