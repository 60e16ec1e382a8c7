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
// Every read and write passes through unchanged, except the reply to the
// kernel's INIT, which gains the flag when the kernel offered it and the
// mount asked for it. Internal to fusefs/.
//
// Thread-safety: the hooks run on every FUSE worker. The kernel sends
// nothing else before INIT is answered, so the INIT state is written once
// before any other request is read; it is atomic all the same.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>

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

  // The hooks' work, public for the hooks and the tests: `buf` is a request
  // just read, `iov` a reply about to be written (its first element the
  // fuse_out_header, as libfuse always sends it). PatchReply returns the
  // replacement for iov[1] when the reply is INIT's and gains the flag
  // (the caller writes that instead), else nullptr.
  void NoteRequest(const void* buf, size_t len);
  const void* PatchReply(const iovec* iov, int count, void* scratch, size_t scratch_len);

 private:
  const bool want_killpriv_v2_;
  std::atomic<uint64_t> init_unique_{0};  // 0: INIT not seen, or not to patch
  std::atomic<bool> killpriv_v2_{false};
};

}  // namespace hoodyfs::fusefs
