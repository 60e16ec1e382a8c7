// RENAME_WHITEOUT through a real mount (issue 14): the source name is left
// holding a whiteout (a character device 0/0) in the same change as the
// move, as on ext4, so overlay filesystems can stack on a container root;
// and, where the kernel lets one, an overlayfs whose upper and work
// directories are on the mount.
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/testing/temp_dir.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

int RenameWhiteout(const std::string& from, const std::string& to, unsigned extra = 0) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_WHITEOUT | extra) == 0
             ? 0
             : errno;
}

// True when `path` is a whiteout: a character device 0/0.
bool IsWhiteout(const std::string& path) {
  struct stat st = {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

TEST_F(MountTest, RenameWhiteoutLeavesACharacterDevice00) {
  WriteFile(P("a"), "data");
  ASSERT_EQ(RenameWhiteout(P("a"), P("b")), 0);
  EXPECT_EQ(ReadFile(P("b")), "data");
  EXPECT_TRUE(IsWhiteout(P("a")));
  struct stat st = {};
  ASSERT_EQ(::lstat(P("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  // Over an existing target (which goes), and refused with NOREPLACE.
  WriteFile(P("c"), "c");
  EXPECT_EQ(RenameWhiteout(P("b"), P("c"), RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(ReadFile(P("b")), "data");
  ASSERT_EQ(RenameWhiteout(P("b"), P("c")), 0);
  EXPECT_EQ(ReadFile(P("c")), "data");
  EXPECT_TRUE(IsWhiteout(P("b")));
  // A directory moves the same way.
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  WriteFile(P("d/inner"), "x");
  ASSERT_EQ(RenameWhiteout(P("d"), P("e")), 0);
  EXPECT_EQ(ReadFile(P("e/inner")), "x");
  EXPECT_TRUE(IsWhiteout(P("d")));
  // The whiteout is an ordinary node: it goes with unlink.
  ASSERT_EQ(::unlink(P("a").c_str()), 0);
  EXPECT_NE(::access(P("a").c_str(), F_OK), 0);
  // Both halves are in one change: a snapshot taken now holds both.
  auto frozen = store().Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  snapshotter::FileSystem past = store().AtGeneration(*frozen).value();
  EXPECT_EQ(past.Lookup(kRootIno, "d")->attr.mode, uint32_t{S_IFCHR});
  EXPECT_TRUE(past.Lookup(kRootIno, "e").ok());
}

// Since Linux 5.8 a whiteout needs no privilege ("vfs: allow unprivileged
// whiteout creation": vfs_mknod and renameat2 no longer ask for CAP_MKNOD
// for a 0/0 character device), so an unprivileged caller with write access
// to the directory may rename with RENAME_WHITEOUT, as on ext4, and owns the
// whiteout.
TEST_F(MountTest, RenameWhiteoutByAnUnprivilegedCaller) {
  ASSERT_EQ(::chmod(mountpoint().c_str(), 0777), 0);
  WriteFile(P("a"), "data", 0666);
  const std::string a = P("a"), b = P("b");
  EXPECT_EQ(RunAs(65534, 65534, [&] { return RenameWhiteout(a, b); }), 0);
  EXPECT_EQ(ReadFile(P("b")), "data");
  ASSERT_TRUE(IsWhiteout(P("a")));
  struct stat st = {};
  ASSERT_EQ(::lstat(P("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
}

// overlayfs with its upper and work directories on the mount: deleting and
// renaming lower files makes whiteouts in the upper directory (the latter
// through RENAME_WHITEOUT).
TEST_F(MountTest, OverlayfsStacksOnTheMount) {
  TempDir lower_dir = TempDir::Create().value();
  TempDir merged_dir = TempDir::Create().value();
  const std::string lower = lower_dir.path(), merged = merged_dir.path();
  WriteFile(lower + "/gone", "lower");
  WriteFile(lower + "/renamed", "lower2");
  ASSERT_EQ(::mkdir(P("upper").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("work").c_str(), 0755), 0);
  const std::string options =
      "lowerdir=" + lower + ",upperdir=" + P("upper") + ",workdir=" + P("work");
  if (::mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) != 0) {
    GTEST_SKIP() << "the kernel refuses an overlayfs upper directory on this FUSE mount: "
                 << std::strerror(errno) << " (see dmesg)";
  }
  struct Unmounter {
    std::string path;
    ~Unmounter() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmounter{merged};
  ASSERT_EQ(::unlink((merged + "/gone").c_str()), 0) << std::strerror(errno);
  EXPECT_NE(::access((merged + "/gone").c_str(), F_OK), 0);
  EXPECT_TRUE(IsWhiteout(P("upper/gone")));
  ASSERT_EQ(::rename((merged + "/renamed").c_str(), (merged + "/moved").c_str()), 0)
      << std::strerror(errno);
  EXPECT_EQ(ReadFile(merged + "/moved"), "lower2");
  EXPECT_NE(::access((merged + "/renamed").c_str(), F_OK), 0);
  EXPECT_TRUE(IsWhiteout(P("upper/renamed")));
  WriteFile(merged + "/new", "upper");
  EXPECT_EQ(ReadFile(P("upper/new")), "upper");
}

}  // namespace
}  // namespace hoodyfs::testing
