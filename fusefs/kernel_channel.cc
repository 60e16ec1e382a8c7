#include "fusefs/kernel_channel.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"
#include "fusefs/fuse_fs.h"

namespace hoodyfs::fusefs {
namespace {

KernelChannel& ChannelOf(void* userdata) { return static_cast<FuseFs*>(userdata)->channel; }

ssize_t ReadHook(int fd, void* buf, size_t len, void* userdata) {
  KernelChannel& channel = ChannelOf(userdata);
  channel.forgets().WaitForTurn();
  const ssize_t n = ::read(fd, buf, len);
  if (n > 0) channel.NoteRequest(buf, static_cast<size_t>(n));
  return n;
}

ssize_t WritevHook(int fd, iovec* iov, int count, void* userdata) {
  ssize_t taken;
  if (UringTransport::TakeReply(iov, count, &taken)) return taken;
  KernelChannel& channel = ChannelOf(userdata);
  fuse_init_out patched;
  const void* replacement = channel.PatchReply(iov, count, &patched, sizeof patched);
  if (replacement == nullptr) return ::writev(fd, iov, count);
  iovec copy[2] = {iov[0], {const_cast<void*>(replacement), iov[1].iov_len}};
  const ssize_t n = ::writev(fd, copy, 2);
  // The kernel has taken the reply (and its flags) once writev returns.
  if (n > 0) channel.AfterInitReply();
  return n;
}

}  // namespace

bool KernelChannel::Install(fuse_session* se) {
  fuse_custom_io io{};
  io.read = &ReadHook;
  io.writev = &WritevHook;
  return fuse_session_custom_io(se, &io, fuse_session_fd(se)) == 0;
}

void KernelChannel::NoteRequest(const void* buf, size_t len) {
  if (len < sizeof(fuse_in_header)) return;
  fuse_in_header in;
  std::memcpy(&in, buf, sizeof in);
  // Through /dev/fuse alone every request comes here: no clock read for them.
  if (uring()) forgets_.Noted(in.opcode, /*rings_serve=*/true, ForgetBatching::Clock::now());
  if (!(want_killpriv_v2_ || want_uring_) || len < sizeof in + sizeof(fuse_init_in)) return;
  if (in.opcode != FUSE_INIT) return;
  fuse_init_in init;
  std::memcpy(&init, static_cast<const char*>(buf) + sizeof in, sizeof init);
  offer_killpriv_v2_ = want_killpriv_v2_ && (init.flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
  // flags2 counts only with FUSE_INIT_EXT.
  offer_uring_ = want_uring_ && (init.flags & FUSE_INIT_EXT) != 0 &&
                 (init.flags2 & UringTransport::kInitFlags2Bit) != 0;
  if (offer_killpriv_v2_ || offer_uring_) init_unique_.store(in.unique, std::memory_order_release);
}

const void* KernelChannel::PatchReply(const iovec* iov, int count, void* scratch,
                                      size_t scratch_len) {
  const uint64_t unique = init_unique_.load(std::memory_order_acquire);
  if (unique == 0 || count != 2 || iov[0].iov_len != sizeof(fuse_out_header)) return nullptr;
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != unique || out.error != 0) return nullptr;
  // libfuse answers an older kernel with a shorter struct; the flags field
  // is in every version of it.
  const size_t len = iov[1].iov_len;
  if (len > scratch_len || len < offsetof(fuse_init_out, flags) + sizeof(uint32_t)) return nullptr;
  init_unique_.store(0, std::memory_order_relaxed);
  char* reply = static_cast<char*>(scratch);
  std::memcpy(reply, iov[1].iov_base, len);
  uint32_t flags;
  std::memcpy(&flags, reply + offsetof(fuse_init_out, flags), sizeof flags);
  if (offer_killpriv_v2_) {
    flags |= FUSE_HANDLE_KILLPRIV_V2;
    killpriv_v2_.store(true, std::memory_order_release);
  }
  // The rings are made before agreeing: once agreed, the kernel holds every
  // request until each queue has registered an entry.
  if (offer_uring_ && len >= offsetof(fuse_init_out, flags2) + sizeof(uint32_t)) {
    Result<std::unique_ptr<UringTransport>> made =
        UringTransport::Create(se_, uring_threads_per_queue_);
    if (made.ok()) {
      uring_ = std::move(made).value();
      uint32_t flags2;
      std::memcpy(&flags2, reply + offsetof(fuse_init_out, flags2), sizeof flags2);
      flags2 |= static_cast<uint32_t>(UringTransport::kInitFlags2Bit);
      std::memcpy(reply + offsetof(fuse_init_out, flags2), &flags2, sizeof flags2);
      flags |= FUSE_INIT_EXT;
    } else {
      Log(LogLevel::kWarning, "requests go through /dev/fuse: " + made.status().ToString());
    }
  }
  std::memcpy(reply + offsetof(fuse_init_out, flags), &flags, sizeof flags);
  return scratch;
}

void KernelChannel::AfterInitReply() {
  if (uring_ == nullptr || uring_started_.load(std::memory_order_relaxed)) return;
  // Published before the gate opens: a request the rings serve at once must
  // already count (uring_requests).
  uring_started_.store(true, std::memory_order_release);
  uring_->Start();
}

void KernelChannel::StopUring() {
  if (uring_ != nullptr) uring_->Stop();
}

}  // namespace hoodyfs::fusefs
