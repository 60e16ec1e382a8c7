#include "snapshotter/remote/parallel_requests.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "base/assert.h"
#include "base/mutex.h"

namespace hoodyfs::remote {

Status ForEachInParallel(const S3Config& config, int workers, size_t count,
                         const std::function<Status(S3Client& client, size_t index)>& request) {
  HOODY_ASSERT(workers > 0, "ForEachInParallel needs a worker");
  const size_t threads = std::min(static_cast<size_t>(workers), count);
  HOODY_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<S3Client>> clients,
                         S3Client::CreateMany(config, threads));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  Mutex mu;
  Status first;  // guarded by mu
  auto work = [&](S3Client* client) {
    while (!failed.load(std::memory_order_acquire)) {
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      Status st = request(*client, i);
      if (st.ok()) continue;
      MutexLock lock(mu);
      if (first.ok()) first = std::move(st);
      failed.store(true, std::memory_order_release);
      return;
    }
  };
  std::vector<std::thread> running;
  for (const auto& client : clients) running.emplace_back(work, client.get());
  for (std::thread& t : running) t.join();
  MutexLock lock(mu);
  return first;
}

}  // namespace hoodyfs::remote
