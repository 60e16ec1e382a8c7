#include "blockstore/uring_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/temp_dir.h"
#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/pattern.h"
#include "blockstore/testing/syscall_filter.h"

namespace hoodyfs::blockstore {
namespace {

using ::hoodyfs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

TEST(UringOptionsTest, LimitsAreEnforced) {
  EXPECT_OK(ValidateUringOptions(UringOptions{}));
  EXPECT_OK(ValidateUringOptions(UringOptions{1, 1, false}));
  EXPECT_OK(ValidateUringOptions(UringOptions{kMaxRings, kMaxQueueDepth, false}));
  for (const UringOptions& bad :
       {UringOptions{0, 64, false}, UringOptions{kMaxRings + 1, 64, false},
        UringOptions{4, 0, false}, UringOptions{4, kMaxQueueDepth + 1, false}}) {
    EXPECT_EQ(ValidateUringOptions(bad).code(), Code::kInvalidArgument)
        << bad.rings << " x " << bad.queue_depth;
  }
}

class UringDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status probe = ProbeIoUring();
    if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable here: " << probe.ToString();
  }

  // A device over a fresh buffered file in the test's temp dir.
  std::unique_ptr<UringDevice> Open(const UringOptions& options) {
    UniqueFd fd(::open(dir_.File("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    Result<std::unique_ptr<UringDevice>> dev = UringDevice::Create(&fd, options);
    EXPECT_OK(dev.status());
    EXPECT_FALSE(fd.valid()) << "Create takes the descriptor on success";
    return dev.ok() ? std::move(dev).value() : nullptr;
  }

  TempDir dir_ = std::move(TempDir::Create()).value();
};

TEST_F(UringDeviceTest, DescribeNamesTheChoices) {
  std::unique_ptr<UringDevice> dev = Open(UringOptions{2, 8, false});
  ASSERT_NE(dev, nullptr);
  const std::string describe = dev->Describe();
  EXPECT_EQ(describe.rfind("io_uring, buffered I/O + fdatasync, 2 rings x 8 deep, ", 0), 0u)
      << describe;
}

TEST_F(UringDeviceTest, BadOptionsLeaveTheDescriptorWithTheCaller) {
  UniqueFd fd(::open(dir_.File("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  Result<std::unique_ptr<UringDevice>> dev = UringDevice::Create(&fd, UringOptions{0, 0, false});
  EXPECT_EQ(dev.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(fd.valid());
}

// One ring two deep serving eight threads: callers wait for the ring, and
// every batch runs in many waves.
TEST_F(UringDeviceTest, OneShallowRingServesManyThreads) {
  std::unique_ptr<UringDevice> dev = Open(UringOptions{1, 2, false});
  ASSERT_NE(dev, nullptr);
  constexpr int kThreads = 8;
  ASSERT_OK(dev->Grow(kThreads * kMiB));
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t base = static_cast<uint64_t>(t) * kMiB;
      AlignedBuffer out(kMiB);
      testing::FillPattern(out.span(), base, 11);
      std::vector<IoOp> ops;
      for (uint64_t done = 0; done < kMiB; done += 8 * kIoAlign) {
        ops.push_back(IoOp{IoKind::kWrite, base + done, out.data() + done, 8 * kIoAlign, Status()});
      }
      if (Status s = dev->Execute(ops); !s.ok()) {
        failures[t] = s.ToString();
        return;
      }
      Result<AlignedBuffer> in = testing::ReadRange(*dev, base, kMiB);
      failures[t] = in.ok() ? testing::CheckPattern(in->span(), base, 11) : in.status().ToString();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

[[noreturn]] void ExitWith(const std::string& failure) {
  std::fprintf(stderr, "%s\n", failure.empty() ? "child ok" : failure.c_str());
  std::fflush(stderr);
  std::_Exit(failure.empty() ? 0 : 1);
}

// Sets up a device, then makes every io_uring_enter fail with `error`: each
// batch must fail with `want` (not hang, not crash), and the broken ring must
// be replaced so the next batch fails the same clean way.
std::string SubmissionFailsWith(int error, Code want) {
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return dir.status().ToString();
  UniqueFd fd(::open(dir->File("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  Result<std::unique_ptr<UringDevice>> dev = UringDevice::Create(&fd, UringOptions{1, 4, false});
  if (!dev.ok()) return dev.status().ToString();
  if (Status s = (*dev)->Grow(kMiB); !s.ok()) return s.ToString();
  if (Status s = testing::WritePattern(**dev, 0, kMiB, 1); !s.ok()) {
    return "before: " + s.ToString();
  }

  const testing::SyscallRule rules[] = {{SYS_io_uring_enter, error}};
  if (Status s = testing::DenySyscalls(rules); !s.ok()) return "filter: " + s.ToString();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Status s = testing::WritePattern(**dev, 0, kMiB, 2);
    if (s.code() != want) return "attempt " + std::to_string(attempt) + ": " + s.ToString();
  }
  return "";
}

TEST(UringDeviceDeathTest, SubmissionErrorFailsTheBatchAndReplacesTheRing) {
  if (!ProbeIoUring().ok()) GTEST_SKIP() << "io_uring unavailable here";
  EXPECT_EXIT(ExitWith(SubmissionFailsWith(EBADF, Code::kIoError)), ::testing::ExitedWithCode(0),
              "child ok");
}

TEST(UringDeviceDeathTest, EndlessEagainWithNothingInFlightGivesUpAsBusy) {
  if (!ProbeIoUring().ok()) GTEST_SKIP() << "io_uring unavailable here";
  EXPECT_EXIT(ExitWith(SubmissionFailsWith(EAGAIN, Code::kBusy)), ::testing::ExitedWithCode(0),
              "child ok");
}

}  // namespace
}  // namespace hoodyfs::blockstore
