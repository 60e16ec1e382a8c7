// MountGuard: makes sure a test process that dies, however it dies, leaves
// no mount and no unkillable process behind.
//
// The hard case is not a mount left in the process's private namespace (it
// goes with the process) but a death while a thread waits uninterruptibly
// for its own daemon: close(2) or munmap(2) waiting for writeback of FUSE
// pages. SIGKILL then ends every other thread, the FUSE workers included,
// and the waiting thread never wakes: the process cannot finish dying and
// its connection never closes. So the guard is a separate process that
// learns of the death early and aborts the connection (fusectl), which
// fails the waiting I/O and lets the process go, then lazily unmounts.
//
// It learns of the death through PR_SET_PDEATHSIG: the guard is forked by a
// helper thread that does nothing but wait, so the signal comes when the
// kernel kills that thread, which it does at once for any fatal signal
// (abort, a crash, SIGKILL, a timeout) even when another thread is stuck.
// A closed control pipe (the process fully exited) works too.
//
// Thread-safety: Start, Arm and Disarm from the test's thread, in order.
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>

namespace hoodyfs::testing {

class MountGuard {
 public:
  MountGuard() = default;
  ~MountGuard();
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;

  // Forks the guard process (through the helper thread). False on failure.
  bool Start(const std::string& mountpoint);
  // The mount is live on the FUSE connection of superblock `dev`.
  void Arm(dev_t dev);
  // The test ended normally: the guard exits without acting.
  void Disarm();

 private:
  int control_ = -1;  // write end: the guard reads 'A' + dev, or 'D'
  int stop_ = -1;     // write end: closing it ends the helper thread
  pid_t pid_ = -1;
  std::thread helper_;
};

}  // namespace hoodyfs::testing
