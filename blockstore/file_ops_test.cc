#include "blockstore/file_ops.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "blockstore/posix_device.h"
#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/pattern.h"
#include "blockstore/testing/syscall_filter.h"

namespace hoodyfs::blockstore {
namespace {

using ::hoodyfs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

UniqueFd CreateFile(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
}

TEST(FileOpsTest, PreadPastTheEndIsAnIoError) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  UniqueFd fd = CreateFile(dir->File("f"));
  ASSERT_TRUE(fd.valid());
  ASSERT_OK(GrowFile(fd.get(), 0, 8192));
  char buf[8192];
  ASSERT_OK(PreadFull(fd.get(), buf, sizeof(buf), 0));
  const Status s = PreadFull(fd.get(), buf, sizeof(buf), 4096);
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
}

// The probe answers for a real filesystem and leaves the file it asks for
// untouched; where it cannot ask truthfully (no directory, or a directory
// on another filesystem than the file) it says so rather than guess.
TEST(FileOpsTest, NowaitProbeAnswersOnlyForTheFilesFilesystem) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  UniqueFd file = CreateFile(dir->File("data"));
  ASSERT_TRUE(file.valid());
  ASSERT_OK(PwriteFull(file.get(), "abc", 3, 0));
  const NowaitWrites answer = ProbeNowaitBufferedWrites(file.get(), dir->path());
  if (answer == NowaitWrites::kUnknown) {
    const UniqueFd tmp(::open(dir->path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    EXPECT_FALSE(tmp.valid()) << "O_TMPFILE works in " << dir->path() << " yet no answer";
  }
  Result<uint64_t> size = FileSizeBytes(file.get());
  ASSERT_OK(size.status());
  EXPECT_EQ(*size, 3u) << "the probe wrote into the file it asked for";
  EXPECT_EQ(ProbeNowaitBufferedWrites(file.get(), dir->File("absent")), NowaitWrites::kUnknown);
  // /proc is never the filesystem of a temp dir.
  EXPECT_EQ(ProbeNowaitBufferedWrites(file.get(), "/proc"), NowaitWrites::kUnknown);
}

// tmpfs checks a fallocate against its whole size before allocating, so a
// request larger than the filesystem fails at once, without filling it.
TEST(FileOpsTest, GrowBeyondTheFilesystemIsNoSpaceAndKeepsTheSize) {
  Result<TempDir> dir = TempDir::Create("/dev/shm");
  if (!dir.ok()) GTEST_SKIP() << "no /dev/shm here: " << dir.status().ToString();
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir->path().c_str(), &fs), 0);
  if (fs.f_type != TMPFS_MAGIC || fs.f_blocks == 0) {
    GTEST_SKIP() << "/dev/shm is not a size-limited tmpfs";
  }
  const uint64_t too_big =
      (static_cast<uint64_t>(fs.f_blocks) * static_cast<uint64_t>(fs.f_bsize) * 2 + kMiB) / kMiB *
      kMiB;
  UniqueFd fd = CreateFile(dir->File("f"));
  ASSERT_TRUE(fd.valid());
  Result<std::unique_ptr<PosixDevice>> dev = PosixDevice::Create(std::move(fd), {});
  ASSERT_OK(dev.status());
  ASSERT_OK((*dev)->Grow(kMiB));

  const Status s = (*dev)->Grow(too_big);
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_EQ((*dev)->SizeBytes(), kMiB);
  struct stat st {};
  ASSERT_EQ(::stat(dir->File("f").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kMiB);
}

[[noreturn]] void ExitWith(const std::string& failure) {
  std::fprintf(stderr, "%s\n", failure.empty() ? "fallback ok" : failure.c_str());
  std::fflush(stderr);
  std::_Exit(failure.empty() ? 0 : 1);
}

// Where fallocate is unsupported, Grow still grows (ftruncate) and Discard
// still reads back zeros (written zeros).
std::string GrowAndDiscardWithoutFallocate() {
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return dir.status().ToString();
  const testing::SyscallRule rules[] = {{SYS_fallocate, EOPNOTSUPP}};
  if (Status s = testing::DenySyscalls(rules); !s.ok()) return "filter: " + s.ToString();
  Result<std::unique_ptr<PosixDevice>> dev = PosixDevice::Create(CreateFile(dir->File("f")), {});
  if (!dev.ok()) return dev.status().ToString();
  BlockDevice& device = **dev;
  if (Status s = device.Grow(2 * kMiB); !s.ok()) return "grow: " + s.ToString();
  if (device.SizeBytes() != 2 * kMiB) return "size " + std::to_string(device.SizeBytes());
  if (Status s = testing::WritePattern(device, 0, 2 * kMiB, 5); !s.ok()) return s.ToString();
  if (Status s = device.Discard(kMiB / 2, kMiB); !s.ok()) return "discard: " + s.ToString();
  Result<AlignedBuffer> in = testing::ReadRange(device, 0, 2 * kMiB);
  if (!in.ok()) return in.status().ToString();
  std::string failure = testing::CheckZeros(in->span().subspan(kMiB / 2, kMiB), kMiB / 2);
  if (failure.empty()) failure = testing::CheckPattern(in->span().first(kMiB / 2), 0, 5);
  return failure;
}

TEST(FileOpsDeathTest, WithoutFallocateGrowTruncatesAndDiscardWritesZeros) {
  EXPECT_EXIT(ExitWith(GrowAndDiscardWithoutFallocate()), ::testing::ExitedWithCode(0),
              "fallback ok");
}

// Starting writeback is a hint: on a real file it succeeds and changes no
// byte, and where sync_file_range fails (EIO here), the device reports it
// and Sync still works and decides durability.
std::string StartWritebackThatFails() {
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return dir.status().ToString();
  Result<std::unique_ptr<PosixDevice>> dev = PosixDevice::Create(CreateFile(dir->File("f")), {});
  if (!dev.ok()) return dev.status().ToString();
  BlockDevice& device = **dev;
  if (Status s = device.Grow(2 * kMiB); !s.ok()) return "grow: " + s.ToString();
  if (Status s = testing::WritePattern(device, 0, kMiB, 3); !s.ok()) return s.ToString();
  if (Status s = device.StartWriteback(); !s.ok()) return "writeback: " + s.ToString();
  const testing::SyscallRule rules[] = {{SYS_sync_file_range, EIO}};
  if (Status s = testing::DenySyscalls(rules); !s.ok()) return "filter: " + s.ToString();
  if (Status s = testing::WritePattern(device, kMiB, kMiB, 4); !s.ok()) return s.ToString();
  const Status failed = device.StartWriteback();
  if (failed.code() != Code::kIoError || failed.ErrnoValue() != EIO) {
    return "a failed sync_file_range gave " + failed.ToString();
  }
  if (Status s = device.Sync(); !s.ok()) return "sync: " + s.ToString();
  Result<AlignedBuffer> in = testing::ReadRange(device, 0, 2 * kMiB);
  if (!in.ok()) return in.status().ToString();
  std::string failure = testing::CheckPattern(in->span().first(kMiB), 0, 3);
  if (failure.empty()) failure = testing::CheckPattern(in->span().subspan(kMiB), kMiB, 4);
  return failure;
}

TEST(FileOpsDeathTest, FailedWritebackStartIsReportedAndSyncStillWorks) {
  EXPECT_EXIT(ExitWith(StartWritebackThatFails()), ::testing::ExitedWithCode(0), "fallback ok");
}

}  // namespace
}  // namespace hoodyfs::blockstore
