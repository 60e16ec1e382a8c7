// Containers mounted through `hoodyfs mount` and served by a real daemon:
// a real tree copied in with cp -a reads back identical (and again after a
// remount), snapshots are point in time while a writer appends, restore
// works while mounted, a kill -9 of the daemon loses no fsync'd file and no
// snapshot, snapshot mounts are read-only and pinned, and a daemon that
// `hoodyfs mount` started stops after the last unmount.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "base/testing/file_contents.h"
#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/fuse/file_exerciser.h"
#include "tests/util/tree_compare.h"
#include "tests/util/tree_fixture.h"

namespace hoodyfs::testing {
namespace {

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// "record 00000042\n": 16 bytes for i < 10^8.
constexpr size_t kRecord = 16;
std::string Record(uint64_t i) {
  std::string digits = std::to_string(i % 100000000);
  return "record " + std::string(8 - digits.size(), '0') + digits + "\n";
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class MountTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartDaemon();
  }
};

TEST_F(MountTest, CpOfARealTreeReadsBackIdenticalBeforeAndAfterARemount) {
  const std::string original = dir_->File("original");
  ASSERT_EQ(::mkdir(original.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((original + "/special").c_str(), 0755), 0);
  ASSERT_OK(BuildSpecialTree(original + "/special"));
  for (const char* tree : {"/usr/include", "/usr/share/zoneinfo"}) {
    struct stat st;
    if (::stat(tree, &st) != 0) continue;
    const CommandResult cp = RunCommand("/bin/cp", {"-a", tree, original + "/"});
    ASSERT_EQ(cp.exit_code, 0) << cp.Describe();
  }
  const std::string mp = MountContainer("web", {"--create"});
  const CommandResult cp =
      RunCommand("/bin/cp", {"-a", "--sparse=always", original + "/.", mp + "/"});
  ASSERT_EQ(cp.exit_code, 0) << cp.Describe();
  // cp -a's own reads move the source's atimes after it copied them, so
  // atimes are not compared here (utimensat through the mount is tested in
  // tests/fuse); everything else is.
  TreeCompareOptions options;
  options.atime = false;
  EXPECT_EQ(Join(CompareTrees(original, mp, options)), "");
  Unmount(mp);
  const std::string again = MountContainer("web");
  EXPECT_EQ(Join(CompareTrees(original, again, options)), "");
}

// Design invariant 1: a snapshot holds every write(2) that returned before
// the create call, and what it holds is a prefix of what was written.
TEST_F(MountTest, SnapshotsArePointInTimeWhileAWriterAppends) {
  const std::string mp = MountContainer("web", {"--create"});
  std::atomic<uint64_t> written{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    UniqueFd fd(::open((mp + "/log").c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644));
    for (uint64_t i = 0; !stop.load() && fd.valid(); ++i) {
      const std::string line = Record(i);
      if (::write(fd.get(), line.data(), kRecord) != static_cast<ssize_t>(kRecord)) break;
      written.store(i + 1);  // after write(2) returned
      written.notify_all();
    }
    written.store(UINT64_MAX);  // failed: wake the waiter
    written.notify_all();
  });
  // Stops and joins the writer however the test body ends.
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop.store(true);
      t.join();
    }
  } join{stop, writer};
  auto wait_for = [&](uint64_t n) {
    for (uint64_t seen = written.load(); seen < n; seen = written.load()) written.wait(seen);
  };
  for (int round = 0; round < 8; ++round) {
    wait_for(200u * (round + 1));
    ASSERT_NE(written.load(), UINT64_MAX) << "the writer failed";
    const uint64_t before = written.load();
    const std::string name = Ok(Snap({"create", "-c", "web"}));
    ASSERT_FALSE(name.empty());
    const std::string past = MountContainer("web", {"--snapshot", name.substr(0, name.size() - 1)});
    const std::string log = FileContents(past + "/log");
    Unmount(past);
    ASSERT_EQ(log.size() % kRecord, 0u) << "a torn record in the snapshot";
    const uint64_t records = log.size() / kRecord;
    EXPECT_GE(records, before) << "a write that returned before the create is missing";
    for (uint64_t i = 0; i < records; ++i) {
      ASSERT_EQ(log.compare(i * kRecord, kRecord, Record(i)), 0)
          << "record " << i << " of round " << round;
    }
  }
}

TEST_F(MountTest, RestoreWhileMountedShowsTheSnapshotWithoutARemount) {
  const std::string mp = MountContainer("web", {"--create"});
  WriteFile(mp + "/app.conf", "stable");
  ASSERT_EQ(::mkdir((mp + "/data").c_str(), 0755), 0);
  Ok(Snap({"create", "-c", "web", "--alias", "stable"}));
  WriteFile(mp + "/app.conf", "broken by a migration");
  WriteFile(mp + "/data/new-table", "rows");
  UniqueFd old_fd(::open((mp + "/app.conf").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(old_fd.valid());
  Ok(Snap({"restore", "-c", "web", "--name", "stable"}));
  // A descriptor opened before the restore belongs to the replaced tree
  // (docs/design.md, "File handles across a restore"): ESTALE, and its
  // writes never land in the restored tree.
  char buf[8];
  EXPECT_EQ(::pread(old_fd.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, ESTALE);
  EXPECT_EQ(::pwrite(old_fd.get(), "x", 1, 0), -1);
  EXPECT_EQ(errno, ESTALE);
  // New opens and path walks see the restored tree, without a remount.
  EXPECT_EQ(FileContents(mp + "/app.conf"), "stable");
  struct stat st;
  EXPECT_NE(::stat((mp + "/data/new-table").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  // The replaced head is kept: its snapshot still has the broken config.
  const std::string diff = Ok(Snap({"diff", "-c", "web", "stable"}));
  EXPECT_EQ(diff, "");
}

TEST_F(MountTest, SnapshotMountsAreReadOnlyAndPinned) {
  const std::string mp = MountContainer("web", {"--create"});
  WriteFile(mp + "/f", "v1");
  Ok(Snap({"create", "-c", "web", "--alias", "browse-me"}));
  WriteFile(mp + "/f", "v2");
  const std::string past = MountContainer("web", {"--snapshot", "browse-me"});
  EXPECT_EQ(FileContents(past + "/f"), "v1");
  EXPECT_EQ(::open((past + "/g").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  const CommandResult del = Snap({"delete", "-c", "web", "--name", "browse-me"});
  EXPECT_EQ(del.exit_code, 5) << del.Describe();
  EXPECT_NE(del.err.find("mounted at " + past), std::string::npos) << del.Describe();
  const CommandResult drop = Snap({"containers", "delete", "web"});
  EXPECT_EQ(drop.exit_code, 5) << drop.Describe();
  Unmount(past);
  Ok(Snap({"delete", "-c", "web", "--name", "browse-me"}));
}

// Design invariant 5 through the whole stack: kill -9 of the daemon while a
// process writes fsync'd files and snapshots are taken; after a new daemon
// mounts the container again, every fsync'd file and every snapshot is there.
TEST_F(MountTest, KillNineLosesNoFsyncedFileAndNoSnapshot) {
  const std::string mp = MountContainer("web", {"--create"});
  const std::string progress = dir_->File("progress");  // on the host, not the mount
  auto content = [](int i) { return std::string(1000 + i * 37, static_cast<char>('a' + i % 26)); };
  // The writer reports each durable file on a pipe too, so the test waits
  // for progress without polling.
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    ::close(report[0]);
    UniqueFd log(::open(progress.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644));
    for (int i = 0;; ++i) {
      const std::string path = mp + "/file" + std::to_string(i);
      UniqueFd fd(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      const std::string data = content(i);
      if (!fd.valid() || ::write(fd.get(), data.data(), data.size()) != ssize_t(data.size()) ||
          ::fsync(fd.get()) != 0) {
        ::_exit(0);  // the daemon is gone
      }
      const std::string line = std::to_string(i) + "\n";
      if (::write(log.get(), line.data(), line.size()) < 0 || ::fsync(log.get()) != 0) ::_exit(1);
      if (::write(report[1], line.data(), line.size()) < 0) ::_exit(0);
    }
  }
  ::close(report[1]);
  UniqueFd reports(report[0]);
  int reported = 0;
  auto wait_for = [&](int n) {  // reads the writer's reports until n files are durable
    char buf[256];
    while (reported < n) {
      const ssize_t got = ::read(reports.get(), buf, sizeof buf);
      if (got <= 0) return false;
      reported += static_cast<int>(std::count(buf, buf + got, '\n'));
    }
    return true;
  };
  auto durable = [&] {  // files whose fsync returned, as the host file says
    std::istringstream in(FileContents(progress));
    int last = -1;
    for (int i; in >> i;) last = i;
    return last + 1;
  };
  std::vector<std::pair<std::string, int>> snapshots;  // (name, durable files before create)
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(wait_for(20 * (round + 1))) << "the writer stopped";
    const int before = durable();
    const std::string name = Ok(Snap({"create", "-c", "web"}));
    snapshots.emplace_back(name.substr(0, name.size() - 1), before);
  }
  StopDaemon(SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(writer, &status, 0), writer);
  const int files = durable();
  // A new daemon; `hoodyfs mount` clears the dead mount left behind.
  // statfs, not stat: the root's attributes may still be cached.
  // ECONNABORTED or ECANCELED while the kernel tears down the dead daemon's
  // FUSE rings, ENOTCONN after (fusefs::IsDeadMount accepts all three).
  struct statfs sfs;
  EXPECT_NE(::statfs(mp.c_str(), &sfs), 0);
  EXPECT_TRUE(errno == ENOTCONN || errno == ECONNABORTED || errno == ECANCELED)
      << "the killed daemon left no dead mount: " << std::strerror(errno);
  StartDaemon();
  Ok(Hoodyfs({"mount", "-c", "web", mp}));
  for (int i = 0; i < files; ++i) {
    ASSERT_EQ(FileContents(mp + "/file" + std::to_string(i)), content(i)) << "fsync'd file " << i;
  }
  const std::string list = Ok(Snap({"list", "-c", "web"}));
  for (const auto& [name, before] : snapshots) {
    ASSERT_NE(list.find(name), std::string::npos) << "snapshot " << name << " was lost";
    const std::string past = MountContainer("web", {"--snapshot", name});
    for (int i = 0; i < before; ++i) {
      ASSERT_EQ(FileContents(past + "/file" + std::to_string(i)), content(i))
          << "file " << i << " in snapshot " << name;
    }
    Unmount(past);
  }
  EXPECT_EQ(Ok(Hoodyfs({"umount", mp})), "");
  std::erase(mounts_, mp);
  StopDaemon();
  EXPECT_NE(Ok(Hoodyfs({"fsck"})).find("consistent"), std::string::npos);
}

// Waits (no sleeps: pidfd becomes readable when the process exits) for a
// process that is not our child.
bool WaitForExit(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // gone already
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, 60000);
  ::close(fd);
  return n == 1;
}

class AutoStartTest : public DaemonTest {
 protected:
  // The pid of the daemon `hoodyfs mount` started (STORE/daemon.pid), or 0.
  pid_t OnDemandDaemonPid() {
    std::ifstream pid_file(store_ + "/daemon.pid");
    pid_t pid = 0;
    pid_file >> pid;
    return pid;
  }
};

TEST_F(AutoStartTest, MountStartsADaemonThatStopsAfterTheLastUnmount) {
  const std::string a = MountContainer("web", {"--create"});
  const pid_t pid = OnDemandDaemonPid();
  ASSERT_GT(pid, 0) << "no daemon.pid";
  // ps shows which store it serves.
  const std::string cmdline = FileContents("/proc/" + std::to_string(pid) + "/cmdline");
  EXPECT_NE(cmdline.find(store_), std::string::npos);
  const std::string b = MountContainer("db", {"--create", "-o", "nosuid,nodev"});
  WriteFile(a + "/x", "1");
  EXPECT_EQ(FileContents(a + "/x"), "1");
  Unmount(a);
  EXPECT_EQ(::kill(pid, 0), 0) << "stopped while a mount was left";
  Unmount(b);
  EXPECT_TRUE(WaitForExit(pid)) << "the daemon did not stop after the last unmount";
  struct stat st;
  EXPECT_NE(::stat((store_ + "/hoodyfs.sock").c_str(), &st), 0) << "socket left behind";
}

// A suid,dev container root where every host user can reach it is said
// out loud (issue 10); under a 0700 directory, or nosuid,nodev, it is not.
TEST_F(MountTest, AMountpointOthersCanReachWithSuidAndDevIsWarnedAbout) {
  Ok(Snap({"containers", "create", "web"}));
  const std::string open_dir = dir().File("open");
  const std::string closed_dir = dir().File("closed");
  ASSERT_EQ(::mkdir(open_dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(closed_dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir().path().c_str(), 0755), 0);
  for (const auto& [parent, options, warned] :
       {std::tuple{open_dir, std::string("ro"), true},
        std::tuple{open_dir, std::string("nosuid,nodev"), false},
        std::tuple{closed_dir, std::string("ro"), false}}) {
    const std::string mp = parent + "/root-" + std::to_string(++next_mount_);
    ASSERT_EQ(::mkdir(mp.c_str(), 0755), 0);
    const CommandResult r = Hoodyfs({"mount", "-c", "web", "-o", options, mp});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    mounts_.push_back(mp);
    EXPECT_EQ(r.err.find("can be reached by every user of this host") != std::string::npos, warned)
        << parent << " -o " << options << ": " << r.Describe();
    Unmount(mp);
  }
}

// Commands running while the on-demand daemon starts and stops: every one
// reaches the daemon that owns the store, or opens the store itself once
// the daemon let it go; none fails with "cannot reach the daemon" or "in
// use by another process" (issue 10: 62 of 120 mounts and 36 of 300 lists
// failed).
TEST_F(AutoStartTest, CommandsBesideADaemonStartingAndStoppingAllSucceed) {
  Ok(Snap({"containers", "create", "c1"}));
  const std::string mp = dir().File("cycle");
  ASSERT_EQ(::mkdir(mp.c_str(), 0755), 0);
  std::atomic<bool> done{false};
  std::vector<CommandResult> failed_lists;
  int lists = 0;
  std::thread lister([&] {
    while (!done.load() || lists < 20) {
      CommandResult r = Snap({"list", "-c", "c1"});
      ++lists;
      if (r.exit_code != 0) failed_lists.push_back(std::move(r));
    }
  });
  std::vector<CommandResult> failed_cycles;
  for (int i = 0; i < 15; ++i) {
    CommandResult m = Hoodyfs({"mount", "-c", "c1", "-o", "nosuid,nodev", mp});
    if (m.exit_code != 0) {
      failed_cycles.push_back(std::move(m));
      continue;
    }
    mounts_.push_back(mp);
    CommandResult u = Hoodyfs({"umount", mp});
    if (u.exit_code != 0) {
      failed_cycles.push_back(std::move(u));
      continue;
    }
    std::erase(mounts_, mp);
  }
  done.store(true);
  lister.join();
  for (const CommandResult& r : failed_cycles) ADD_FAILURE() << "mount/umount: " << r.Describe();
  for (const CommandResult& r : failed_lists) ADD_FAILURE() << "list: " << r.Describe();
  EXPECT_GE(lists, 20);
}

// umount(8) and fusermount3 -u go around `hoodyfs umount`: the daemon must
// notice its mount is gone, stop listing it and (started on demand) stop,
// so containers delete, fsck, import and export are not refused as
// "mounted" (issue 10: it kept a phantom mount forever).
TEST_F(AutoStartTest, APlainUmountReleasesTheMountAndStopsTheDaemon) {
  const std::string mp = MountContainer("web", {"--create"});
  const pid_t pid = OnDemandDaemonPid();
  ASSERT_GT(pid, 0) << "no daemon.pid";
  WriteFile(mp + "/x", "1");
  ASSERT_EQ(::umount2(mp.c_str(), 0), 0) << std::strerror(errno);
  std::erase(mounts_, mp);
  EXPECT_TRUE(WaitForExit(pid)) << "the daemon kept the unmounted container as a mount";
  EXPECT_NE(Ok(Hoodyfs({"fsck"})).find("consistent"), std::string::npos);
  Ok(Snap({"containers", "delete", "web"}));
}

// The store directory removed under a running daemon (rm -rf): its socket
// is gone, yet `hoodyfs umount` must still unmount, and the on-demand daemon
// must stop rather than linger (issue 10).
TEST_F(AutoStartTest, UmountWorksAfterTheStoreDirectoryWasRemoved) {
  const std::string mp = MountContainer("web", {"--create"});
  const pid_t pid = OnDemandDaemonPid();
  ASSERT_GT(pid, 0) << "no daemon.pid";
  WriteFile(mp + "/x", "1");
  std::filesystem::remove_all(store_);
  const CommandResult r = Hoodyfs({"umount", mp});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  if (r.exit_code == 0) std::erase(mounts_, mp);
  EXPECT_TRUE(WaitForExit(pid)) << "the daemon lingered after its store was removed";
}

// A process that copied the mount namespace while the container was mounted
// (unshare -m, a service with PrivateTmp=) holds a copy of the mount;
// unmounting must still end the connection instead of waiting for it.
TEST_F(MountTest, UnmountDoesNotWaitForCopiesInOtherNamespaces) {
  const std::string mp = MountContainer("web", {"--create"});
  WriteFile(mp + "/f", "x");
  int hold[2], ready[2];
  ASSERT_EQ(::pipe(hold), 0);
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t copier = ::fork();
  ASSERT_GE(copier, 0);
  if (copier == 0) {
    ::close(hold[1]);
    ::close(ready[0]);
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(1);
    if (::write(ready[1], "r", 1) != 1) ::_exit(1);
    char byte;
    while (::read(hold[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(hold[0]);
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the copier could not unshare";
  ::close(ready[0]);
  // `timeout` only guards the test run against a hang; the assertion is
  // that umount succeeds at all while the copy is alive.
  const CommandResult u =
      RunCommand("/usr/bin/timeout", {"120", HoodyfsBinary(), "--store", store_, "umount", mp});
  EXPECT_EQ(u.exit_code, 0) << u.Describe();
  if (u.exit_code == 0) std::erase(mounts_, mp);
  ::close(hold[1]);
  int status = 0;
  ::waitpid(copier, &status, 0);
  // The store goes on: mount again, the data is there.
  const std::string again = MountContainer("web");
  EXPECT_EQ(FileContents(again + "/f"), "x");
}

// The file exerciser (random write/truncate/punch/read/mmap against an
// in-memory copy) through a daemon's mount, across snapshots and restores:
// after each restore every exercised file is as it was at that snapshot,
// and later files are gone; every snapshot mounted read-only holds its files.
TEST_F(MountTest, FileExerciserAcrossSnapshotsAndRestores) {
  const std::string mp = MountContainer("web", {"--create"});
  const uint64_t seed = static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::map<std::string, std::string> contents;                    // the live head: file -> bytes
  std::vector<std::pair<std::string, decltype(contents)>> snaps;  // (name, files)
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
    ExerciserOptions options;
    options.seed = seed * 100 + round;
    options.operations = 300;
    const std::string file = "f" + std::to_string(round);
    std::string final_contents;
    ASSERT_TRUE(RunFileExerciser(mp + "/" + file, options, &final_contents));
    contents[file] = final_contents;
    const std::string name = Ok(Snap({"create", "-c", "web"}));
    snaps.emplace_back(name.substr(0, name.size() - 1), contents);
    if (round == 3) {  // back to round 1's snapshot, then exercise on from there
      Ok(Snap({"restore", "-c", "web", "--name", snaps[1].first}));
      contents = snaps[1].second;
      for (int later = 2; later <= 3; ++later) {
        struct stat st;
        EXPECT_NE(::stat((mp + "/f" + std::to_string(later)).c_str(), &st), 0)
            << "a file of a later round survived the restore";
      }
    }
    for (const auto& [f, bytes] : contents) {
      ASSERT_TRUE(FileContents(mp + "/" + f) == bytes) << f << " differs in the head";
    }
  }
  for (const auto& [name, files] : snaps) {
    const std::string past = MountContainer("web", {"--snapshot", name});
    for (const auto& [f, bytes] : files) {
      EXPECT_TRUE(FileContents(past + "/" + f) == bytes) << f << " differs in " << name;
    }
    Unmount(past);
  }
}

// mount(8) and /etc/fstab: `mount -t fuse.hoodyfs CONTAINER@STORE DIR`
// runs /sbin/mount.fuse.hoodyfs, a link to the hoodyfs program. The test
// makes that link when the system has none, and removes it after.
// /sbin/mount.fuse.hoodyfs is one path for the whole machine, and ctest
// runs these tests in parallel processes (the sanitizer pass with -j
// nproc): a test that removed the link it made while another still mounted
// through it sent that mount to fuse3's generic helper ("hoodyfs: not
// found"). So each test holds an exclusive lock on a file beside it from
// before it looks at the link until after it removed its own.
class MountHelperTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    struct stat st;
    if (::access("/bin/mount", X_OK) != 0) GTEST_SKIP() << "no /bin/mount";
    lock_ = UniqueFd(::open(kLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(lock_.valid()) << kLock << ": " << std::strerror(errno);
    ASSERT_EQ(::flock(lock_.get(), LOCK_EX), 0) << std::strerror(errno);
    if (::lstat(kHelper, &st) != 0) {
      ASSERT_EQ(::symlink(HoodyfsBinary().c_str(), kHelper), 0) << std::strerror(errno);
      made_link_ = true;
    }
  }
  void TearDown() override {
    DaemonTest::TearDown();
    if (made_link_) ::unlink(kHelper);
    lock_.Reset();  // the lock goes with the descriptor
  }
  static constexpr const char* kHelper = "/sbin/mount.fuse.hoodyfs";
  static constexpr const char* kLock = "/run/hoodyfs-mount-helper-test.lock";
  bool made_link_ = false;
  UniqueFd lock_;
};

TEST_F(MountHelperTest, MountTypeFuseHoodyfsAndAnFstabLine) {
  StartDaemon();
  Ok(Snap({"containers", "create", "web1"}));
  const std::string mp = dir_->File("srv-web1");
  ASSERT_EQ(::mkdir(mp.c_str(), 0755), 0);
  const CommandResult m =
      RunCommand("/bin/mount", {"-t", "fuse.hoodyfs", "-o", "nosuid,nodev", "web1@" + store_, mp});
  ASSERT_EQ(m.exit_code, 0) << m.Describe();
  mounts_.push_back(mp);
  const std::string info = FileContents("/proc/self/mountinfo");
  EXPECT_NE(info.find(" " + mp + " "), std::string::npos);
  const CommandResult fm = RunCommand("/bin/findmnt", {"-no", "SOURCE,OPTIONS", mp});
  EXPECT_NE(fm.out.find("hoodyfs:web1@" + store_), std::string::npos) << fm.Describe();
  EXPECT_NE(fm.out.find("nosuid"), std::string::npos) << fm.Describe();
  WriteFile(mp + "/hello", "from mount -t");
  Unmount(mp);

  // An fstab line (a file of our own: mount --fstab).
  const std::string fstab = dir_->File("fstab");
  WriteFile(fstab, "web1@" + store_ + "  " + mp + "  fuse.hoodyfs  defaults,noauto,_netdev  0 0\n");
  const CommandResult f = RunCommand("/bin/mount", {"--fstab", fstab, mp});
  ASSERT_EQ(f.exit_code, 0) << f.Describe();
  mounts_.push_back(mp);
  EXPECT_EQ(FileContents(mp + "/hello"), "from mount -t");
  // umount(8) from outside: the daemon notices and releases the session.
  const CommandResult u = RunCommand("/bin/umount", {mp});
  ASSERT_EQ(u.exit_code, 0) << u.Describe();
  std::erase(mounts_, mp);
  const CommandResult again = RunCommand("/bin/mount", {"--fstab", fstab, mp});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  mounts_.push_back(mp);
  EXPECT_EQ(FileContents(mp + "/hello"), "from mount -t");
}

// The generic VFS options mount(8) users pass (issue 14): before, each of
// relatime, lazytime, acl, noacl, strictatime, atime ended in "fuse: unknown
// option(s)". The kernel shows what it keeps (sync, dirsync, lazytime,
// noatime), and noacl refuses the ACL xattrs.
TEST_F(MountHelperTest, GenericVfsOptionsAreAccepted) {
  StartDaemon();
  Ok(Snap({"containers", "create", "web1"}));
  const std::string mp = dir_->File("srv-web1");
  ASSERT_EQ(::mkdir(mp.c_str(), 0700), 0);
  const std::string source = "web1@" + store_;
  struct Case {
    std::string options;
    std::vector<std::string> shown;  // in findmnt's OPTIONS
  };
  for (const Case& c : {Case{"relatime,lazytime,acl,sync,dirsync", {"sync", "dirsync", "lazytime"}},
                        Case{"atime,noacl", {"relatime"}}, Case{"noatime", {"noatime"}},
                        Case{"strictatime,nosuid,nodev", {"nosuid", "nodev"}}}) {
    SCOPED_TRACE(c.options);
    const CommandResult m =
        RunCommand("/bin/mount", {"-t", "fuse.hoodyfs", "-o", c.options, source, mp});
    ASSERT_EQ(m.exit_code, 0) << m.Describe();
    mounts_.push_back(mp);
    const CommandResult fm = RunCommand("/bin/findmnt", {"-no", "OPTIONS", mp});
    for (const std::string& word : c.shown) {
      EXPECT_NE(("," + fm.out).find("," + word + ","), std::string::npos)
          << word << " missing: " << fm.Describe();
    }
    if (c.options.find("strictatime") != std::string::npos) {
      EXPECT_EQ(fm.out.find("relatime"), std::string::npos) << fm.Describe();
      EXPECT_EQ(fm.out.find("noatime"), std::string::npos) << fm.Describe();
    }
    WriteFile(mp + "/f", c.options);
    EXPECT_EQ(FileContents(mp + "/f"), c.options);
    if (c.options.find("noacl") != std::string::npos) {
      // user::rw- group::r-- other::r--, in the kernel's xattr form.
      static const unsigned char kAcl[] = {2,    0,    0, 0, 1,    0,    6,    0,    0xff, 0xff,
                                           0xff, 0xff, 4, 0, 4,    0,    0xff, 0xff, 0xff, 0xff,
                                           0x20, 0,    4, 0, 0xff, 0xff, 0xff, 0xff};
      errno = 0;
      EXPECT_LT(::setxattr((mp + "/f").c_str(), "system.posix_acl_access", kAcl, sizeof(kAcl), 0),
                0);
      EXPECT_EQ(errno, EOPNOTSUPP);
    }
    Unmount(mp);
  }
}

// mount -o remount,ro and back to rw: util-linux runs the helper with
// "remount" among the options; the daemon changes the live mount (the
// kernel's flags and its own refusal) without dropping it.
TEST_F(MountHelperTest, RemountReadOnlyAndBackKeepsTheMount) {
  StartDaemon();
  Ok(Snap({"containers", "create", "web1"}));
  const std::string mp = dir_->File("srv-web1");
  ASSERT_EQ(::mkdir(mp.c_str(), 0700), 0);
  const CommandResult m = RunCommand("/bin/mount", {"-t", "fuse.hoodyfs", "web1@" + store_, mp});
  ASSERT_EQ(m.exit_code, 0) << m.Describe();
  mounts_.push_back(mp);
  WriteFile(mp + "/f", "before");
  struct stat before;
  ASSERT_EQ(::stat(mp.c_str(), &before), 0);

  const CommandResult ro = RunCommand("/bin/mount", {"-o", "remount,ro", mp});
  ASSERT_EQ(ro.exit_code, 0) << ro.Describe();
  const CommandResult fm = RunCommand("/bin/findmnt", {"-no", "OPTIONS", mp});
  EXPECT_EQ(fm.out.rfind("ro,", 0), 0u) << fm.Describe();
  errno = 0;
  EXPECT_LT(::open((mp + "/f").c_str(), O_WRONLY | O_CLOEXEC), 0);
  EXPECT_EQ(errno, EROFS);
  errno = 0;
  EXPECT_LT(::mkdir((mp + "/d").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(FileContents(mp + "/f"), "before");

  const CommandResult rw = RunCommand("/bin/mount", {"-o", "remount,rw,nosuid", mp});
  ASSERT_EQ(rw.exit_code, 0) << rw.Describe();
  const CommandResult fm2 = RunCommand("/bin/findmnt", {"-no", "OPTIONS", mp});
  EXPECT_EQ(fm2.out.rfind("rw,", 0), 0u) << fm2.Describe();
  EXPECT_NE(fm2.out.find("nosuid"), std::string::npos) << fm2.Describe();
  WriteFile(mp + "/f", "after");
  EXPECT_EQ(FileContents(mp + "/f"), "after");
  struct stat after;
  ASSERT_EQ(::stat(mp.c_str(), &after), 0);
  EXPECT_EQ(after.st_dev, before.st_dev) << "the remount dropped the mount";
  Unmount(mp);
}

}  // namespace
}  // namespace hoodyfs::testing
