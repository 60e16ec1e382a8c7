#include "blockstore/uring_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/testing/temp_dir.h"
#include "blockstore/file_ops.h"
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

// Start: batches in flight on two rings at once, each waited for in any
// order; a ring lent to a started batch comes back when it is waited for or
// dropped; a bad op fails alone and is reported by Wait, every time.
TEST_F(UringDeviceTest, StartedBatchesRunWhileTheCallerGoesOn) {
  std::unique_ptr<UringDevice> dev = Open(UringOptions{2, 2, false});
  ASSERT_NE(dev, nullptr);
  ASSERT_OK(dev->Grow(4 * kMiB));
  // Eight ops through a queue two deep: the batch runs in waves.
  auto batch = [](AlignedBuffer& out, uint64_t base, uint64_t seed) {
    testing::FillPattern(out.span(), base, seed);
    std::vector<IoOp> ops;
    for (uint64_t done = 0; done < kMiB; done += kMiB / 8) {
      ops.push_back(IoOp{IoKind::kWrite, base + done, out.data() + done, kMiB / 8, Status()});
    }
    return ops;
  };
  AlignedBuffer a(kMiB), b(kMiB), c(kMiB);
  std::unique_ptr<StartedIo> first = dev->Start(batch(a, 0, 21));
  std::unique_ptr<StartedIo> second = dev->Start(batch(b, kMiB, 22));
  ASSERT_OK(second->Wait());
  ASSERT_OK(first->Wait());
  EXPECT_OK(first->Wait());
  for (const IoOp& op : first->ops()) EXPECT_OK(op.result);

  // Dropped without a wait: it completes first, and its ring is back (two
  // more batches at once would wait for a ring forever otherwise).
  dev->Start(batch(c, 2 * kMiB, 23)).reset();
  std::unique_ptr<StartedIo> third = dev->Start(batch(a, 0, 24));
  std::unique_ptr<StartedIo> fourth = dev->Start(batch(b, kMiB, 25));
  ASSERT_OK(third->Wait());
  ASSERT_OK(fourth->Wait());
  for (const auto& [offset, seed] :
       {std::pair<uint64_t, uint64_t>{0, 24}, {kMiB, 25}, {2 * kMiB, 23}}) {
    Result<AlignedBuffer> in = testing::ReadRange(*dev, offset, kMiB);
    ASSERT_OK(in.status());
    EXPECT_EQ(testing::CheckPattern(in->span(), offset, seed), "") << "at " << offset;
  }

  // A misaligned op fails alone; the others land.
  std::vector<IoOp> mixed = batch(c, 3 * kMiB, 26);
  mixed[3].offset_bytes += 512;
  std::unique_ptr<StartedIo> bad = dev->Start(std::move(mixed));
  EXPECT_EQ(bad->Wait().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad->Wait().code(), Code::kInvalidArgument);
  EXPECT_OK(bad->ops()[2].result);
  EXPECT_EQ(bad->ops()[3].result.code(), Code::kInvalidArgument);
  Result<AlignedBuffer> in = testing::ReadRange(*dev, 3 * kMiB, kMiB / 8);
  ASSERT_OK(in.status());
  EXPECT_EQ(testing::CheckPattern(in->span(), 3 * kMiB, 26), "");
}

// Start has rings of its own: with all of them lent, a further Start runs
// its batch before returning (waiting for a ring could wait for its own
// caller), Execute still has the pool's ring while started batches hold
// theirs, and started batches may be waited for in any order, also as a
// receive does (two started, the first waited for, a third started).
TEST_F(UringDeviceTest, StartNeverWaitsForARingAndLeavesExecuteItsOwn) {
  std::unique_ptr<UringDevice> dev = Open(UringOptions{1, 4, false});
  ASSERT_NE(dev, nullptr);
  constexpr uint64_t kBatches = kStartRings + 2;
  ASSERT_OK(dev->Grow((kBatches + 1) * kMiB));
  std::vector<AlignedBuffer> buffers;
  for (uint64_t i = 0; i < kBatches; ++i) {
    buffers.emplace_back(kMiB);
    testing::FillPattern(buffers[i].span(), i * kMiB, 40 + i);
  }
  auto start = [&](uint64_t i) {
    return dev->Start(
        {IoOp{IoKind::kWrite, i * kMiB, buffers[i].data(), static_cast<uint32_t>(kMiB), Status()}});
  };
  std::vector<std::unique_ptr<StartedIo>> started;
  started.push_back(start(0));
  started.push_back(start(1));
  ASSERT_OK(started[0]->Wait());
  for (uint64_t i = 2; i < kBatches; ++i)
    started.push_back(start(i));                                      // the last ones find no ring
  ASSERT_OK(testing::WritePattern(*dev, kBatches * kMiB, kMiB, 49));  // Execute, meanwhile
  for (uint64_t i = kBatches; i-- > 0;) ASSERT_OK(started[i]->Wait());  // newest first
  for (uint64_t i = 0; i < kBatches; ++i) {
    Result<AlignedBuffer> in = testing::ReadRange(*dev, i * kMiB, kMiB);
    ASSERT_OK(in.status());
    EXPECT_EQ(testing::CheckPattern(in->span(), i * kMiB, 40 + i), "") << "batch " << i;
  }
  Result<AlignedBuffer> in = testing::ReadRange(*dev, kBatches * kMiB, kMiB);
  ASSERT_OK(in.status());
  EXPECT_EQ(testing::CheckPattern(in->span(), kBatches * kMiB, 49), "");
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

// With inline_writes, a batch of writes never enters a ring: with every
// io_uring_enter refused, writes still land (and read back through pread),
// while a read, which keeps the ring, fails cleanly.
std::string InlineWritesNeedNoRing() {
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return dir.status().ToString();
  UniqueFd fd(::open(dir->File("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  UringOptions options{1, 4, false};
  options.inline_writes = true;
  Result<std::unique_ptr<UringDevice>> dev = UringDevice::Create(&fd, options);
  if (!dev.ok()) return dev.status().ToString();
  const std::string describe = (*dev)->Describe();
  if (describe.find("writes made by the caller") == std::string::npos) {
    return "Describe() does not say so: " + describe;
  }
  if (Status s = (*dev)->Grow(kMiB); !s.ok()) return s.ToString();

  const testing::SyscallRule rules[] = {{SYS_io_uring_enter, EBADF}};
  if (Status s = testing::DenySyscalls(rules); !s.ok()) return "filter: " + s.ToString();
  if (Status s = testing::WritePattern(**dev, 0, kMiB, 5); !s.ok()) return "write: " + s.ToString();
  Result<AlignedBuffer> ring_read = testing::ReadRange(**dev, 0, kIoAlign);
  if (ring_read.status().code() != Code::kIoError) {
    return "a read through the refused ring gave " + ring_read.status().ToString();
  }
  // A batch with a read in it stays on the ring, writes and all.
  AlignedBuffer one(kIoAlign);
  AlignedBuffer other(kIoAlign);
  IoOp mixed[] = {{IoKind::kWrite, 0, one.data(), kIoAlign, Status()},
                  {IoKind::kRead, kIoAlign, other.data(), kIoAlign, Status()}};
  if (Status s = (*dev)->Execute(mixed); s.code() != Code::kIoError) {
    return "a mixed batch through the refused ring gave " + s.ToString();
  }
  const UniqueFd reader(::open(dir->File("data").c_str(), O_RDONLY | O_CLOEXEC));
  AlignedBuffer in(kMiB);
  if (Status s = PreadFull(reader.get(), in.data(), kMiB, 0); !s.ok()) {
    return "pread: " + s.ToString();
  }
  return testing::CheckPattern(in.span(), 0, 5);
}

TEST(UringDeviceDeathTest, InlineWritesNeedNoRing) {
  if (!ProbeIoUring().ok()) GTEST_SKIP() << "io_uring unavailable here";
  EXPECT_EXIT(ExitWith(InlineWritesNeedNoRing()), ::testing::ExitedWithCode(0), "child ok");
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
