#include "tests/fuse/mount_fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "tests/util/private_mount_namespace.h"

namespace hoodyfs::testing {

void MountTest::OpenStore() {
  snapshotter::StoreOptions options = StoreOpts();
  auto opened = snapshotter::Store::Open(store_dir_, std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store_ = std::move(opened).value();
}

void MountTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting FUSE in-process needs root";
  {
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev.valid()) GTEST_SKIP() << "cannot open /dev/fuse: " << std::strerror(errno);
  }
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  dir_.emplace(std::move(dir).value());
  // Other users (the permission tests) must reach the mountpoint.
  ASSERT_EQ(::chmod(dir_->path().c_str(), 0755), 0);
  store_dir_ = dir_->File("store");
  if (const uint64_t bytes = StoreHostBytes(); bytes > 0) {
    if (const std::string& why = PrivateMountNamespaceError(); !why.empty()) {
      GTEST_SKIP() << "a store on its own tmpfs needs a private mount namespace: " << why;
    }
    const std::string host = dir_->File("host");
    ASSERT_EQ(::mkdir(host.c_str(), 0755), 0);
    const std::string opts = "size=" + std::to_string(bytes);
    ASSERT_EQ(::mount("tmpfs", host.c_str(), "tmpfs", 0, opts.c_str()), 0)
        << "mount tmpfs: " << std::strerror(errno);
    store_host_ = host;
    store_dir_ = host + "/store";
  }
  mountpoint_ = dir_->File("mnt");
  ASSERT_EQ(::mkdir(mountpoint_.c_str(), 0755), 0);
  ASSERT_OK(snapshotter::Store::Init(store_dir_));
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  ASSERT_OK(store_->CreateContainer("c1"));
  if (const std::string& why = PrivateMountNamespaceError(); !why.empty()) {
    RecordProperty("private_mount_namespace", why);
  }
  ASSERT_TRUE(guard_.Start(mountpoint_)) << "cannot start the mount guard";
  ASSERT_NO_FATAL_FAILURE(MountView());
}

void MountTest::MountView(std::optional<snapshotter::FileSystem> view) {
  if (!view) view = Head();
  fusefs::MountOptions options = Options();
  // The suites run through FUSE over io_uring where the kernel has it
  // (kOn sets the host's enable_uring), and a second time through
  // /dev/fuse alone (tests/CMakeLists.txt sets HOODYFS_TEST_FUSE_URING=0).
  // A test's own choice stands.
  if (options.fuse_uring == fusefs::MountOptions::FuseUring::kIfAllowed) {
    const char* e = std::getenv("HOODYFS_TEST_FUSE_URING");
    options.fuse_uring = e != nullptr && e[0] == '0' ? fusefs::MountOptions::FuseUring::kOff
                                                     : fusefs::MountOptions::FuseUring::kOn;
  }
  auto s = fusefs::Session::Mount(*store_, *view, mountpoint_, options);
  if (!s.ok() && s.status().code() == Code::kPermission) {
    GTEST_SKIP() << "no permission to mount FUSE: " << s.status().ToString();
  }
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  session_ = std::move(s).value();
  struct stat st;
  ASSERT_EQ(::stat(mountpoint_.c_str(), &st), 0);
  guard_.Arm(st.st_dev);
}

void MountTest::Unmount() {
  if (!session_) return;
  EXPECT_OK(session_->Unmount());
  session_.reset();  // a busy mount is detached and aborted here
}

void MountTest::Remount() {
  Unmount();
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  ASSERT_NO_FATAL_FAILURE(MountView());
}

void MountTest::TearDown() {
  if (const char* e = std::getenv("HOODYFS_TEST_FUSE_URING");
      session_ && e != nullptr && e[0] == '0' && !HasFailure()) {
    EXPECT_EQ(session_->uring_requests(), 0u) << "the /dev/fuse run went through the rings";
  }
  Unmount();
  if (store_) {
    EXPECT_OK(store_->CheckInvariants());
    store_.reset();
  }
  if (!store_host_.empty()) ::umount2(store_host_.c_str(), MNT_DETACH);
  guard_.Disarm();
}

namespace {
int WaitChild(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 200 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
}  // namespace

int RunAs(uid_t uid, gid_t gid, const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0) {
      ::_exit(199);
    }
    ::_exit(fn());
  }
  return WaitChild(pid);
}

int RunInChild(const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::_exit(fn());
  }
  return WaitChild(pid);
}

std::string ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path << ": " << std::strerror(errno);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    EXPECT_GE(n, 0) << path << ": " << std::strerror(errno);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& data, int mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  ASSERT_TRUE(fd.valid()) << path << ": " << std::strerror(errno);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    ASSERT_GT(n, 0) << path << ": " << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
}

}  // namespace hoodyfs::testing
