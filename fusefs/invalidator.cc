#include "fusefs/invalidator.h"

#include <pthread.h>

namespace hoodyfs::fusefs {

Invalidator::Invalidator()
    : thread_([this] {
        ::pthread_setname_np(::pthread_self(), "hoodyfs-inval");
        Loop();
      }) {}

Invalidator::~Invalidator() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status Invalidator::Run(std::function<Status()> job) {
  Job j{std::move(job), Status::OK(), false};
  std::unique_lock l(mu_);
  cv_.wait(l, [&] { return stopping_ || queue_.size() < kMaxQueuedJobs; });
  if (stopping_) return Status::Busy("the session is shutting down");
  queue_.push_back(&j);
  cv_.notify_all();
  cv_.wait(l, [&] { return j.done; });
  return j.result;
}

void Invalidator::Loop() {
  std::unique_lock l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Job* j = queue_.front();
    queue_.pop_front();
    l.unlock();
    Status result;
    try {
      result = j->fn();
    } catch (const std::exception& e) {
      result = Status::IoError(std::string("invalidation job threw: ") + e.what());
    }
    l.lock();
    j->result = std::move(result);
    j->done = true;
    cv_.notify_all();
  }
}

}  // namespace hoodyfs::fusefs
