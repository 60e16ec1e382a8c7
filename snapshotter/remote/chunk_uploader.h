// ChunkUploader: push's uploads, in parallel. Worker threads, each with an
// S3Client of its own (a client is one connection, used by one thread),
// take chunks from a bounded queue, ask the bucket whether it holds each
// (HEAD) and upload the ones it lacks, and again the ones it holds but
// whose Last-Modified is older than the grace's touch_after() (a "touch":
// gc's rule, remote/chunk_grace.h). It remembers every chunk it wrote or
// found just written, and when, for push's re-check before the manifest. The queue holds at most
// kMaxQueued chunks (1 MiB each at most), so memory stays bounded however fast the send stream
// comes; Add blocks while it is full.
//
// The first error stops every worker and is what Add (from then on) and
// Finish return; chunks already uploaded stay, and a later push skips them.
//
// Ownership: owns its threads and clients; the destructor stops and joins
// them (Finish first to wait for the queued chunks).
// Thread-safety: Add and Finish from one thread (the stream reader's).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "snapshotter/remote/chunk_grace.h"
#include "snapshotter/remote/s3_config.h"

namespace hoodyfs::remote {

class ChunkUploader {
 public:
  static constexpr int kMaxQueued = 16;

  // Errors: those of S3Client::Create.
  static Result<std::unique_ptr<ChunkUploader>> Create(const S3Config& config, int workers,
                                                       ChunkGrace grace);
  ~ChunkUploader();
  ChunkUploader(const ChunkUploader&) = delete;
  ChunkUploader& operator=(const ChunkUploader&) = delete;

  // Queues chunk `hash` (its SHA-256, hex) with its bytes. Returns the
  // first error of any upload so far (the caller should stop).
  Status Add(std::string hash, std::string bytes) EXCLUDES(mu_);
  // Waits until every queued chunk is in the bucket; the first error.
  Status Finish() EXCLUDES(mu_);

  // Chunks written because the bucket lacked them, and their bytes.
  uint64_t uploaded() const EXCLUDES(mu_);
  uint64_t bytes_uploaded() const EXCLUDES(mu_);
  // Chunks present but old, written again to refresh their Last-Modified.
  uint64_t touched() const EXCLUDES(mu_);
  // The chunks push must re-check before its manifest: every one written
  // (uploaded or touched) and every one found younger than the grace's
  // settle(); and when the last of them was written or found (steady
  // clock; the epoch when none).
  std::vector<std::string> written() const EXCLUDES(mu_);
  std::chrono::steady_clock::time_point last_write() const EXCLUDES(mu_);

 private:
  struct Job {
    std::string hash;
    std::string bytes;
  };
  explicit ChunkUploader(ChunkGrace grace) : grace_(grace) {}
  void Work(class S3Client* client) EXCLUDES(mu_);

  const ChunkGrace grace_;
  std::vector<std::unique_ptr<S3Client>> clients_;
  std::vector<std::thread> threads_;
  mutable Mutex mu_;
  std::condition_variable changed_;  // queue, in-flight count or error changed
  std::deque<Job> queue_ GUARDED_BY(mu_);
  int in_flight_ GUARDED_BY(mu_) = 0;
  bool closing_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  uint64_t uploaded_ GUARDED_BY(mu_) = 0;
  uint64_t bytes_uploaded_ GUARDED_BY(mu_) = 0;
  uint64_t touched_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> written_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_write_ GUARDED_BY(mu_);
};

}  // namespace hoodyfs::remote
