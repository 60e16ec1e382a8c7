#include "blockstore/data_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "blockstore/file_ops.h"
#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/pattern.h"
#include "blockstore/testing/syscall_filter.h"
#include "blockstore/uring_device.h"

namespace hoodyfs::blockstore {
namespace {

using ::hoodyfs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether the filesystem holding `dir` lets a file be opened O_DIRECT.
bool AcceptsODirect(const std::string& dir) {
  const std::string probe = dir + "/o_direct_probe";
  UniqueFd fd(::open(probe.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_DIRECT, 0600));
  ::unlink(probe.c_str());
  return fd.valid();
}

// Creates a data file, writes and syncs 1 MiB, reopens it and checks the bytes.
// Returns "" or what went wrong; usable in a death test's child.
std::string OpenWriteReopenRead(const std::string& path, const DeviceOptions& options,
                                std::string* describe) {
  {
    Result<std::unique_ptr<BlockDevice>> dev = OpenDataFile(path, options, /*create=*/true);
    if (!dev.ok()) return "open: " + dev.status().ToString();
    *describe = (*dev)->Describe();
    if (Status s = (*dev)->Grow(2 * kMiB); !s.ok()) return "grow: " + s.ToString();
    if (Status s = testing::WritePattern(**dev, kMiB, kMiB, 3); !s.ok()) return s.ToString();
    if (Status s = (*dev)->Sync(); !s.ok()) return "sync: " + s.ToString();
  }
  Result<std::unique_ptr<BlockDevice>> dev = OpenDataFile(path, options, /*create=*/false);
  if (!dev.ok()) return "reopen: " + dev.status().ToString();
  if ((*dev)->SizeBytes() != 2 * kMiB) {
    return "size after reopen " + std::to_string((*dev)->SizeBytes());
  }
  Result<AlignedBuffer> in = testing::ReadRange(**dev, kMiB, kMiB);
  if (!in.ok()) return "read: " + in.status().ToString();
  return testing::CheckPattern(in->span(), kMiB, 3);
}

DeviceOptions Direct() {
  DeviceOptions options;
  options.direct_io = true;
  return options;
}

TEST(OpenDataFileTest, DefaultsToBufferedIoUringAndDataSurvivesReopen) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  std::string describe;
  EXPECT_EQ(OpenWriteReopenRead(dir->File("data"), DeviceOptions{}, &describe), "");
  EXPECT_TRUE(Contains(describe, "buffered I/O + fdatasync")) << describe;
  EXPECT_EQ(Contains(describe, "io_uring,"), ProbeIoUring().ok()) << describe;
  if (ProbeIoUring().ok()) {
    EXPECT_EQ(Contains(describe, "O_DIRECT reads of 64 KiB and more"), AcceptsODirect(dir->path()))
        << describe;
    // Writes leave the rings exactly where the filesystem would make
    // io_uring hand every buffered write to a worker thread.
    const UniqueFd data(::open(dir->File("data").c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_EQ(Contains(describe, "writes made by the caller"),
              ProbeNowaitBufferedWrites(data.get(), dir->path()) == NowaitWrites::kRefused)
        << describe;
  }
}

TEST(OpenDataFileTest, InlineWritesCanBeTurnedOff) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  {
    const UniqueFd here(::open(dir->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!ProbeIoUring().ok() ||
        ProbeNowaitBufferedWrites(here.get(), dir->path()) != NowaitWrites::kRefused) {
      GTEST_SKIP() << "writes stay on the rings here anyway";
    }
  }
  DeviceOptions options;
  options.inline_writes = false;
  std::string describe;
  EXPECT_EQ(OpenWriteReopenRead(dir->File("data"), options, &describe), "");
  EXPECT_FALSE(Contains(describe, "writes made by the caller")) << describe;
}

TEST(OpenDataFileTest, UsesODirectAndIoUringWhereAvailableAndDataSurvivesReopen) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  std::string describe;
  EXPECT_EQ(OpenWriteReopenRead(dir->File("data"), Direct(), &describe), "");
  const bool direct = AcceptsODirect(dir->path());
  const bool uring = ProbeIoUring().ok();
  EXPECT_EQ(Contains(describe, "O_DIRECT"), direct) << describe;
  EXPECT_EQ(Contains(describe, "io_uring,"), uring) << describe;
  if (direct) {
    EXPECT_FALSE(Contains(describe, "writes made by the caller")) << describe;
  }
  if (!direct || !uring) {
    GTEST_SKIP() << "ran the fallback path (" << describe << ") on " << dir->path();
  }
}

TEST(OpenDataFileTest, PosixKindNeverUsesIoUring) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  DeviceOptions options;
  options.kind = DeviceOptions::Kind::kPosix;
  options.direct_io = false;
  std::string describe;
  EXPECT_EQ(OpenWriteReopenRead(dir->File("data"), options, &describe), "");
  EXPECT_EQ(describe, "pread/pwrite, buffered I/O + fdatasync");
}

TEST(OpenDataFileTest, MissingFileWithoutCreateIsNotFound) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  Result<std::unique_ptr<BlockDevice>> dev =
      OpenDataFile(dir->File("absent"), DeviceOptions{}, /*create=*/false);
  EXPECT_EQ(dev.status().code(), Code::kNotFound) << dev.status().ToString();
}

TEST(OpenDataFileTest, BadIoUringLimitsAreInvalidArgumentNotAFallback) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  DeviceOptions options;
  options.queue_depth = 0;
  Result<std::unique_ptr<BlockDevice>> dev = OpenDataFile(dir->File("data"), options, true);
  EXPECT_EQ(dev.status().code(), Code::kInvalidArgument) << dev.status().ToString();
}

// tmpfs refused O_DIRECT before Linux 6.6; where it still does, this is the
// real-filesystem version of the seccomp test below.
TEST(OpenDataFileTest, FallsBackToBufferedOnTmpfsThatRefusesODirect) {
  Result<TempDir> dir = TempDir::Create("/dev/shm");
  if (!dir.ok()) GTEST_SKIP() << "no /dev/shm here: " << dir.status().ToString();
  if (AcceptsODirect(dir->path())) {
    GTEST_SKIP() << "tmpfs on this kernel accepts O_DIRECT; "
                    "DataFileDeathTest.FallsBackToBufferedWhenODirectIsRefused covers the fallback";
  }
  std::string describe;
  ::testing::internal::CaptureStderr();
  const std::string failure = OpenWriteReopenRead(dir->File("data"), Direct(), &describe);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(failure, "");
  EXPECT_TRUE(Contains(describe, "buffered I/O + fdatasync")) << describe;
  EXPECT_TRUE(Contains(
      log, "O_DIRECT refused on " + dir->File("data") + "; using buffered I/O plus fdatasync"))
      << log;
}

// Death-test children: each builds its own temp dir and removes it before
// exiting, and reports through its exit code and stderr.
[[noreturn]] void ExitWith(const std::string& failure) {
  if (!failure.empty()) std::fprintf(stderr, "child failed: %s\n", failure.c_str());
  std::fflush(stderr);
  std::_Exit(failure.empty() ? 0 : 1);
}

std::string InFilteredChild(std::span<const testing::SyscallRule> rules,
                            const DeviceOptions& options, const std::string& want_in_describe) {
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return dir.status().ToString();
  if (Status s = testing::DenySyscalls(rules); !s.ok()) return "filter: " + s.ToString();
  std::string describe;
  std::string failure = OpenWriteReopenRead(dir->File("data"), options, &describe);
  if (failure.empty() && !Contains(describe, want_in_describe)) {
    failure = "Describe() is \"" + describe + "\", wanted \"" + want_in_describe + "\"";
  }
  return failure;
}

TEST(DataFileDeathTest, FallsBackToBufferedWhenODirectIsRefused) {
  // As a filesystem without O_DIRECT support answers: EINVAL from open.
  const testing::SyscallRule rules[] = {{SYS_openat, EINVAL, 2, O_DIRECT},
                                        {SYS_open, EINVAL, 1, O_DIRECT}};
  EXPECT_EXIT(ExitWith(InFilteredChild(rules, Direct(), "buffered I/O + fdatasync")),
              ::testing::ExitedWithCode(0),
              "O_DIRECT refused on .*/data; using buffered I/O plus fdatasync");
}

TEST(DataFileDeathTest, FallsBackToPosixWhenIoUringIsUnavailable) {
  // As a kernel built without io_uring answers.
  const testing::SyscallRule rules[] = {{SYS_io_uring_setup, ENOSYS}};
  EXPECT_EXIT(ExitWith(InFilteredChild(rules, DeviceOptions{}, "pread/pwrite, ")),
              ::testing::ExitedWithCode(0), "io_uring unavailable for .*; using pread/pwrite");
}

}  // namespace
}  // namespace hoodyfs::blockstore
