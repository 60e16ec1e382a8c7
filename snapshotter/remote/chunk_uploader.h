// ChunkUploader: push's uploads, in parallel. Worker threads, each with an
// S3Client of its own (a client is one connection, used by one thread),
// take chunks from a bounded queue, ask the bucket whether it holds each
// (HEAD) and upload the ones it lacks. The queue holds at most kMaxQueued
// chunks (1 MiB each at most), so memory stays bounded however fast the
// send stream comes; Add blocks while it is full.
//
// The first error stops every worker and is what Add (from then on) and
// Finish return; chunks already uploaded stay, and a later push skips them.
//
// Ownership: owns its threads and clients; the destructor stops and joins
// them (Finish first to wait for the queued chunks).
// Thread-safety: Add and Finish from one thread (the stream reader's).
#pragma once

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
#include "snapshotter/remote/s3_config.h"

namespace hoodyfs::remote {

class ChunkUploader {
 public:
  static constexpr int kMaxQueued = 16;

  // Errors: those of S3Client::Create.
  static Result<std::unique_ptr<ChunkUploader>> Create(const S3Config& config, int workers);
  ~ChunkUploader();
  ChunkUploader(const ChunkUploader&) = delete;
  ChunkUploader& operator=(const ChunkUploader&) = delete;

  // Queues chunk `hash` (its SHA-256, hex) with its bytes. Returns the
  // first error of any upload so far (the caller should stop).
  Status Add(std::string hash, std::string bytes) EXCLUDES(mu_);
  // Waits until every queued chunk is in the bucket; the first error.
  Status Finish() EXCLUDES(mu_);

  uint64_t uploaded() const EXCLUDES(mu_);
  uint64_t bytes_uploaded() const EXCLUDES(mu_);

 private:
  struct Job {
    std::string hash;
    std::string bytes;
  };
  ChunkUploader() = default;
  void Work(class S3Client* client) EXCLUDES(mu_);

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
};

}  // namespace hoodyfs::remote
