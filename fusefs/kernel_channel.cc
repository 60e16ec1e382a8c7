#include "fusefs/kernel_channel.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cstring>

#include "fusefs/fuse_fs.h"

namespace hoodyfs::fusefs {
namespace {

KernelChannel& ChannelOf(void* userdata) { return static_cast<FuseFs*>(userdata)->channel; }

ssize_t ReadHook(int fd, void* buf, size_t len, void* userdata) {
  const ssize_t n = ::read(fd, buf, len);
  if (n > 0) ChannelOf(userdata).NoteRequest(buf, static_cast<size_t>(n));
  return n;
}

ssize_t WritevHook(int fd, iovec* iov, int count, void* userdata) {
  fuse_init_out patched;
  const void* replacement = ChannelOf(userdata).PatchReply(iov, count, &patched, sizeof patched);
  if (replacement == nullptr) return ::writev(fd, iov, count);
  iovec copy[2] = {iov[0], {const_cast<void*>(replacement), iov[1].iov_len}};
  return ::writev(fd, copy, 2);
}

}  // namespace

bool KernelChannel::Install(fuse_session* se) {
  fuse_custom_io io{};
  io.read = &ReadHook;
  io.writev = &WritevHook;
  return fuse_session_custom_io(se, &io, fuse_session_fd(se)) == 0;
}

void KernelChannel::NoteRequest(const void* buf, size_t len) {
  if (!want_killpriv_v2_ || len < sizeof(fuse_in_header) + sizeof(fuse_init_in)) return;
  fuse_in_header in;
  std::memcpy(&in, buf, sizeof in);
  if (in.opcode != FUSE_INIT) return;
  fuse_init_in init;
  std::memcpy(&init, static_cast<const char*>(buf) + sizeof in, sizeof init);
  if ((init.flags & FUSE_HANDLE_KILLPRIV_V2) != 0) {
    init_unique_.store(in.unique, std::memory_order_release);
  }
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
  std::memcpy(scratch, iov[1].iov_base, len);
  uint32_t flags;
  std::memcpy(&flags, static_cast<char*>(scratch) + offsetof(fuse_init_out, flags), sizeof flags);
  flags |= FUSE_HANDLE_KILLPRIV_V2;
  std::memcpy(static_cast<char*>(scratch) + offsetof(fuse_init_out, flags), &flags, sizeof flags);
  init_unique_.store(0, std::memory_order_relaxed);
  killpriv_v2_.store(true, std::memory_order_release);
  return scratch;
}

}  // namespace hoodyfs::fusefs
