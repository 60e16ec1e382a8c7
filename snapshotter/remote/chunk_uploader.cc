#include "snapshotter/remote/chunk_uploader.h"

#include "base/test_hook.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {
namespace {

// settle() in whole seconds, rounded up, plus one for the granularity of
// Last-Modified and Date.
int64_t SettleSeconds(const ChunkGrace& grace) { return (grace.settle().count() + 999) / 1000 + 1; }

}  // namespace

Result<std::unique_ptr<ChunkUploader>> ChunkUploader::Create(const S3Config& config, int workers,
                                                             ChunkGrace grace) {
  HOODY_ASSERT(workers > 0, "ChunkUploader needs a worker");
  std::unique_ptr<ChunkUploader> uploader(new ChunkUploader(grace));
  HOODY_ASSIGN_OR_RETURN(uploader->clients_,
                         S3Client::CreateMany(config, static_cast<size_t>(workers)));
  for (const auto& client : uploader->clients_) {
    uploader->threads_.emplace_back([u = uploader.get(), c = client.get()] { u->Work(c); });
  }
  return uploader;
}

ChunkUploader::~ChunkUploader() {
  {
    MutexLock lock(mu_);
    closing_ = true;
    queue_.clear();  // not uploaded: Finish was not called, or failed
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

Status ChunkUploader::Add(std::string hash, std::string bytes) {
  MutexLock lock(mu_);
  while (error_.ok() && queue_.size() >= kMaxQueued) lock.Wait(changed_);
  if (!error_.ok()) return error_;
  queue_.push_back(Job{std::move(hash), std::move(bytes)});
  lock.Unlock();
  changed_.notify_all();
  return Status::OK();
}

Status ChunkUploader::Finish() {
  MutexLock lock(mu_);
  while (error_.ok() && (!queue_.empty() || in_flight_ > 0)) lock.Wait(changed_);
  return error_;
}

uint64_t ChunkUploader::uploaded() const {
  MutexLock lock(mu_);
  return uploaded_;
}

uint64_t ChunkUploader::bytes_uploaded() const {
  MutexLock lock(mu_);
  return bytes_uploaded_;
}

uint64_t ChunkUploader::touched() const {
  MutexLock lock(mu_);
  return touched_;
}

std::vector<std::string> ChunkUploader::written() const {
  MutexLock lock(mu_);
  return written_;
}

std::chrono::steady_clock::time_point ChunkUploader::last_write() const {
  MutexLock lock(mu_);
  return last_write_;
}

void ChunkUploader::Work(S3Client* client) {
  for (;;) {
    Job job;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !closing_ && error_.ok()) lock.Wait(changed_);
      if (queue_.empty() || !error_.ok()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    changed_.notify_all();  // room in the queue
    Status status;
    bool put = false, touch = false, fresh = false;
    Result<S3ObjectInfo> present = client->Head(ChunkKey(job.hash));
    if (!present.ok()) {
      status = present.status();
    } else {
      // The age on the server's clock alone: its Date and Last-Modified.
      const int64_t age = present->server_time - present->last_modified;
      touch = present->exists && age >= grace_.touch_after().count();
      // Written by someone within settle(): a gc that saw an older version
      // may still delete it, so push re-checks it like its own writes.
      fresh = present->exists && !touch && age <= SettleSeconds(grace_);
      if (!present->exists || touch) {
        status = client->Put(ChunkKey(job.hash), job.bytes);
        put = status.ok();
      }
    }
    {
      MutexLock lock(mu_);
      --in_flight_;
      if (!status.ok() && error_.ok()) error_ = status;
      if (put || fresh) {
        written_.push_back(job.hash);
        last_write_ = std::chrono::steady_clock::now();
      }
      if (put && touch) {
        ++touched_;
      } else if (put) {
        ++uploaded_;
        bytes_uploaded_ += job.bytes.size();
      }
    }
    changed_.notify_all();
    if (put) HOODY_TEST_HOOK("remote-chunk-uploaded");
  }
}

}  // namespace hoodyfs::remote
