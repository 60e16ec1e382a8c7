// Remote gc: deletes the chunks (chunks/<sha256>) that no manifest of the
// remote names, safely against pushes running at the same time on other
// hosts, by the grace rule (remote/chunk_grace.h; the argument is in
// docs/design.md, "Remotes"). S3 has no locks and no conditional delete,
// and a LIST is no snapshot, so the rule is about object ages on the
// server's clock:
//   1. G = the server's time, taken before anything is listed;
//   2. every manifest is listed and read: the referenced set (a manifest
//      that does not parse stops gc before it deletes anything);
//   3. every chunk is listed; each one outside the referenced set is
//      HEADed, and deleted only when its Last-Modified is more than the
//      grace before G, by one delete issued within settle()/2 of that HEAD
//      and abandoned after another settle()/2. `workers` chunks at a time,
//      each on a connection of its own; the rule is per chunk.
// Keys under chunks/ that are not 64 lowercase hex digits are not ours and
// are left alone.
//
// Thread-safety: lists and reads manifests with the client it is given;
// the HEADs and DELETEs run on `workers` threads of its own.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "snapshotter/remote/chunk_grace.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {

struct GcStats {
  uint64_t manifests = 0;      // read (one gone meanwhile is not counted)
  uint64_t chunks = 0;         // chunk objects listed
  uint64_t referenced = 0;     // of those, named by a manifest
  uint64_t unreferenced = 0;   // named by none
  uint64_t deleted = 0;        // deleted (with dry_run: would be)
  uint64_t bytes_deleted = 0;  // their sizes
  uint64_t kept_young = 0;     // unreferenced but within the grace: kept
  uint64_t skipped_late = 0;   // delete not sent in time after its HEAD, or timed out: next gc
  uint64_t foreign_keys = 0;   // under chunks/ but not a chunk name: left alone
};

// Errors: kCorruption naming a manifest that does not parse (nothing is
// deleted), and the client's (what was deleted before stays deleted: every
// delete was safe on its own).
Result<GcStats> CollectChunks(S3Client& client, const ChunkGrace& grace, bool dry_run, int workers);

}  // namespace hoodyfs::remote
