// Push and pull: a snapshot's send stream into a remote as chunks and a
// manifest (remote/manifest.h), and back out as the same stream.
//
// Push reads a send stream (from `hoodyfs-snap send`), checking every
// record and the trailer as receive would; each data record's bytes become
// the chunk chunks/<sha256>, uploaded only when the bucket does not hold it
// yet (HEAD first: a chunk of an earlier snapshot, another container or
// another host is never sent twice), by `upload_threads` uploaders in
// parallel (ChunkUploader), each with a client of its own. The manifest is written last, after
// every chunk it names is in the bucket, so a remote never shows a
// snapshot with missing data; a push that fails half-way leaves only
// chunks, which a later push finds and skips. Against a concurrent gc it
// keeps its side of the grace rule (remote/chunk_grace.h): it touches old
// chunks, re-checks the chunks it wrote settle() after writing them, and
// writes no manifest once push_limit() has passed since it started.
//
// Pull fetches the manifest and its chunks, by `fetch_threads` fetchers in
// parallel (ChunkFetcher, a bounded window ahead of the stream), checks
// each chunk's length and SHA-256, and writes the rebuilt stream in order
// to a file descriptor (for
// `hoodyfs-snap receive`, which validates it again and publishes the
// snapshot in one commit, or nothing).
//
// Thread-safety: each call uses the client it is given from the calling
// thread; its uploaders and fetchers have clients of their own.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "snapshotter/remote/chunk_grace.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {

struct PushStats {
  std::string name;   // the snapshot's name, as the stream carries it
  std::string alias;  // "" when none
  std::string manifest_key;
  uint64_t chunks = 0;           // data records, each a chunk reference
  uint64_t distinct_chunks = 0;  // different hashes among them
  uint64_t chunks_uploaded = 0;  // of those, the ones the bucket lacked
  uint64_t chunks_touched = 0;   // present but older than the grace's touch_after(): written again
  uint64_t bytes_uploaded = 0;   // chunk bytes sent (the manifest not counted)
  uint64_t manifest_bytes = 0;
};

// Reads a send stream of a snapshot of `container` from `fd` to its end and
// stores it in the remote. Errors: those of StreamReader (a bad stream:
// nothing but chunks written), kInvalidArgument (an incremental stream:
// only full ones for now), kBusy (the push outlived the grace's
// push_limit(), or a chunk it wrote was gone when it re-checked it: a
// concurrent gc; its chunks stay and pushing again resumes), and the
// client's.
Result<PushStats> PushStream(S3Client& client, const std::string& container, int fd,
                             ChunkGrace grace = ChunkGrace(), int upload_threads = 4);

struct PullStats {
  std::string name;
  uint64_t chunks = 0;
  uint64_t bytes = 0;  // chunk bytes fetched
};

// Writes the send stream of snapshot `name_or_alias` of `container` (as
// pushed) to `fd`. Errors: kNotFound (no such snapshot in the remote),
// kCorruption (a damaged manifest, a chunk whose length or SHA-256 is not
// what the manifest says), kIoError writing fd, and the client's.
Result<PullStats> PullStream(S3Client& client, const std::string& container,
                             const std::string& name_or_alias, int fd, int fetch_threads = 4);

}  // namespace hoodyfs::remote
