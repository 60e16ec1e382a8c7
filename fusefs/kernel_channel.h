// KernelChannel: the /dev/fuse reads and writes of one session, routed
// through libfuse's custom I/O hooks (fuse_session_custom_io), for the one
// thing libfuse 3.14 cannot negotiate: FUSE_HANDLE_KILLPRIV_V2 (libfuse
// learnt it in 3.16).
//
// Why it matters: without it the kernel never sets SB_NOSEC on a FUSE
// superblock, so before every write(2), truncate and fallocate it asks the
// daemon for the file's security.capability xattr (file_remove_privs), one
// whole FUSE round trip: 2.2 of the 6.4 requests per SQLite row
// (docs/benchmarks.md). With it the kernel asks once per inode and marks
// the inode S_NOSEC when the answer is "none"; in exchange it leaves
// clearing setuid and setgid on write, truncate, fallocate and chown to
// the daemon (setid.cc).
//
// The second: FUSE over io_uring (fusefs/uring_transport.h), which libfuse
// 3.14 cannot serve. The INIT reply agrees to it when the kernel offered it
// and the mount asked for it and the rings could be made; from then on the
// replies to ring requests go back through their ring (UringTransport::
// TakeReply, the writev hook's first stop), everything else through
// /dev/fuse.
//
// The third: while the rings serve, a read of /dev/fuse after a FORGET
// waits a moment, so that the next FORGETs come in one batch
// (forget_batching.h).
//
// Every other read and write passes through unchanged. Internal to fusefs/.
//
// Thread-safety: the hooks run on every FUSE worker and ring thread. The
// kernel sends nothing else before INIT is answered, so the INIT state is
// written once, on INIT's worker, before any other request is read; the
// flags others read are atomic. StopUring runs after the loop has ended.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "fusefs/forget_batching.h"
#include "fusefs/uring_transport.h"

struct fuse_session;

namespace hoodyfs::fusefs {

class KernelChannel {
 public:
  explicit KernelChannel(bool want_killpriv_v2) : want_killpriv_v2_(want_killpriv_v2) {}
  KernelChannel(const KernelChannel&) = delete;
  KernelChannel& operator=(const KernelChannel&) = delete;

  // Routes `se`'s device I/O through `channel`, which must outlive the
  // session: the hooks find it as the session's userdata's
  // (FuseFs::channel). Call after fuse_session_mount and before the loop
  // starts (INIT is the loop's first request). false if libfuse refused.
  static bool Install(fuse_session* se);

  // The kernel agreed to FUSE_HANDLE_KILLPRIV_V2: setid.cc clears setuid
  // and setgid itself.
  bool killpriv_v2() const { return killpriv_v2_.load(std::memory_order_acquire); }

  // Asks for FUSE over io_uring: the session the rings serve and their
  // threads per queue (CPU). Call before the loop starts; without it the
  // transport is never agreed to.
  void SetUringSession(fuse_session* se, unsigned threads_per_queue) {
    want_uring_ = true;
    se_ = se;
    uring_threads_per_queue_ = threads_per_queue;
  }
  // The kernel agreed to FUSE over io_uring and the rings serve.
  bool uring() const { return uring_started_.load(std::memory_order_acquire); }
  // Requests served through the rings so far.
  uint64_t uring_requests() const { return uring() ? uring_->requests_served() : 0; }
  uint64_t uring_replies_in_place() const { return uring() ? uring_->replies_in_place() : 0; }
  std::vector<uint64_t> uring_requests_by_queue() const {
    return uring() ? uring_->requests_served_by_queue() : std::vector<uint64_t>();
  }
  // After the INIT reply went out: starts the rings it agreed to.
  void AfterInitReply();
  // Joins the rings' threads; call once the connection has ended.
  void StopUring();

  // When the read hook may read /dev/fuse next (forget_batching.h).
  const ForgetBatching& forgets() const { return forgets_; }

  // The hooks' work, public for the hooks and the tests: `buf` is a request
  // just read, `iov` a reply about to be written (its first element the
  // fuse_out_header, as libfuse always sends it). PatchReply returns the
  // replacement for iov[1] when the reply is INIT's and gains a flag (the
  // caller writes that instead, then calls AfterInitReply), else nullptr.
  void NoteRequest(const void* buf, size_t len);
  const void* PatchReply(const iovec* iov, int count, void* scratch, size_t scratch_len);

 private:
  const bool want_killpriv_v2_;
  bool want_uring_ = false;               // SetUringSession
  std::atomic<uint64_t> init_unique_{0};  // 0: INIT not seen, or not to patch
  // What INIT offered that the mount wants (written before init_unique_).
  bool offer_killpriv_v2_ = false;
  bool offer_uring_ = false;
  std::atomic<bool> killpriv_v2_{false};
  fuse_session* se_ = nullptr;
  unsigned uring_threads_per_queue_ = 1;
  std::unique_ptr<UringTransport> uring_;  // made by PatchReply, started by AfterInitReply
  std::atomic<bool> uring_started_{false};
  ForgetBatching forgets_;
};

}  // namespace hoodyfs::fusefs
