// POSIX behaviour through a real hoodyfs mount, with real system calls.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

class PosixTest : public MountTest {};

UniqueFd Open(const std::string& path, int flags, int mode = 0644) {
  return UniqueFd(::open(path.c_str(), flags | O_CLOEXEC, mode));
}

struct stat Stat(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

// errno of a call that must fail, or 0 if it succeeded.
template <class Fn>
int ErrnoOf(Fn&& fn) {
  errno = 0;
  return fn() < 0 ? errno : 0;
}

TEST_F(PosixTest, RootAndStatfs) {
  struct stat st = Stat(mountpoint());
  EXPECT_EQ(st.st_ino, 1u);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(mountpoint().c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_bsize, 4096u);
  EXPECT_EQ(vfs.f_namemax, 255u);
  EXPECT_GT(vfs.f_blocks, 0u);
  EXPECT_GT(vfs.f_ffree, 0u);
  EXPECT_LE(vfs.f_bavail, vfs.f_blocks);
}

TEST_F(PosixTest, CreateWriteReadTruncate) {
  WriteFile(P("a"), "hello world");
  EXPECT_EQ(ReadFile(P("a")), "hello world");
  EXPECT_EQ(Stat(P("a")).st_size, 11);
  {
    UniqueFd fd = Open(P("a"), O_RDWR);
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), "XY", 2, 20), 2);  // a hole between
    ASSERT_EQ(::ftruncate(fd.get(), 22), 0);
  }
  EXPECT_EQ(ReadFile(P("a")), std::string("hello world") + std::string(9, '\0') + "XY");
  ASSERT_EQ(::truncate(P("a").c_str(), 5), 0);
  EXPECT_EQ(ReadFile(P("a")), "hello");
  ASSERT_EQ(::truncate(P("a").c_str(), 8), 0);
  EXPECT_EQ(ReadFile(P("a")), std::string("hello") + std::string(3, '\0'));
  // O_TRUNC on open.
  UniqueFd fd = Open(P("a"), O_WRONLY | O_TRUNC);
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(Stat(P("a")).st_size, 0);
  // O_EXCL on an existing file.
  EXPECT_EQ(ErrnoOf([&] { return ::open(P("a").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644); }),
            EEXIST);
}

TEST_F(PosixTest, AppendWritesAtTheEndForEveryDescriptor) {
  WriteFile(P("log"), "");
  UniqueFd a = Open(P("log"), O_WRONLY | O_APPEND);
  UniqueFd b = Open(P("log"), O_WRONLY | O_APPEND);
  UniqueFd plain = Open(P("log"), O_WRONLY);
  ASSERT_TRUE(a.valid() && b.valid() && plain.valid());
  std::string want;
  for (int i = 0; i < 50; ++i) {
    const std::string rec = "record " + std::to_string(i) + "\n";
    ASSERT_EQ(::write((i % 2 ? a : b).get(), rec.data(), rec.size()),
              static_cast<ssize_t>(rec.size()));
    want += rec;
  }
  // A truncate through another descriptor: the next append lands at the new end.
  ASSERT_EQ(::ftruncate(plain.get(), 7), 0);
  want.resize(7);
  ASSERT_EQ(::write(a.get(), "!", 1), 1);
  want += "!";
  EXPECT_EQ(ReadFile(P("log")), want);
}

TEST_F(PosixTest, RenameReplaceNoReplaceExchangeAndBadFlags) {
  WriteFile(P("x"), "x");
  WriteFile(P("y"), "y");
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  EXPECT_EQ(ErrnoOf([&] {
              return ::renameat2(AT_FDCWD, P("x").c_str(), AT_FDCWD, P("y").c_str(),
                                 RENAME_NOREPLACE);
            }),
            EEXIST);
  ASSERT_EQ(::renameat2(AT_FDCWD, P("x").c_str(), AT_FDCWD, P("y").c_str(), RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(P("x")), "y");
  EXPECT_EQ(ReadFile(P("y")), "x");
  EXPECT_EQ(ErrnoOf([&] {
              return ::renameat2(AT_FDCWD, P("x").c_str(), AT_FDCWD, P("nope").c_str(),
                                 RENAME_EXCHANGE);
            }),
            ENOENT);
  EXPECT_EQ(ErrnoOf([&] {
              return ::renameat2(AT_FDCWD, P("x").c_str(), AT_FDCWD, P("y").c_str(),
                                 RENAME_EXCHANGE | RENAME_WHITEOUT);
            }),
            EINVAL);
  ASSERT_EQ(::rename(P("x").c_str(), P("d/moved").c_str()), 0);
  EXPECT_EQ(ReadFile(P("d/moved")), "y");
  ASSERT_EQ(::rename(P("y").c_str(), P("d/moved").c_str()), 0);  // replaces
  EXPECT_EQ(ReadFile(P("d/moved")), "x");
  EXPECT_EQ(ErrnoOf([&] { return ::access(P("y").c_str(), F_OK); }), ENOENT);
  EXPECT_EQ(ErrnoOf([&] { return ::rename(P("d").c_str(), P("d/sub").c_str()); }), EINVAL);
}

TEST_F(PosixTest, HardLinksSymlinksAndDirectories) {
  WriteFile(P("f"), "data");
  ASSERT_EQ(::link(P("f").c_str(), P("g").c_str()), 0);
  EXPECT_EQ(Stat(P("f")).st_ino, Stat(P("g")).st_ino);
  EXPECT_EQ(Stat(P("g")).st_nlink, 2u);
  ASSERT_EQ(::symlink("f", P("s").c_str()), 0);
  char target[64] = {};
  ASSERT_EQ(::readlink(P("s").c_str(), target, sizeof(target)), 1);
  EXPECT_STREQ(target, "f");
  EXPECT_TRUE(S_ISLNK(Stat(P("s")).st_mode));
  EXPECT_EQ(ReadFile(P("s")), "data");
  ASSERT_EQ(::mkdir(P("d").c_str(), 0750), 0);
  ASSERT_EQ(::mkdir(P("d/e").c_str(), 0750), 0);
  EXPECT_EQ(Stat(P("d")).st_nlink, 3u);
  EXPECT_EQ(ErrnoOf([&] { return ::rmdir(P("d").c_str()); }), ENOTEMPTY);
  EXPECT_EQ(ErrnoOf([&] { return ::rmdir(P("f").c_str()); }), ENOTDIR);
  EXPECT_EQ(ErrnoOf([&] { return ::unlink(P("d").c_str()); }), EISDIR);
  EXPECT_EQ(ErrnoOf([&] { return ::mkdir(P("d").c_str(), 0755); }), EEXIST);
  ASSERT_EQ(::rmdir(P("d/e").c_str()), 0);
  ASSERT_EQ(::rmdir(P("d").c_str()), 0);
  ASSERT_EQ(::unlink(P("g").c_str()), 0);
  EXPECT_EQ(Stat(P("f")).st_nlink, 1u);
}

TEST_F(PosixTest, UnlinkedOpenFileStaysReadableUntilClose) {
  WriteFile(P("tmp"), "still here");
  UniqueFd fd = Open(P("tmp"), O_RDWR);
  ASSERT_TRUE(fd.valid());
  const ino_t ino = Stat(P("tmp")).st_ino;
  ASSERT_EQ(::unlink(P("tmp").c_str()), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::access(P("tmp").c_str(), F_OK); }), ENOENT);
  struct stat st;
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  char buf[32] = {};
  ASSERT_EQ(::pread(fd.get(), buf, sizeof(buf), 0), 10);
  EXPECT_STREQ(buf, "still here");
  ASSERT_EQ(::pwrite(fd.get(), "!", 1, 10), 1);
  ASSERT_EQ(::pread(fd.get(), buf, sizeof(buf), 0), 11);
  EXPECT_TRUE(Head().GetAttr(Ino(ino)).ok());
  fd.Reset();
  // close(2) returns before the kernel's RELEASE is served; an unmount
  // settles it (the session releases what the kernel did not send).
  Unmount();
  EXPECT_CODE(Code::kNotFound, Head().GetAttr(Ino(ino)).status());
  ASSERT_NO_FATAL_FAILURE(MountView());
}

TEST_F(PosixTest, FifosAndDeviceNodes) {
  ASSERT_EQ(::mkfifo(P("fifo").c_str(), 0600), 0);
  EXPECT_TRUE(S_ISFIFO(Stat(P("fifo")).st_mode));
  {
    UniqueFd fifo = Open(P("fifo"), O_RDWR | O_NONBLOCK);
    ASSERT_TRUE(fifo.valid()) << std::strerror(errno);
    ASSERT_EQ(::write(fifo.get(), "ping", 4), 4);
    char buf[8] = {};
    ASSERT_EQ(::read(fifo.get(), buf, sizeof(buf)), 4);
    EXPECT_STREQ(buf, "ping");
  }
  ASSERT_EQ(::mknod(P("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  struct stat st = Stat(P("null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  {
    // The mount has `dev`: the node is the real /dev/null.
    UniqueFd null = Open(P("null"), O_RDWR);
    ASSERT_TRUE(null.valid()) << std::strerror(errno);
    EXPECT_EQ(::write(null.get(), "gone", 4), 4);
    char c;
    EXPECT_EQ(::read(null.get(), &c, 1), 0);
  }
  ASSERT_EQ(::mknod(P("blk").c_str(), S_IFBLK | 0600, makedev(7, 200)), 0);
  EXPECT_TRUE(S_ISBLK(Stat(P("blk")).st_mode));
  EXPECT_EQ(Stat(P("blk")).st_rdev, makedev(7, 200));
  ASSERT_EQ(::mknod(P("sock").c_str(), S_IFSOCK | 0600, 0), 0);
  EXPECT_TRUE(S_ISSOCK(Stat(P("sock")).st_mode));
}

TEST_F(PosixTest, ExtendedAttributes) {
  WriteFile(P("f"), "x");
  const std::string f = P("f");
  ASSERT_EQ(::setxattr(f.c_str(), "user.color", "blue", 4, 0), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "user.empty", "", 0, 0), 0);
  EXPECT_EQ(::getxattr(f.c_str(), "user.color", nullptr, 0), 4);  // size probe
  char buf[16] = {};
  EXPECT_EQ(ErrnoOf([&] { return ::getxattr(f.c_str(), "user.color", buf, 2); }), ERANGE);
  EXPECT_EQ(::getxattr(f.c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "blue");
  EXPECT_EQ(::getxattr(f.c_str(), "user.empty", buf, sizeof(buf)), 0);
  const ssize_t list_size = ::listxattr(f.c_str(), nullptr, 0);
  EXPECT_EQ(list_size, static_cast<ssize_t>(sizeof("user.color") + sizeof("user.empty")));
  EXPECT_EQ(ErrnoOf([&] { return ::listxattr(f.c_str(), buf, 3); }), ERANGE);
  std::vector<char> list(static_cast<size_t>(list_size));
  ASSERT_EQ(::listxattr(f.c_str(), list.data(), list.size()), list_size);
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); i += std::strlen(&list[i]) + 1) names.insert(&list[i]);
  EXPECT_EQ(names, (std::set<std::string>{"user.color", "user.empty"}));
  EXPECT_EQ(ErrnoOf([&] { return ::setxattr(f.c_str(), "user.color", "red", 3, XATTR_CREATE); }),
            EEXIST);
  EXPECT_EQ(ErrnoOf([&] { return ::setxattr(f.c_str(), "user.nope", "1", 1, XATTR_REPLACE); }),
            ENODATA);
  ASSERT_EQ(::setxattr(f.c_str(), "user.color", "red", 3, XATTR_REPLACE), 0);
  ASSERT_EQ(::removexattr(f.c_str(), "user.color"), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::getxattr(f.c_str(), "user.color", buf, sizeof(buf)); }),
            ENODATA);
  EXPECT_EQ(ErrnoOf([&] { return ::removexattr(f.c_str(), "user.color"); }), ENODATA);
  ASSERT_EQ(::setxattr(f.c_str(), "trusted.t", "1", 1, 0), 0);  // root may
  // On a symlink itself (lsetxattr of user.* is refused by the VFS).
  ASSERT_EQ(::symlink("f", P("s").c_str()), 0);
  EXPECT_EQ(ErrnoOf([&] { return ::lsetxattr(P("s").c_str(), "user.x", "1", 1, 0); }), EPERM);
  ASSERT_EQ(::lsetxattr(P("s").c_str(), "trusted.x", "1", 1, 0), 0);
}

TEST_F(PosixTest, ChmodChownAndTimes) {
  WriteFile(P("f"), "x");
  ASSERT_EQ(::chmod(P("f").c_str(), 0604), 0);
  EXPECT_EQ(Stat(P("f")).st_mode & 07777, 0604u);
  ASSERT_EQ(::chown(P("f").c_str(), 123, 456), 0);
  EXPECT_EQ(Stat(P("f")).st_uid, 123u);
  EXPECT_EQ(Stat(P("f")).st_gid, 456u);
  ASSERT_EQ(::lchown(P("f").c_str(), -1, 789), 0);
  EXPECT_EQ(Stat(P("f")).st_uid, 123u);
  EXPECT_EQ(Stat(P("f")).st_gid, 789u);

  const timespec set[2] = {{1000, 123456789}, {2000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("f").c_str(), set, 0), 0);
  struct stat st = Stat(P("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
  const timespec omit_mtime[2] = {{3000, 5}, {0, UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("f").c_str(), omit_mtime, 0), 0);
  st = Stat(P("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 3000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
  const timespec omit_atime[2] = {{0, UTIME_OMIT}, {4000, 6}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("f").c_str(), omit_atime, 0), 0);
  st = Stat(P("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 3000);
  EXPECT_EQ(st.st_mtim.tv_sec, 4000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 6);
  const timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("f").c_str(), now, 0), 0);
  st = Stat(P("f"));
  EXPECT_GT(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_atim.tv_sec, st.st_mtim.tv_sec);
  // ctime moves with every change, and is not older than the mtime set now.
  EXPECT_GE(st.st_ctim.tv_sec, st.st_mtim.tv_sec);
}

TEST_F(PosixTest, SetgidDirectoryPassesItsGroupOn) {
  ASSERT_EQ(::mkdir(P("shared").c_str(), 0775), 0);
  ASSERT_EQ(::chown(P("shared").c_str(), 0, 4321), 0);
  ASSERT_EQ(::chmod(P("shared").c_str(), 02775), 0);
  WriteFile(P("shared/f"), "x");
  ASSERT_EQ(::mkdir(P("shared/sub").c_str(), 0755), 0);
  EXPECT_EQ(Stat(P("shared/f")).st_gid, 4321u);
  EXPECT_EQ(Stat(P("shared/sub")).st_gid, 4321u);
  EXPECT_TRUE(Stat(P("shared/sub")).st_mode & S_ISGID);
}

TEST_F(PosixTest, LargeDirectoryReadWhileEntriesAreRemoved) {
  constexpr int kFiles = 3000;
  ASSERT_EQ(::mkdir(P("big").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) {
    UniqueFd fd = Open(P("big/file" + std::to_string(i)), O_CREAT | O_WRONLY);
    ASSERT_TRUE(fd.valid());
  }
  DIR* dir = ::opendir(P("big").c_str());
  ASSERT_NE(dir, nullptr);
  std::map<std::string, int> seen;
  std::set<std::string> removed;
  int count = 0;
  while (dirent* e = ::readdir(dir)) {
    ++seen[e->d_name];
    if (++count == 1000) {
      // Remove every third file, seen or not, while the listing is open.
      for (int i = 0; i < kFiles; i += 3) {
        const std::string name = "file" + std::to_string(i);
        ASSERT_EQ(::unlink(P("big/" + name).c_str()), 0);
        removed.insert(name);
      }
    }
  }
  ::closedir(dir);
  for (const auto& [name, times] : seen) EXPECT_EQ(times, 1) << name << " repeated";
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "file" + std::to_string(i);
    if (removed.count(name) == 0) {
      EXPECT_EQ(seen.count(name), 1u) << name << " missed";
    }
  }
  EXPECT_EQ(seen.count("."), 1u);
  EXPECT_EQ(seen.count(".."), 1u);
  // A fresh listing has exactly the files that are left.
  dir = ::opendir(P("big").c_str());
  ASSERT_NE(dir, nullptr);
  int left = 0;
  while (dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++left;
  }
  ::closedir(dir);
  EXPECT_EQ(left, kFiles - static_cast<int>(removed.size()));
}

TEST_F(PosixTest, FallocateModes) {
  const std::string data(64 * 1024, 'd');
  WriteFile(P("f"), data);
  UniqueFd fd = Open(P("f"), O_RDWR);
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
  EXPECT_EQ(Stat(P("f")).st_size, 64 * 1024);
  ASSERT_EQ(::fallocate(fd.get(), 0, 0, 128 * 1024), 0);
  EXPECT_EQ(Stat(P("f")).st_size, 128 * 1024);
  const blkcnt_t blocks = Stat(P("f")).st_blocks;
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096 + 10, 32768), 0);
  EXPECT_LT(Stat(P("f")).st_blocks, blocks);
  std::string want = data + std::string(64 * 1024, '\0');
  std::fill(want.begin() + 4096 + 10, want.begin() + 4096 + 10 + 32768, '\0');
  EXPECT_EQ(ReadFile(P("f")), want);
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, 100, 200), 0);
  std::fill(want.begin() + 100, want.begin() + 300, '\0');
  EXPECT_EQ(ReadFile(P("f")), want);
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, 128 * 1024, 4096), 0);
  EXPECT_EQ(Stat(P("f")).st_size, 132 * 1024);
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 132 * 1024, 4096), 0);
  EXPECT_EQ(Stat(P("f")).st_size, 132 * 1024);
  EXPECT_EQ(ErrnoOf([&] { return ::fallocate(fd.get(), FALLOC_FL_COLLAPSE_RANGE, 0, 4096); }),
            EOPNOTSUPP);
  EXPECT_EQ(ErrnoOf([&] { return ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE, 0, 4096); }),
            EOPNOTSUPP);
}

TEST_F(PosixTest, SeekDataAndHole) {
  WriteFile(P("f"), std::string(10000, 'x'));
  UniqueFd fd = Open(P("f"), O_RDONLY);
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_DATA), 0);
  EXPECT_EQ(::lseek(fd.get(), 5000, SEEK_DATA), 5000);
  const off_t hole = ::lseek(fd.get(), 0, SEEK_HOLE);
  EXPECT_GT(hole, 0);
  EXPECT_LE(hole, 10000);
  EXPECT_EQ(::lseek(fd.get(), 9999, SEEK_HOLE), 10000);
  EXPECT_EQ(ErrnoOf([&] { return ::lseek(fd.get(), 10000, SEEK_DATA); }), ENXIO);
  EXPECT_EQ(ErrnoOf([&] { return ::lseek(fd.get(), 20000, SEEK_HOLE); }), ENXIO);
}

// Holes are what was never written, at 4 KiB granularity.
TEST_F(PosixTest, SeekFindsRealHoles) {
  UniqueFd fd = Open(P("sparse"), O_CREAT | O_RDWR, 0644);
  ASSERT_TRUE(fd.valid());
  const std::string island(4096, 'd');
  ASSERT_EQ(::pwrite(fd.get(), island.data(), island.size(), 1 << 20), 4096);
  ASSERT_EQ(::pwrite(fd.get(), island.data(), island.size(), 8 << 20), 4096);
  ASSERT_EQ(::ftruncate(fd.get(), 16 << 20), 0);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_DATA), 1 << 20);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_HOLE), 0);
  EXPECT_EQ(::lseek(fd.get(), 1 << 20, SEEK_HOLE), (1 << 20) + 4096);
  EXPECT_EQ(::lseek(fd.get(), (1 << 20) + 4096, SEEK_DATA), 8 << 20);
  EXPECT_EQ(::lseek(fd.get(), 8 << 20, SEEK_HOLE), (8 << 20) + 4096);
  EXPECT_EQ(ErrnoOf([&] { return ::lseek(fd.get(), (8 << 20) + 4096, SEEK_DATA); }), ENXIO);
  EXPECT_EQ(::lseek(fd.get(), (8 << 20) + 4096, SEEK_HOLE), (8 << 20) + 4096);
}

TEST_F(PosixTest, NamesOver255BytesAreRefused) {
  const std::string long_name(256, 'n');
  const std::string max_name(255, 'm');
  EXPECT_EQ(ErrnoOf([&] { return ::open(P(long_name).c_str(), O_CREAT | O_WRONLY, 0644); }),
            ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf([&] { return ::mkdir(P(long_name).c_str(), 0755); }), ENAMETOOLONG);
  struct stat st;
  EXPECT_EQ(ErrnoOf([&] { return ::stat(P(long_name).c_str(), &st); }), ENAMETOOLONG);
  WriteFile(P(max_name), "ok");
  EXPECT_EQ(ErrnoOf([&] { return ::rename(P(max_name).c_str(), P(long_name).c_str()); }),
            ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf([&] { return ::link(P(max_name).c_str(), P(long_name).c_str()); }),
            ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf([&] { return ::symlink("t", P(long_name).c_str()); }), ENAMETOOLONG);
  EXPECT_EQ(ReadFile(P(max_name)), "ok");
}

TEST_F(PosixTest, FlockAndFcntlLocksWorkBetweenProcesses) {
  WriteFile(P("lock"), "");
  UniqueFd mine = Open(P("lock"), O_RDWR);
  ASSERT_TRUE(mine.valid());
  ASSERT_EQ(::flock(mine.get(), LOCK_EX), 0);
  const std::string path = P("lock");
  auto try_flock = [&] {
    const int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) return 100;
    return ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : (errno == EWOULDBLOCK ? 1 : 101);
  };
  EXPECT_EQ(RunInChild(try_flock), 1);
  ASSERT_EQ(::flock(mine.get(), LOCK_UN), 0);
  EXPECT_EQ(RunInChild(try_flock), 0);

  struct flock lk = {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  lk.l_start = 0;
  lk.l_len = 10;
  ASSERT_EQ(::fcntl(mine.get(), F_SETLK, &lk), 0);
  auto try_fcntl = [&](off_t start) {
    return [&path, start] {
      const int fd = ::open(path.c_str(), O_RDWR);
      if (fd < 0) return 100;
      struct flock l = {};
      l.l_type = F_WRLCK;
      l.l_whence = SEEK_SET;
      l.l_start = start;
      l.l_len = 5;
      if (::fcntl(fd, F_SETLK, &l) == 0) return 0;
      return (errno == EAGAIN || errno == EACCES) ? 1 : 101;
    };
  };
  EXPECT_EQ(RunInChild(try_fcntl(5)), 1);   // overlaps [0, 10)
  EXPECT_EQ(RunInChild(try_fcntl(10)), 0);  // beside it
  // F_GETLK in the child sees the owner's lock.
  const pid_t me = ::getpid();
  EXPECT_EQ(RunInChild([&] {
              const int fd = ::open(path.c_str(), O_RDWR);
              struct flock l = {};
              l.l_type = F_WRLCK;
              l.l_whence = SEEK_SET;
              l.l_len = 1;
              if (fd < 0 || ::fcntl(fd, F_GETLK, &l) != 0) return 100;
              return l.l_type == F_WRLCK && l.l_pid == me ? 0 : 1;
            }),
            0);
  lk.l_type = F_UNLCK;
  ASSERT_EQ(::fcntl(mine.get(), F_SETLK, &lk), 0);
  EXPECT_EQ(RunInChild(try_fcntl(5)), 0);
}

TEST_F(PosixTest, SharedWritableMmap) {
  const size_t size = 3 * 4096 + 100;
  WriteFile(P("m"), std::string(size, '.'));
  // In a child: this process is the daemon (see mount_fixture.h).
  const std::string path = P("m");
  ASSERT_EQ(RunInChild([&] {
              const int fd = ::open(path.c_str(), O_RDWR);
              if (fd < 0) return 1;
              void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
              if (map == MAP_FAILED) return 2;
              char* p = static_cast<char*>(map);
              std::memcpy(p + 10, "mapped", 6);
              std::memcpy(p + 2 * 4096 + 1, "second", 6);
              p[size - 1] = '!';
              if (::msync(map, size, MS_SYNC) != 0) return 3;
              // Read back through read(2) while still mapped.
              char buf[16] = {};
              if (::pread(fd, buf, 6, 2 * 4096 + 1) != 6 || std::memcmp(buf, "second", 6) != 0) {
                return 4;
              }
              if (::munmap(map, size) != 0) return 5;
              return ::close(fd) == 0 ? 0 : 6;
            }),
            0);
  std::string want(size, '.');
  want.replace(10, 6, "mapped");
  want.replace(2 * 4096 + 1, 6, "second");
  want[size - 1] = '!';
  EXPECT_EQ(ReadFile(P("m")), want);
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_EQ(ReadFile(P("m")), want);
}

TEST_F(PosixTest, A300MiBFileReadsBackWithTheSameChecksum) {
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kChunks = 300;
  // FNV-1a over 64-bit words of a position-dependent pattern.
  auto fill = [](std::vector<uint64_t>* buf, size_t chunk) {
    for (size_t i = 0; i < buf->size(); ++i) {
      (*buf)[i] = (chunk * buf->size() + i) * 0x9E3779B97F4A7C15ull;
    }
  };
  auto mix = [](uint64_t h, const std::vector<uint64_t>& buf) {
    for (uint64_t w : buf) h = (h ^ w) * 0x100000001B3ull;
    return h;
  };
  std::vector<uint64_t> buf(kChunk / 8);
  uint64_t written = 0xcbf29ce484222325ull;
  {
    UniqueFd fd = Open(P("big"), O_CREAT | O_WRONLY | O_TRUNC);
    ASSERT_TRUE(fd.valid());
    for (size_t c = 0; c < kChunks; ++c) {
      fill(&buf, c);
      written = mix(written, buf);
      ASSERT_EQ(::write(fd.get(), buf.data(), kChunk), static_cast<ssize_t>(kChunk));
    }
  }
  // Read back from the engine, not the page cache: remount first.
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_EQ(Stat(P("big")).st_size, static_cast<off_t>(kChunk * kChunks));
  uint64_t read_back = 0xcbf29ce484222325ull;
  UniqueFd fd = Open(P("big"), O_RDONLY);
  ASSERT_TRUE(fd.valid());
  for (size_t c = 0; c < kChunks; ++c) {
    size_t got = 0;
    while (got < kChunk) {
      const ssize_t n = ::read(fd.get(), reinterpret_cast<char*>(buf.data()) + got, kChunk - got);
      ASSERT_GT(n, 0) << "chunk " << c << ": " << std::strerror(errno);
      got += static_cast<size_t>(n);
    }
    read_back = mix(read_back, buf);
  }
  EXPECT_EQ(read_back, written);
}

TEST_F(PosixTest, UnmountOfABusyMountFailsAndNamesIt) {
  WriteFile(P("f"), "x");
  UniqueFd fd = Open(P("f"), O_RDONLY);
  ASSERT_TRUE(fd.valid());
  Status st = session().Unmount();
  EXPECT_CODE(Code::kBusy, st);
  EXPECT_NE(st.message().find(mountpoint()), std::string::npos) << st.ToString();
  EXPECT_EQ(ReadFile(P("f")), "x");  // still serving
  fd.Reset();
  Unmount();
  ASSERT_NO_FATAL_FAILURE(MountView());
}

// A FUSE mount whose daemon is gone: the kernel answers ENOTCONN.
void MakeDeadMount(const std::string& path) {
  UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(dev.valid());
  const std::string opts =
      "fd=" + std::to_string(dev.get()) + ",rootmode=40000,user_id=0,group_id=0";
  ASSERT_EQ(::mount("hoodyfs-dead", path.c_str(), "fuse", 0, opts.c_str()), 0)
      << std::strerror(errno);
  dev.Reset();  // the "daemon" dies
  struct stat st;
  ASSERT_EQ(ErrnoOf([&] { return ::stat(path.c_str(), &st); }), ENOTCONN);
}

TEST_F(PosixTest, DeadMountsAreCleared) {
  const std::string dead = dir_->File("dead");
  ASSERT_EQ(::mkdir(dead.c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(MakeDeadMount(dead));
  ASSERT_OK(fusefs::ClearDeadMount(dead));
  EXPECT_EQ(Stat(dead).st_ino, Stat(dir_->File("dead")).st_ino);
  ASSERT_OK(fusefs::ClearDeadMount(dead));  // nothing to clear: OK
  // Mount clears one by itself.
  Unmount();
  ASSERT_NO_FATAL_FAILURE(MakeDeadMount(mountpoint()));
  ASSERT_NO_FATAL_FAILURE(MountView());
  WriteFile(P("alive"), "yes");
  EXPECT_EQ(ReadFile(P("alive")), "yes");
}

// Connection numbers are reused as soon as a connection ends (the next
// mount, in any process, usually gets the same one), so an abort must go
// through a file opened while the connection was ours: writing to it after
// the connection ended must not hit the mount that took its number.
TEST_F(PosixTest, AnAbortFileOfAnEndedConnectionSparesTheNextMount) {
  UniqueFd stale = fusefs::OpenAbortFile(Stat(mountpoint()).st_dev);
  ASSERT_TRUE(stale.valid());
  Unmount();
  ASSERT_NO_FATAL_FAILURE(MountView());
  (void)fusefs::WriteAbort(stale);
  WriteFile(P("alive"), "yes");
  EXPECT_EQ(ReadFile(P("alive")), "yes");
  EXPECT_FALSE(fusefs::IsDeadMount(mountpoint()));
}

// A killed daemon's mount whose root attributes the kernel still caches:
// stat(2) of the root may succeed from the cache for the attribute timeout
// (an hour), so a dead mount must be recognised by a request that always
// reaches the daemon (statfs), or `hoodyfs mount` would stack a new mount on
// top of it. (kill -9 of the daemon in tests/daemon/mount_test.cc met this.)
TEST_F(PosixTest, ADeadMountIsFoundWhileItsRootsAttributesAreCached) {
  WriteFile(P("f"), "x");
  const struct stat live = Stat(mountpoint());  // the root's attributes, cached
  ASSERT_TRUE(fusefs::AbortConnection(live.st_dev));
  EXPECT_TRUE(fusefs::IsDeadMount(mountpoint()));
  ASSERT_OK(fusefs::ClearDeadMount(mountpoint()));
  EXPECT_FALSE(fusefs::IsDeadMount(mountpoint()));
  EXPECT_NE(Stat(mountpoint()).st_dev, live.st_dev) << "the dead mount is still there";
}

class ReadOnlyTest : public MountTest {};

TEST_F(ReadOnlyTest, FrozenGenerationMountsReadOnly) {
  WriteFile(P("f"), "frozen");
  auto gen = store().Freeze("c1");
  ASSERT_TRUE(gen.ok());
  Unmount();
  ASSERT_NO_FATAL_FAILURE(MountView(store().AtGeneration(*gen).value()));
  EXPECT_EQ(ReadFile(P("f")), "frozen");
  EXPECT_EQ(ErrnoOf([&] { return ::open(P("f").c_str(), O_WRONLY); }), EROFS);
  EXPECT_EQ(ErrnoOf([&] { return ::mkdir(P("d").c_str(), 0755); }), EROFS);
}

}  // namespace
}  // namespace hoodyfs::testing
