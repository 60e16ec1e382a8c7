#include "fusefs/idle_while_committing.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "base/log.h"

namespace hoodyfs::fusefs {
namespace {

bool SetPolicy(int policy) {
  const sched_param param{};
  return ::sched_setscheduler(0, policy, &param) == 0;
}

}  // namespace

bool IdlePolicyRoundTripWorks() noexcept {
  if (::sched_getscheduler(0) != SCHED_OTHER) return false;
  bool works = false;
  try {
    // A thread inherits its creator's policy and nice value, as the ring
    // threads will; if it cannot come back, it ends under SCHED_IDLE.
    std::thread probe([&works] { works = SetPolicy(SCHED_IDLE) && SetPolicy(SCHED_OTHER); });
    probe.join();
  } catch (const std::system_error&) {
    return false;
  }
  return works;
}

void IdleCommitPolicy::Begin(uint32_t pid) {
  in_flight_[pid % kSlots].fetch_add(1, std::memory_order_relaxed);
}

bool IdleCommitPolicy::Decide(uint32_t pid, uint16_t qid, bool read) {
  const bool alone = in_flight_[pid % kSlots].fetch_sub(1, std::memory_order_relaxed) == 1;
  if (pid == 0) return false;
  std::atomic<uint64_t>& slot = slots_[pid % kSlots];
  // Relaxed and not atomic as a whole: two ring threads racing on one slot
  // lose one update, which only changes a guess.
  const uint64_t old = slot.load(std::memory_order_relaxed);
  const bool same_caller = old >> 32 == pid;
  const auto old_qid = static_cast<uint16_t>(old >> 16);
  uint16_t left = same_caller ? static_cast<uint16_t>(old) : 0;
  if (same_caller && old_qid != qid) left = kIdleRepliesAfterAMove;
  const bool idle = left > 0 && alone && !read;
  if (idle) --left;
  slot.store(uint64_t{pid} << 32 | uint64_t{qid} << 16 | left, std::memory_order_relaxed);
  return idle;
}

IdleWhileCommitting::IdleWhileCommitting(std::atomic<bool>& allowed, bool wants)
    : allowed_(allowed) {
  if (wants && allowed_.load(std::memory_order_relaxed)) idle_ = SetPolicy(SCHED_IDLE);
}

void IdleWhileCommitting::Leave() {
  if (!idle_) return;
  idle_ = false;  // back, or nothing more to try
  if (SetPolicy(SCHED_OTHER)) return;
  const int err = errno;
  if (allowed_.exchange(false, std::memory_order_relaxed)) {
    Log(LogLevel::kError,
        std::string("FUSE over io_uring: a ring thread could not leave SCHED_IDLE (") +
            std::strerror(err) +
            "); it now runs only when its CPU has nothing else to do, and no other thread "
            "commits as SCHED_IDLE");
  }
}

}  // namespace hoodyfs::fusefs
