// IdleWhileCommitting: a ring thread commits its reply under the SCHED_IDLE
// policy, so the caller it wakes stays on its CPU.
//
// Why: the kernel queues a FUSE request on the caller's CPU and a ring thread
// pinned there serves it (uring_transport.h). The commit of the reply wakes
// the caller from inside this thread's system call, while the thread still
// runs, so the scheduler sees the CPU busy and places the caller on an idle
// one if it finds any (its recently used CPU first). Its next request is
// then queued there and served by that CPU's thread, whose commit moves it
// back: one single-threaded caller alternates between the CPUs with every
// request. A CPU whose runnable threads all have the SCHED_IDLE policy counts
// as idle, so committing as SCHED_IDLE keeps the caller where it is; the
// caller preempts this thread at once, which was about to wait for the next
// request anyway. Measured in docs/benchmarks.md ("Writes on the caller's
// thread, and callers that stay put").
//
// The policy is put back on destruction. Under SCHED_IDLE a thread runs only
// when nothing else wants its CPU, so it must not stay there: the guard is
// used only where the thread may leave it (MayLeaveIdlePolicy), and only
// around the commit, never while a request is served.
//
// Thread-safety: acts on the calling thread only; one guard per thread at a time.
#pragma once

namespace hoodyfs::fusefs {

// Whether this thread may switch from SCHED_IDLE back to its normal policy:
// CAP_SYS_NICE, or an RLIMIT_NICE that allows nice 0 (sched(7)). Without
// either, the kernel would refuse the way back.
bool MayLeaveIdlePolicy();

class IdleWhileCommitting {
 public:
  // Switches the calling thread to SCHED_IDLE when `enabled` and the thread
  // runs under SCHED_OTHER (any other policy was chosen by someone: it is
  // left alone).
  explicit IdleWhileCommitting(bool enabled);
  // Puts SCHED_OTHER back (the nice value was kept by the kernel).
  ~IdleWhileCommitting();
  IdleWhileCommitting(const IdleWhileCommitting&) = delete;
  IdleWhileCommitting& operator=(const IdleWhileCommitting&) = delete;

  // Whether the thread runs under SCHED_IDLE because of this guard.
  bool idle() const { return idle_; }

 private:
  bool idle_ = false;
};

}  // namespace hoodyfs::fusefs
