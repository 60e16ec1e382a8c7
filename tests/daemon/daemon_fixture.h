// DaemonTest: a gtest fixture with a real store in a temporary directory and
// a real `hoodyfs serve` daemon for it, started as a child process (its own
// process group, killed if the test process dies: PR_SET_PDEATHSIG), plus
// helpers to run the real hoodyfs and hoodyfs-snap binaries and to mount
// containers through `hoodyfs mount`. TearDown unmounts everything the test
// mounted and stops the daemon, also after a failed assertion. The binary
// runs in a private mount namespace (tests/util/private_mount_namespace.h),
// so nothing it mounts outlives it.
//
// Not root, no /dev/fuse: GTEST_SKIP with the reason.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "tests/cli/run_command.h"

namespace hoodyfs::testing {

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts `hoodyfs serve --store STORE ARGS...` and waits until it serves.
  void StartDaemon(const std::vector<std::string>& args = {});
  // Sends `sig` to the daemon and reaps it; returns its wait status.
  int StopDaemon(int sig = SIGTERM);
  pid_t daemon_pid() const { return daemon_; }

  CommandResult Hoodyfs(std::vector<std::string> args, const std::string& stdin_data = "");
  CommandResult Snap(std::vector<std::string> args);
  // Runs a command that must succeed; returns its stdout.
  std::string Ok(const CommandResult& r);

  // Mounts `container` (created when asked) at a fresh directory through
  // `hoodyfs mount`; returns the mountpoint. TearDown unmounts it.
  std::string MountContainer(const std::string& container, std::vector<std::string> extra = {});
  void Unmount(const std::string& mountpoint);

  const std::string& store() const { return store_; }
  TempDir& dir() { return *dir_; }

  std::optional<TempDir> dir_;
  std::string store_;
  pid_t daemon_ = -1;
  std::vector<std::string> mounts_;
  int next_mount_ = 0;
};

}  // namespace hoodyfs::testing
