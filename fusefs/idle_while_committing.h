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
// The policy is put back when the guard ends, and before any retry of the
// submission (Leave). Under SCHED_IDLE a thread runs only when nothing else
// wants its CPU, so the guard is used only where the way back was tried and
// works (IdlePolicyRoundTripWorks), and if the kernel ever refuses it, the
// guard turns itself off for every thread that shares its switch. What it
// cannot avoid: the commit also hands the thread's entry back to the kernel,
// which may give it the caller's next request while the thread, preempted by
// that caller, still waits for a SCHED_IDLE share of a busy CPU.
//
// Thread-safety: acts on the calling thread only; `allowed` may be shared.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hoodyfs::fusefs {

// Whether a thread of this process may go to SCHED_IDLE and come back to
// SCHED_OTHER. Tried for real on a thread of its own, which ends either
// way: the rules (CAP_SYS_NICE in the initial user namespace, RLIMIT_NICE
// against the thread's nice value; sched(7)) are the kernel's to apply.
// false when the calling thread does not run under SCHED_OTHER (someone
// chose its policy) or no thread could be started.
bool IdlePolicyRoundTripWorks() noexcept;

// Which replies to commit as SCHED_IDLE: those to a caller that moved
// between CPUs lately. Committing as SCHED_IDLE costs two system calls and a
// preemption per reply (cached 4 KiB O_DIRECT reads ran 25-40% slower with
// it on every reply), and a caller that stays on its CPU needs none. Once a
// caller has moved, though, the scheduler's memory of its other CPU (the
// "recently used" one) keeps moving it back with each reply committed the
// normal way, so its replies are committed as SCHED_IDLE for the next
// kIdleRepliesAfterAMove of them, and again whenever it moves.
// Never for a READ, nor for a caller with other requests in flight: reads
// are where an idle commit costs most, and a reader with many requests in
// flight (fio's QD16 O_DIRECT reads) is not waiting for one reply alone;
// its moving spreads its requests over the CPUs' queues (QD16 reads ran at
// 49-55k IOPS with idle commits on every moved caller's reply, 74-77k with
// READs left out, 71-86k with none).
// Callers are told apart by thread id (the request's pid), in a fixed table
// where two callers may share a slot: a wrong guess costs speed, never
// correctness. Thread-safety: every method may be called from every ring
// thread.
class IdleCommitPolicy {
 public:
  static constexpr uint16_t kIdleRepliesAfterAMove = 256;
  // A request from thread `pid` is being served.
  void Begin(uint32_t pid);
  // Its reply is about to be committed, from queue `qid`: whether as
  // SCHED_IDLE. `read`: the request is a READ. pid 0 (the kernel's own
  // requests): never. Call once per Begin.
  bool Decide(uint32_t pid, uint16_t qid, bool read);

 private:
  static constexpr size_t kSlots = 1024;
  // Per slot: pid << 32 | qid << 16 | idle replies left.
  std::atomic<uint64_t> slots_[kSlots] = {};
  std::atomic<uint32_t> in_flight_[kSlots] = {};  // Begins not yet decided
};

class IdleWhileCommitting {
 public:
  // Switches the calling thread, which runs under SCHED_OTHER, to
  // SCHED_IDLE when `allowed` holds and this reply `wants` it
  // (IdleCommitPolicy).
  IdleWhileCommitting(std::atomic<bool>& allowed, bool wants);
  ~IdleWhileCommitting() { Leave(); }
  IdleWhileCommitting(const IdleWhileCommitting&) = delete;
  IdleWhileCommitting& operator=(const IdleWhileCommitting&) = delete;

  // Back to SCHED_OTHER now (idempotent). If the kernel refuses, clears
  // `allowed` and logs: this thread stays under SCHED_IDLE, no other goes.
  void Leave();
  // Whether the thread runs under SCHED_IDLE because of this guard.
  bool idle() const { return idle_; }

 private:
  std::atomic<bool>& allowed_;
  bool idle_ = false;
};

}  // namespace hoodyfs::fusefs
