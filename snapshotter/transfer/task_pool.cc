#include "snapshotter/transfer/task_pool.h"

#include <utility>

#include "base/assert.h"

namespace hoodyfs::snapshotter {

TaskPool::TaskPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
  HOODY_ASSERT(threads == 0 || max_queued > 0, "a pool with threads needs a queue");
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

void TaskPool::Submit(std::function<void()> task) {
  if (threads_.empty()) {
    task();
    return;
  }
  std::unique_lock lock(mu_);
  HOODY_ASSERT(!closing_, "Submit after Wait");
  space_cv_.wait(lock, [&] { return queue_.size() < max_queued_; });
  queue_.push_back(std::move(task));
  lock.unlock();
  work_cv_.notify_one();
}

void TaskPool::Wait() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void TaskPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    space_cv_.notify_one();
    task();
  }
}

}  // namespace hoodyfs::snapshotter
