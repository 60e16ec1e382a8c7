// ChunkFetcher: pull's downloads, in parallel, handed out in order.
// Worker threads, each with an S3Client of its own (a client is one
// connection, used by one thread), fetch the chunks of a list (a
// manifest's chunk references, in stream order) and check each one's
// length and SHA-256; Next() hands them out in the list's order. A pull
// fetching one chunk at a time spent its time waiting for each GET's round
// trip (a small file is one chunk: docs/benchmarks.md, Part 2f).
//
// Memory: at most kWindow chunks (1 MiB each at most) are fetched ahead of
// the one Next() waits for, so it stays bounded however long the list is
// and however slowly the caller writes.
//
// The first error (a failed GET, a chunk that does not match the
// manifest) stops every worker and is what Next returns from then on.
//
// Ownership: owns its threads and clients; the destructor stops and joins
// them, also when Next was not called for every chunk.
// Thread-safety: Next from one thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "snapshotter/remote/s3_config.h"

namespace hoodyfs::remote {

class ChunkFetcher {
 public:
  static constexpr size_t kWindow = 16;

  struct Chunk {
    std::string hash;  // SHA-256, hex: the key chunks/<hash>
    uint64_t length = 0;
  };

  // Starts fetching `chunks` with up to `workers` (> 0) threads. `source`
  // names the manifest in errors. Errors: those of S3Client::Create.
  static Result<std::unique_ptr<ChunkFetcher>> Create(const S3Config& config,
                                                      std::vector<Chunk> chunks, int workers,
                                                      std::string source);
  ~ChunkFetcher();
  ChunkFetcher(const ChunkFetcher&) = delete;
  ChunkFetcher& operator=(const ChunkFetcher&) = delete;

  // The bytes of the next chunk of the list, checked. REQUIRES: fewer
  // calls than chunks. Errors: kCorruption (a chunk whose length or
  // SHA-256 is not the manifest's), the client's.
  Result<std::string> Next() EXCLUDES(mu_);

 private:
  ChunkFetcher(std::vector<Chunk> chunks, std::string source)
      : chunks_(std::move(chunks)), source_(std::move(source)) {}
  void Work(class S3Client* client) EXCLUDES(mu_);
  // The chunk's bytes, or why they are not the manifest's.
  Result<std::string> Fetch(S3Client& client, const Chunk& chunk) const;

  const std::vector<Chunk> chunks_;
  const std::string source_;
  std::vector<std::unique_ptr<S3Client>> clients_;
  std::vector<std::thread> threads_;
  Mutex mu_;
  std::condition_variable changed_;        // a chunk fetched or handed out, an error, the stop
  size_t next_fetch_ GUARDED_BY(mu_) = 0;  // the first chunk no worker has taken
  size_t handed_out_ GUARDED_BY(mu_) = 0;  // chunks Next has returned
  // Chunk i waits in ready_[i % kWindow] until Next takes it.
  std::optional<std::string> ready_[kWindow] GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
};

}  // namespace hoodyfs::remote
