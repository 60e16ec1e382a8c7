#include "tests/daemon/daemon_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"
#include "tests/daemon/daemon_process.h"
#include "tests/util/private_mount_namespace.h"

namespace hoodyfs::testing {

void DaemonTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "the daemon mounts FUSE: needs root";
  {
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev.valid()) GTEST_SKIP() << "cannot open /dev/fuse: " << std::strerror(errno);
  }
  if (!PrivateMountNamespaceError().empty()) {
    GTEST_SKIP() << "no private mount namespace: " << PrivateMountNamespaceError();
  }
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  dir_.emplace(std::move(dir).value());
  ASSERT_EQ(::chmod(dir_->path().c_str(), 0755), 0);
  store_ = dir_->File("store");
  Ok(Hoodyfs({"init"}));
}

void DaemonTest::TearDown() {
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    const CommandResult r = Hoodyfs({"umount", *it});
    if (r.exit_code != 0) ::umount2(it->c_str(), MNT_DETACH);
  }
  mounts_.clear();
  if (daemon_ > 0) StopDaemon(SIGTERM);
}

void DaemonTest::StartDaemon(const std::vector<std::string>& args) {
  auto pid = StartDaemonProcess(store_, args, dir_->File("daemon.log"));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  daemon_ = *pid;
}

int DaemonTest::StopDaemon(int sig) {
  if (daemon_ <= 0) return 0;
  const int status = StopDaemonProcess(daemon_, sig);
  daemon_ = -1;
  return status;
}

CommandResult DaemonTest::Hoodyfs(std::vector<std::string> args, const std::string& stdin_data) {
  args.insert(args.begin(), {"--store", store_});
  return RunCommand(HoodyfsBinary(), args, {}, stdin_data);
}

CommandResult DaemonTest::Snap(std::vector<std::string> args) {
  args.insert(args.begin(), {"--store", store_});
  return RunCommand(HoodyfsSnapBinary(), args);
}

std::string DaemonTest::Ok(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  return r.out;
}

std::string DaemonTest::MountContainer(const std::string& container,
                                       std::vector<std::string> extra) {
  const std::string mp = dir_->File("mnt" + std::to_string(next_mount_++));
  EXPECT_EQ(::mkdir(mp.c_str(), 0755), 0) << std::strerror(errno);
  std::vector<std::string> args = {"mount", "-c", container};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(mp);
  const CommandResult r = Hoodyfs(args);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  if (r.exit_code == 0) mounts_.push_back(mp);
  return mp;
}

void DaemonTest::Unmount(const std::string& mountpoint) {
  Ok(Hoodyfs({"umount", mountpoint}));
  std::erase(mounts_, mountpoint);
}

}  // namespace hoodyfs::testing
