// UringTransport: FUSE requests and replies through io_uring instead of
// read(2) and writev(2) on /dev/fuse (the kernel's FUSE-over-io_uring,
// Linux 6.14+, CONFIG_FUSE_IO_URING, module parameter enable_uring).
//
// Why: on this project's hosts a request through /dev/fuse costs 17-29 us of
// round trip, most of it the wake-ups of a worker on whichever CPU and of the
// caller. The kernel queues a ring request on the caller's CPU, to a thread
// pinned there, and one io_uring_enter both commits a reply and waits for the
// next request: 8-9 us per round trip on the same host (docs/benchmarks.md,
// "FUSE over io_uring").
//
// How: after INIT (which, like FORGET, INTERRUPT and every notification,
// still goes through /dev/fuse and libfuse's own loop), one set of threads
// per possible CPU ("queue") registers ring entries: a 288-byte header
// buffer and a payload buffer each. A request arrives as a completion of the
// entry's command: its fuse_in_header and per-opcode struct in the header
// buffer, the rest in the payload. The thread lays the request out as
// /dev/fuse would have delivered it (header, struct, payload, contiguous: it
// copies the two headers in front of the payload, which is never moved) and
// hands it to libfuse (fuse_session_process_buf), whose handlers answer
// synchronously on that thread (fusefs/reply.h). The answer reaches
// KernelChannel's writev hook, which gives it to TakeReply: the reply's
// header goes into the header buffer, its data into the payload buffer. The
// thread then commits the entry and fetches the next request with one
// submission, under SCHED_IDLE when the reply goes to a caller that moved
// between CPUs lately, so the wake-up keeps it on this one
// (idle_while_committing.h).
//
// Failure rules. The kernel holds every request of the connection until
// each queue has an entry, so nothing may leave a queue without one:
//  - the rings and buffers are made before the INIT reply (Create), so a
//    host without io_uring or threads never agrees to the transport (a
//    failed allocation aborts the daemon, as everywhere in it);
//  - a thread that cannot register before serving its first request makes
//    the kernel give up the rings for the connection (a registration it
//    must refuse), which then goes on through /dev/fuse;
//  - once serving, a thread whose entry is lost registers a new one, and
//    ends only with the connection (ENOTCONN, ECONNABORTED, ECANCELED).
// A handler that waits for the kernel inside a notification (a direct
// write's invalidation) may wait for requests queued on its own CPU's
// queue: at most threads_per_queue - 1 of a queue's threads do so at once
// (TryEnterNotification), so one entry of each queue stays free. Each
// thread makes, uses and closes its own ring: io_uring tells every task that
// made or used a ring when it closes, with a signal-like wake-up that makes
// that task's interruptible waits return EINTR, so no other thread may touch
// one. A
// queue whose registration fails makes the kernel fall back to /dev/fuse for
// the whole connection, and the threads end. A request a handler did not
// answer synchronously (none should) is answered EIO, so no caller hangs.
// The threads end when the connection ends: the kernel completes every
// parked command with an error.
//
// Thread-safety: Create and Start from one thread (the INIT reply's), Stop
// from the session's owner after the connection ended; TakeReply from any
// thread (it acts only on a thread serving a ring request). The start gate's
// state is guarded by gate_mu_.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "fusefs/idle_while_committing.h"

struct fuse_session;

namespace hoodyfs::fusefs {

class UringTransport {
 public:
  // FUSE_OVER_IO_URING, a flag of INIT's flags2 (bit 41 of the 64-bit flags).
  static constexpr uint64_t kInitFlags2Bit = uint64_t{1} << (41 - 32);

  // Whether the kernel lets a daemon ask for it (enable_uring is Y).
  static bool KernelAllows();
  // Sets enable_uring to Y (root only). The parameter only lets a daemon
  // ask: a FUSE daemon that does not ask is served as before.
  static Status AllowInKernel();

  // The threads of every queue (possible CPU), `threads_per_queue` each (at
  // least 2, fewer when the queues would exceed kMaxRingThreadsPerSession),
  // with their rings and buffers made; they wait for Start. kNotSupported
  // naming why (no io_uring or threads, too many CPUs, an unreadable CPU
  // list). Never throws (memory exhausted aborts, as operator new would).
  static Result<std::unique_ptr<UringTransport>> Create(fuse_session* se,
                                                        unsigned threads_per_queue) noexcept;
  ~UringTransport();  // Stop()
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // Lets the threads go: each registers its entry and serves. Call once the
  // kernel has taken the INIT reply that agreed to the transport.
  void Start();
  // Joins the threads. Once started they end on their own when the
  // connection has ended (unmounted and aborted); call only then.
  void Stop();

  // Requests served through the rings so far, in all and per queue (for
  // tests and benchmarks).
  uint64_t requests_served() const;
  std::vector<uint64_t> requests_served_by_queue() const;
  // Replies whose data a handler built in its entry's payload (ReplyRoom),
  // so that TakeReply copied none of it.
  uint64_t replies_in_place() const;

  // Before a handler waits for the kernel inside a notification: on a ring
  // thread, whether it may (true: call LeaveNotification after); nullopt on
  // any other thread (libfuse's workers count their own slots).
  static std::optional<bool> TryEnterNotification();
  static void LeaveNotification();

  // Room for a reply's data of `bytes` bytes, built in place: on a ring
  // thread serving a request that carries no payload of its own (a READ) and
  // is not answered yet, the start of its entry's payload buffer, aligned to
  // 4 KiB (O_DIRECT) and kPayloadBytes long; a reply whose data starts there
  // is committed without copying it. nullptr on any other thread, for a
  // request with a payload (the handler may still read it), or when `bytes`
  // does not fit. What the buffer held before is another request's: send
  // only bytes the handler wrote.
  static char* ReplyRoom(size_t bytes);

  // The writev hook's first stop: when the calling thread is serving a ring
  // request and `iov` (fuse_out_header first) answers it, stores the reply
  // in the request's entry, sets *written and returns true.
  static bool TakeReply(const iovec* iov, int count, ssize_t* written);

  struct Worker;  // one thread's ring and entry (uring_transport.cc)

 private:
  UringTransport(fuse_session* se, unsigned queues, unsigned threads_per_queue);
  // A thread's life: make its ring, report, wait for the gate, serve.
  void Run(Worker* w);
  void Serve(Worker* w);

  fuse_session* const se_;
  const unsigned threads_per_queue_;
  // Replies are committed under SCHED_IDLE (idle_while_committing.h): set
  // where the way back works, cleared if it ever fails.
  std::atomic<bool> commit_as_idle_;
  IdleCommitPolicy idle_replies_;  // which replies
  // Per queue: its threads now inside a notification.
  std::unique_ptr<std::atomic<unsigned>[]> notifying_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;

  Mutex gate_mu_;
  std::condition_variable gate_cv_;
  unsigned made_ GUARDED_BY(gate_mu_) = 0;  // threads that made their ring (or failed)
  std::string failure_ GUARDED_BY(gate_mu_);
  enum class Gate { kWait, kGo, kCancel } gate_ GUARDED_BY(gate_mu_) = Gate::kWait;
};

}  // namespace hoodyfs::fusefs
