#include "snapshotter/remote/chunk_fetcher.h"

#include <algorithm>

#include "base/assert.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/s3_client.h"
#include "snapshotter/remote/sha256.h"

namespace hoodyfs::remote {

Result<std::unique_ptr<ChunkFetcher>> ChunkFetcher::Create(const S3Config& config,
                                                           std::vector<Chunk> chunks, int workers,
                                                           std::string source) {
  HOODY_ASSERT(workers > 0, "ChunkFetcher needs a worker");
  const size_t threads = std::min(static_cast<size_t>(workers), chunks.size());
  std::unique_ptr<ChunkFetcher> fetcher(new ChunkFetcher(std::move(chunks), std::move(source)));
  HOODY_ASSIGN_OR_RETURN(fetcher->clients_, S3Client::CreateMany(config, threads));
  for (const auto& client : fetcher->clients_) {
    fetcher->threads_.emplace_back([f = fetcher.get(), c = client.get()] { f->Work(c); });
  }
  return fetcher;
}

ChunkFetcher::~ChunkFetcher() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

Result<std::string> ChunkFetcher::Next() {
  MutexLock lock(mu_);
  const size_t i = handed_out_;
  HOODY_ASSERT(i < chunks_.size(), "ChunkFetcher::Next past the last chunk");
  std::optional<std::string>& slot = ready_[i % kWindow];
  while (error_.ok() && !slot) lock.Wait(changed_);
  if (!error_.ok()) return error_;
  std::string bytes = std::move(*slot);
  slot.reset();
  ++handed_out_;
  lock.Unlock();
  changed_.notify_all();  // room for one more ahead
  return bytes;
}

void ChunkFetcher::Work(S3Client* client) {
  for (;;) {
    size_t i = 0;
    {
      MutexLock lock(mu_);
      // Chunk i may be fetched once chunk i - kWindow is handed out: its
      // slot is free then.
      while (!stopping_ && error_.ok() && next_fetch_ < chunks_.size() &&
             next_fetch_ >= handed_out_ + kWindow) {
        lock.Wait(changed_);
      }
      if (stopping_ || !error_.ok() || next_fetch_ == chunks_.size()) return;
      i = next_fetch_++;
    }
    Result<std::string> got = Fetch(*client, chunks_[i]);
    {
      MutexLock lock(mu_);
      if (!got.ok()) {
        if (error_.ok()) error_ = got.status();
      } else {
        ready_[i % kWindow] = std::move(*got);
      }
    }
    changed_.notify_all();
  }
}

Result<std::string> ChunkFetcher::Fetch(S3Client& client, const Chunk& chunk) const {
  HOODY_ASSIGN_OR_RETURN(std::string bytes, client.Get(ChunkKey(chunk.hash)));
  if (bytes.size() != chunk.length || Sha256Hex(bytes) != chunk.hash) {
    return Status::Corruption("remote chunk " + chunk.hash + " (" + std::to_string(bytes.size()) +
                              " bytes) does not match its SHA-256 and length " +
                              std::to_string(chunk.length) + " in the manifest of " + source_);
  }
  return bytes;
}

}  // namespace hoodyfs::remote
