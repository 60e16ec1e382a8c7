// ForEachInParallel: independent requests to a bucket, several at a time.
// gc's HEAD and DELETE of each unreferenced chunk and push's re-check of
// the chunks it wrote are one round trip each, and thousands of them one at
// a time wait on the network, not on the server (docs/benchmarks.md,
// Part 2f).
//
// Thread-safety: `request` runs on several threads at once, each with a
// client of its own, never twice for one index; what it writes must be per
// index or guarded.
#pragma once

#include <cstddef>
#include <functional>

#include "base/status.h"
#include "snapshotter/remote/s3_client.h"
#include "snapshotter/remote/s3_config.h"

namespace hoodyfs::remote {

// Calls `request(client, i)` for i in 0..count-1, in that order of start,
// on min(workers, count) threads, each with an S3Client of its own (one
// connection). The first error stops the threads from starting more and is
// returned once the running requests have finished; the indexes after it
// may not have run. Errors: those of S3Client::Create and of `request`.
Status ForEachInParallel(const S3Config& config, int workers, size_t count,
                         const std::function<Status(S3Client& client, size_t index)>& request);

}  // namespace hoodyfs::remote
