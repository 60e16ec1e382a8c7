#include "tests/fuse/mount_guard.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <future>

namespace hoodyfs::testing {

namespace {

// Only async-signal-safe calls below: the guard is forked from a
// multi-threaded process.

size_t FormatU64(uint64_t v, char* out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

bool WriteAbort(const char* dir, uint64_t connection) {
  char path[256];
  size_t at = 0;
  for (const char* p = dir; *p != '\0' && at < 200; ++p) path[at++] = *p;
  path[at++] = '/';
  at += FormatU64(connection, path + at);
  const char kAbort[] = "/abort";
  for (size_t i = 0; i < sizeof(kAbort); ++i) path[at + i] = kAbort[i];
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "1", 1) == 1;
  ::close(fd);
  return ok;
}

void Act(const char* mountpoint, uint64_t connection, char* fusectl_dir) {
  if (connection != 0 && !WriteAbort("/sys/fs/fuse/connections", connection)) {
    if (::mkdtemp(fusectl_dir) != nullptr) {
      if (::mount("fusectl", fusectl_dir, "fusectl", 0, nullptr) == 0) {
        WriteAbort(fusectl_dir, connection);
        ::umount2(fusectl_dir, MNT_DETACH);
      }
      ::rmdir(fusectl_dir);
    }
  }
  ::umount2(mountpoint, MNT_DETACH);
}

// Closes every descriptor from 3 up except `keep_a` and `keep_b`.
void CloseAllBut(int keep_a, int keep_b) {
  const unsigned lo = static_cast<unsigned>(keep_a < keep_b ? keep_a : keep_b);
  const unsigned hi = static_cast<unsigned>(keep_a < keep_b ? keep_b : keep_a);
  if (lo > 3) ::close_range(3, lo - 1, 0);
  if (hi > lo + 1) ::close_range(lo + 1, hi - 1, 0);
  ::close_range(hi + 1, ~0u, 0);
}

[[noreturn]] void GuardMain(int control, int ready, pid_t parent, const char* mountpoint,
                            char* fusectl_dir) {
  // Keep only the control pipe: an inherited descriptor (another pipe's
  // write end, a /dev/fuse of an earlier mount, the store's flock'd lock
  // file) must not outlive the test. Start waits for `ready` to close, so
  // a test that reopens the store never finds its lock still held here.
  CloseAllBut(control, ready);
  ::close(ready);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  uint64_t connection = 0;
  if (::getppid() != parent) Act(mountpoint, connection, fusectl_dir);  // died already
  char buf[32];
  size_t have = 0;
  for (;;) {
    pollfd fds[2] = {{control, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) break;  // the helper thread died: the process is dying
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      const ssize_t n = ::read(control, buf + have, sizeof(buf) - have);
      if (n <= 0) break;  // every writer gone: the process exited
      have += static_cast<size_t>(n);
      // Every whole message read: an Arm and a Disarm sent in quick
      // succession arrive in one read, and the 'D' after an 'A' must not be
      // dropped (the test then waited for this process forever).
      size_t at = 0;
      while (at < have) {
        if (buf[at] == 'D') ::_exit(0);
        if (buf[at] != 'A') {
          ++at;  // not ours: skip it
          continue;
        }
        if (have - at < 9) break;  // the rest of this 'A' is still in the pipe
        std::memcpy(&connection, buf + at + 1, 8);
        at += 9;
      }
      std::memmove(buf, buf + at, have - at);
      have -= at;
    }
  }
  Act(mountpoint, connection, fusectl_dir);
  ::_exit(0);
}

}  // namespace

bool MountGuard::Start(const std::string& mountpoint) {
  int control[2], stop[2], ready[2];
  if (::pipe2(control, O_CLOEXEC) != 0) return false;
  if (::pipe2(stop, O_CLOEXEC) != 0) {
    ::close(control[0]);
    ::close(control[1]);
    return false;
  }
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    for (int fd : {control[0], control[1], stop[0], stop[1]}) ::close(fd);
    return false;
  }
  control_ = control[1];
  stop_ = stop[1];
  std::promise<pid_t> forked;
  std::future<pid_t> pid = forked.get_future();
  // Everything the child needs, prepared before the fork.
  const pid_t parent = ::getpid();
  helper_ = std::thread([control_read = control[0], stop_read = stop[0], ready_write = ready[1],
                         parent, &forked, mp = mountpoint] {
    char fusectl_dir[] = "/tmp/hoodyfs-guard-fusectl-XXXXXX";
    const pid_t child = ::fork();
    if (child == 0) GuardMain(control_read, ready_write, parent, mp.c_str(), fusectl_dir);
    ::close(control_read);
    ::close(ready_write);
    forked.set_value(child);
    char c;
    while (::read(stop_read, &c, 1) > 0) {
    }
    ::close(stop_read);
  });
  pid_ = pid.get();
  // EOF once the guard closed its inherited descriptors (or never forked).
  char c;
  while (::read(ready[0], &c, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  return pid_ > 0;
}

void MountGuard::Arm(dev_t dev) {
  char msg[9];
  msg[0] = 'A';
  const uint64_t connection = (uint64_t{major(dev)} << 20) | minor(dev);
  std::memcpy(msg + 1, &connection, 8);
  (void)::write(control_, msg, sizeof(msg));
}

void MountGuard::Disarm() {
  if (pid_ > 0) {
    (void)::write(control_, "D", 1);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (control_ >= 0) ::close(control_);
  if (stop_ >= 0) ::close(stop_);
  control_ = stop_ = -1;
  if (helper_.joinable()) helper_.join();
}

MountGuard::~MountGuard() { Disarm(); }

}  // namespace hoodyfs::testing
