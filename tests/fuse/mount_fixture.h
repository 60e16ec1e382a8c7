// MountTest: a gtest fixture that creates a store in a temporary directory,
// opens it, creates container "c1" and mounts its head in-process at a
// temporary mountpoint (fusefs::Session::Mount). TearDown always unmounts,
// also after a failed assertion.
//
// Never leaving a mount behind: the test binary enters a private mount
// namespace before main (a static initializer, while the process has one
// thread), so its mounts are invisible outside it and vanish with it; and a
// MountGuard process aborts the FUSE connection and unmounts if the test
// process dies while a thread waits on its own mount (see mount_guard.h).
// Within a process, a failed ASSERT returns from the test body and TearDown
// unmounts; test bodies hold descriptors in UniqueFd so none keeps the mount
// busy past the body, and a mount still busy is detached and aborted by the
// Session's destructor.
//
// The test process is also the FUSE daemon, so it must never map a file of
// its own mount: munmap(2) waits for writeback while holding the process's
// mmap lock, which the daemon's threads need to copy requests into their
// buffers. Mapping happens in other processes (RunInChild, or the
// file_exerciser program).
//
// No /dev/fuse, not root, or no mount permission: GTEST_SKIP with the reason.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/testing/temp_dir.h"
#include "fusefs/session.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/fuse/mount_guard.h"

namespace hoodyfs::testing {

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Mount options for the fixture's session; tests override.
  virtual fusefs::MountOptions Options() const { return fusefs::MountOptions(); }
  // Store options for the fixture's store; tests override (the durability
  // tests turn the background flusher off).
  virtual snapshotter::StoreOptions StoreOpts() const { return snapshotter::StoreOptions(); }
  // Bytes of a tmpfs the store lives on, so a test can fill it (0: the
  // temporary directory's own filesystem). Needs the private mount
  // namespace; without it the test skips. TearDown unmounts it.
  virtual uint64_t StoreHostBytes() const { return 0; }

  // A path below the mountpoint.
  std::string P(const std::string& relative) const { return mountpoint_ + "/" + relative; }
  const std::string& mountpoint() const { return mountpoint_; }
  snapshotter::Store& store() { return *store_; }
  fusefs::Session& session() { return *session_; }
  snapshotter::FileSystem Head() { return store_->Head("c1").value(); }

  // Unmounts, closes the store, reopens it and mounts a new session.
  void Remount();
  // Mounts the fixture's container (or `view`) at the mountpoint.
  void MountView(std::optional<snapshotter::FileSystem> view = std::nullopt);
  void Unmount();

  std::optional<TempDir> dir_;
  std::string store_dir_;
  std::string mountpoint_;
  std::unique_ptr<snapshotter::Store> store_;
  std::unique_ptr<fusefs::Session> session_;
  std::string store_host_;  // the tmpfs of StoreHostBytes(), when mounted

 private:
  void OpenStore();
  MountGuard guard_;
};

// Runs `fn` in a forked child with the given uid/gid (no supplementary
// groups) and returns its result: 0 for success, else an errno or a small
// code. The child may only make system calls (no gtest, no engine calls,
// no allocation: another thread may have held the allocator's lock at the
// fork, and under ASan that child waits forever).
int RunAs(uid_t uid, gid_t gid, const std::function<int()>& fn);
// Runs `fn` in a forked child as root, under the same rule.
int RunInChild(const std::function<int()>& fn);

// Whole-file helpers through the mount. Errors fail the calling test.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data, int mode = 0644);

}  // namespace hoodyfs::testing
