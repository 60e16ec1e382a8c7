// The generic VFS mount options through a real mount (issue 14): noacl,
// sync and dirsync, and remount between read-only and read-write. The
// mount(8) side (mount -t fuse.hoodyfs -o ..., mount -o remount) is in
// tests/daemon/mount_test.cc.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "fusefs/backing_dev.h"
#include "fusefs/limits.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

int ErrnoOf(const std::function<long()>& call) {
  errno = 0;
  return call() < 0 ? errno : 0;
}

// A minimal access ACL in the kernel's xattr form: user::rw- group::r--
// other::r--.
std::string MinimalAcl() {
  std::string v;
  auto put16 = [&](uint16_t x) { v.append(reinterpret_cast<const char*>(&x), 2); };
  auto put32 = [&](uint32_t x) { v.append(reinterpret_cast<const char*>(&x), 4); };
  put32(2);  // POSIX_ACL_XATTR_VERSION
  for (auto [tag, perm] : {std::pair<uint16_t, uint16_t>{0x01, 6}, {0x04, 4}, {0x20, 4}}) {
    put16(tag);
    put16(perm);
    put32(0xffffffffu);  // ACL_UNDEFINED_ID
  }
  return v;
}

class NoaclTest : public MountTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.acl = false;
    return o;
  }
};

// As ext4 -o noacl: the ACL xattrs do not exist (EOPNOTSUPP for set, get
// and remove), so nothing can make the kernel enforce one; chmod and other
// xattrs work as ever.
TEST_F(NoaclTest, AclXattrsAreRefusedWithEopnotsupp) {
  WriteFile(P("f"), "x");
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  const std::string acl = MinimalAcl();
  const std::string f = P("f");
  EXPECT_EQ(ErrnoOf([&] {
              return ::setxattr(f.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0);
            }),
            EOPNOTSUPP);
  EXPECT_EQ(ErrnoOf([&] {
              return ::setxattr(P("d").c_str(), "system.posix_acl_default", acl.data(), acl.size(),
                                0);
            }),
            EOPNOTSUPP);
  char buf[64];
  EXPECT_EQ(
      ErrnoOf([&] { return ::getxattr(f.c_str(), "system.posix_acl_access", buf, sizeof(buf)); }),
      EOPNOTSUPP);
  EXPECT_EQ(ErrnoOf([&] { return ::removexattr(f.c_str(), "system.posix_acl_access"); }),
            EOPNOTSUPP);
  ASSERT_EQ(::chmod(f.c_str(), 0600), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "user.k", "v", 1, 0), 0);
  EXPECT_EQ(::listxattr(f.c_str(), buf, sizeof(buf)), static_cast<ssize_t>(sizeof("user.k")));
}

// With ACLs (the default) the same setxattr works: what noacl turns off.
TEST_F(MountTest, AclXattrsWorkByDefault) {
  WriteFile(P("f"), "x");
  const std::string acl = MinimalAcl();
  EXPECT_EQ(::setxattr(P("f").c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0)
      << std::strerror(errno);
}

std::string BdiValue(const std::string& mountpoint, const std::string& name) {
  struct stat st;
  EXPECT_EQ(::stat(mountpoint.c_str(), &st), 0);
  std::ifstream in(fusefs::BdiPath(st.st_dev, name));
  std::string value;
  in >> value;
  return value;
}

// The mount's read-ahead window covers four of the largest READs, so a cold
// sequential read is not cut into the kernel's default 128 KiB requests
// (fusefs/backing_dev.h). The tests run as root, who may set it.
TEST_F(MountTest, SequentialReadsGetAReadAheadWindowOfFourLargestRequests) {
  const std::string window = BdiValue(mountpoint(), "read_ahead_kb");
  if (window.empty()) GTEST_SKIP() << "no read_ahead_kb in sysfs";
  EXPECT_GE(std::stoul(window), fusefs::kReadAheadKiB);
}

// The kernel keeps up to kMaxBackgroundRequests READs of its read-ahead
// (and writebacks, and asynchronous O_DIRECT requests) in flight, where its
// default of 12 held a cold sequential read at about three (fusefs/limits.h).
// The connection's settings show in the fusectl filesystem, named by the
// kernel's number for the superblock's device.
TEST_F(MountTest, TheKernelKeepsSixtyFourBackgroundRequestsInFlight) {
  struct stat st;
  ASSERT_EQ(::stat(mountpoint().c_str(), &st), 0);
  const std::string connection =
      "/sys/fs/fuse/connections/" + std::to_string((major(st.st_dev) << 20) | minor(st.st_dev));
  std::ifstream max_background(connection + "/max_background");
  std::ifstream congestion(connection + "/congestion_threshold");
  if (!max_background || !congestion) {
    GTEST_SKIP() << "no " << connection
                 << " to read (fusectl not mounted, or not readable: mount -t fusectl none "
                    "/sys/fs/fuse/connections as root)";
  }
  unsigned most = 0;
  unsigned congested_at = 0;
  max_background >> most;
  congestion >> congested_at;
  EXPECT_EQ(most, fusefs::kMaxBackgroundRequests);
  EXPECT_EQ(congested_at, fusefs::kCongestionThreshold);
}

// With the writeback cache the kernel's strict dirty limit for FUSE (1% of
// the dirty threshold) is lifted, so written pages are held as for a local
// disk (fusefs/backing_dev.h); without it the kernel's setting stays.
class WritebackMountTest : public MountTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.writeback_cache = true;
    return o;
  }
};

TEST_F(WritebackMountTest, TheStrictDirtyLimitIsLifted) {
  if (BdiValue(mountpoint(), "strict_limit").empty()) GTEST_SKIP() << "no strict_limit in sysfs";
  EXPECT_EQ(BdiValue(mountpoint(), "strict_limit"), "0");
}

TEST_F(MountTest, WithoutTheWritebackCacheTheKernelsDirtyLimitStays) {
  if (BdiValue(mountpoint(), "strict_limit").empty()) GTEST_SKIP() << "no strict_limit in sysfs";
  EXPECT_EQ(BdiValue(mountpoint(), "strict_limit"), "1");
}

// sync / dirsync: a change is durable when its call returns. The store runs
// without its background flusher, and the test "crashes" it (forgets every
// change not committed) right after the calls, then mounts it again.
class SyncTest : public MountTest {
 protected:
  snapshotter::StoreOptions StoreOpts() const override {
    snapshotter::StoreOptions o;
    o.flush_interval_ms = 0;
    return o;
  }
  void CrashAndMountAgain() {
    Unmount();
    store_->SimulateCrashForTest();
    ASSERT_NO_FATAL_FAILURE(Remount());
  }
};

class SyncMountTest : public SyncTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.sync = true;
    return o;
  }
};

TEST_F(SyncMountTest, EveryChangeIsDurableWhenItsCallReturns) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  WriteFile(P("d/f"), "written under -o sync");
  ASSERT_EQ(::chmod(P("d/f").c_str(), 0600), 0);
  ASSERT_EQ(::setxattr(P("d/f").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(::rename(P("d/f").c_str(), P("g").c_str()), 0);
  ASSERT_EQ(::symlink("g", P("s").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(CrashAndMountAgain());
  EXPECT_EQ(ReadFile(P("g")), "written under -o sync");
  struct stat st;
  ASSERT_EQ(::stat(P("g").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  char v[4] = {};
  EXPECT_EQ(::getxattr(P("g").c_str(), "user.k", v, sizeof(v)), 1);
  EXPECT_EQ(::lstat(P("s").c_str(), &st), 0);
  EXPECT_NE(::stat(P("d/f").c_str(), &st), 0);
}

// The same calls without sync are lost by the crash: the test above would
// pass for nothing if they were not.
TEST_F(SyncTest, WithoutSyncTheCrashLosesTheChanges) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  WriteFile(P("d/f"), "lost");
  ASSERT_NO_FATAL_FAILURE(CrashAndMountAgain());
  struct stat st;
  EXPECT_NE(::stat(P("d").c_str(), &st), 0);
}

class DirsyncMountTest : public SyncTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.dirsync = true;
    return o;
  }
};

TEST_F(DirsyncMountTest, DirectoryChangesAreDurableWhenTheirCallReturns) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("d/e").c_str(), 0755), 0);
  { UniqueFd fd(::open(P("d/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644)); }
  ASSERT_EQ(::rename(P("d/e").c_str(), P("e2").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(CrashAndMountAgain());
  struct stat st;
  EXPECT_EQ(::stat(P("d/f").c_str(), &st), 0);
  EXPECT_EQ(::stat(P("e2").c_str(), &st), 0);
  EXPECT_NE(::stat(P("d/e").c_str(), &st), 0);
}

// Remount between read-only and read-write without dropping the mount: the
// same superblock (st_dev) and an open descriptor stay valid.
TEST_F(MountTest, RemountReadOnlyAndBack) {
  WriteFile(P("f"), "before");
  struct stat before;
  ASSERT_EQ(::stat(mountpoint().c_str(), &before), 0);
  UniqueFd reader(::open(P("f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());

  fusefs::MountOptions ro = session().options();
  ro.read_only = true;
  ASSERT_OK(session().Remount(ro));
  EXPECT_TRUE(session().options().read_only);
  EXPECT_EQ(ErrnoOf([&] { return ::open(P("f").c_str(), O_WRONLY | O_CLOEXEC); }), EROFS);
  EXPECT_EQ(ErrnoOf([&] { return ::mkdir(P("d").c_str(), 0755); }), EROFS);
  EXPECT_EQ(ReadFile(P("f")), "before");
  char buf[8] = {};
  EXPECT_EQ(::pread(reader.get(), buf, sizeof(buf), 0), 6);

  // The daemon refuses too: with the kernel's flag turned back behind its
  // back (mount(2) without the helper), changes still get EROFS.
  ASSERT_EQ(::mount(nullptr, mountpoint().c_str(), nullptr, MS_REMOUNT, nullptr), 0)
      << std::strerror(errno);
  EXPECT_EQ(ErrnoOf([&] { return ::mkdir(P("d").c_str(), 0755); }), EROFS);
  EXPECT_EQ(ErrnoOf([&] { return ::unlink(P("f").c_str()); }), EROFS);
  EXPECT_EQ(ErrnoOf([&] { return ::open(P("f").c_str(), O_WRONLY | O_CLOEXEC); }), EROFS);
  EXPECT_EQ(ErrnoOf([&] { return ::setxattr(P("f").c_str(), "user.k", "v", 1, 0); }), EROFS);

  fusefs::MountOptions rw = session().options();
  rw.read_only = false;
  ASSERT_OK(session().Remount(rw));
  WriteFile(P("f"), "after");
  EXPECT_EQ(ReadFile(P("f")), "after");
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  struct stat after;
  ASSERT_EQ(::stat(mountpoint().c_str(), &after), 0);
  EXPECT_EQ(after.st_dev, before.st_dev) << "the remount dropped the mount";

  // Going read-only waits for no writer: a file open for writing refuses it.
  UniqueFd writer(::open(P("f").c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(writer.valid());
  EXPECT_EQ(session().Remount(ro).code(), Code::kBusy);
  EXPECT_FALSE(session().options().read_only);
  EXPECT_EQ(::write(writer.get(), "x", 1), 1);

  // What a live mount cannot change is refused, naming it.
  fusefs::MountOptions noacl = session().options();
  noacl.acl = false;
  EXPECT_EQ(session().Remount(noacl).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace hoodyfs::testing
