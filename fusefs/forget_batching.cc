#include "fusefs/forget_batching.h"

#include <linux/fuse.h>

#include <thread>

namespace hoodyfs::fusefs {

void ForgetBatching::Noted(uint32_t opcode, bool rings_serve, Clock::time_point now) {
  if (!rings_serve || (opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET)) return;
  // Relaxed: a worker that reads the old value reads once more at once,
  // which costs a wake-up, never a request.
  not_before_.store((now + kWindow).time_since_epoch().count(), std::memory_order_relaxed);
}

ForgetBatching::Clock::time_point ForgetBatching::ReadNotBefore() const {
  return Clock::time_point(Clock::duration(not_before_.load(std::memory_order_relaxed)));
}

void ForgetBatching::WaitForTurn() const {
  const Clock::time_point when = ReadNotBefore();
  if (when > Clock::now()) std::this_thread::sleep_until(when);
}

}  // namespace hoodyfs::fusefs
