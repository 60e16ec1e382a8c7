// Invalidator: one dedicated thread that sends the kernel cache
// notifications (fuse_lowlevel_notify_inval_*) for a session, one job at a
// time. Notifications can wait for the kernel, and the kernel can wait for
// request handlers (writing back dirty pages, taking a directory's lock that
// a handler's request holds): sent from a handler, or from a thread holding
// a lock a handler needs, they deadlock. This thread is neither a FUSE
// worker nor a holder of any engine lock.
//
// Ownership: owns its thread; the destructor finishes the running job and
// joins. Thread-safety: Run may be called from any thread except the
// Invalidator's own; callers wait for their job in turn (at most
// kMaxQueuedJobs waiting, the rest wait to enqueue).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "base/status.h"

namespace hoodyfs::fusefs {

class Invalidator {
 public:
  static constexpr size_t kMaxQueuedJobs = 8;

  Invalidator();
  ~Invalidator();
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  // Runs `job` on the invalidation thread and returns its status.
  Status Run(std::function<Status()> job);

 private:
  struct Job {
    std::function<Status()> fn;
    Status result;
    bool done = false;
  };
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace hoodyfs::fusefs
