// TaskPool: a fixed set of threads running tasks from a bounded queue.
//
// ImportTree hands it the regular files of a tree: each file's data write
// waits for the block device, so a few files in flight keep the device busy
// where one at a time would leave it idle between files. The bound keeps
// memory and open descriptors (each queued file holds one) limited.
//
// Thread-safety: Submit and Wait are for the one thread that owns the pool;
// tasks run on the pool's threads and must not call Submit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hoodyfs::snapshotter {

class TaskPool {
 public:
  // threads == 0: Submit runs each task on the calling thread.
  TaskPool(size_t threads, size_t max_queued);
  ~TaskPool() { Wait(); }
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues `task`, first waiting while max_queued tasks are queued.
  // REQUIRES: Wait has not been called.
  void Submit(std::function<void()> task);
  // Returns once every submitted task has run, and stops the threads.
  void Wait();

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable work_cv_;          // a task was queued, or the pool closes
  std::condition_variable space_cv_;         // a task left the queue
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool closing_ = false;                     // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace hoodyfs::snapshotter
