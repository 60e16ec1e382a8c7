// ForgetBatching: while FUSE over io_uring serves the requests, the FUSE
// workers on /dev/fuse read a FORGET only after a short window, so the ones
// the kernel queues meanwhile come as one BATCH_FORGET.
//
// Why: the rings carry every request but FORGET and INTERRUPT, which the
// kernel still queues on /dev/fuse (Linux 6.14-6.18). An unlink evicts the
// kernel's inode and queues its FORGET at once, so a worker blocked in
// read(2) was woken, on the other CPU, once per removed file: during a loop
// of unlinks the workers took 25% of the daemon's samples, nearly all of it
// waking and sleeping, and each wake-up cost the unlinking caller an
// inter-processor interrupt. A worker that waits kWindow after each FORGET
// finds the next ones queued together; the kernel hands them over in one
// read (fuse_read_batch_forget). Measured in docs/benchmarks.md ("Forgets
// in batches").
//
// What the window may delay: the counts FORGETs give back (the inode table
// keeps a node a little longer; a removed file's blocks are freed when its
// FORGET is served) and an INTERRUPT (served after at most kWindow; the
// interrupted request still gets its reply). Through /dev/fuse alone every
// request shares the workers, so there the window never applies.
//
// Thread-safety: every method may be called from every FUSE worker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hoodyfs::fusefs {

class ForgetBatching {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds kWindow{1000};

  // A request with `opcode` was read from /dev/fuse at `now`; `rings_serve`:
  // the rings carry every other request.
  void Noted(uint32_t opcode, bool rings_serve, Clock::time_point now);
  // When the next read of /dev/fuse may start (the clock's epoch: at once).
  Clock::time_point ReadNotBefore() const;
  // Sleeps until ReadNotBefore(); the read hook calls it before each read.
  void WaitForTurn() const;

 private:
  std::atomic<Clock::rep> not_before_{0};  // ReadNotBefore, since the epoch
};

}  // namespace hoodyfs::fusefs
