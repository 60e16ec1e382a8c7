// The BlockDevice contract, checked against every implementation: the
// io_uring and pread/pwrite devices over a real file (with and without
// O_DIRECT; io_uring also buffered with large reads through O_DIRECT),
// MemDevice, and FaultyDevice with an empty plan.
#include "blockstore/block_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/temp_dir.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/posix_device.h"
#include "blockstore/testing/faulty_device.h"
#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/mem_device.h"
#include "blockstore/testing/pattern.h"
#include "blockstore/uring_device.h"

namespace hoodyfs::blockstore {
namespace {

using testing::CheckPattern;
using testing::CheckZeros;
using testing::ReadRange;
using testing::SeedTrace;
using testing::TestSeed;
using testing::WritePattern;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kDeviceBytes = 16 * kMiB;

enum class Backend { kUring, kPosix, kMem, kFaultyOverMem };

struct DeviceParam {
  const char* name;
  Backend backend;
  bool direct_io;
  bool direct_reads = false;   // io_uring: large reads through a second, O_DIRECT descriptor
  bool inline_writes = false;  // io_uring: batches of writes made by the caller
};

class BlockDeviceTest : public ::testing::TestWithParam<DeviceParam> {
 protected:
  void SetUp() override {
    const DeviceParam& p = GetParam();
    if (p.backend == Backend::kMem) {
      device_ = std::make_unique<testing::MemDevice>();
    } else if (p.backend == Backend::kFaultyOverMem) {
      device_ = std::make_unique<testing::FaultyDevice>(std::make_unique<testing::MemDevice>(),
                                                        testing::FaultPlan{});
    } else {
      OpenFileDevice(p);
      if (IsSkipped() || HasFatalFailure()) return;
    }
    ASSERT_OK(device_->Grow(kDeviceBytes));
    ASSERT_EQ(device_->SizeBytes(), kDeviceBytes);
  }

  void OpenFileDevice(const DeviceParam& p) {
    if (p.backend == Backend::kUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable here: " << probe.ToString();
    }
    Result<::hoodyfs::testing::TempDir> dir = ::hoodyfs::testing::TempDir::Create();
    ASSERT_OK(dir.status());
    dir_.emplace(std::move(dir).value());
    path_ = dir_->File("data");
    const int flags = O_RDWR | O_CREAT | O_CLOEXEC | (p.direct_io ? O_DIRECT : 0);
    UniqueFd fd(::open(path_.c_str(), flags, 0600));
    if (!fd.valid() && errno == EINVAL && p.direct_io) {
      GTEST_SKIP() << "the filesystem of " << path_ << " refuses O_DIRECT";
    }
    ASSERT_TRUE(fd.valid()) << path_ << ": " << errno;
    if (p.backend == Backend::kUring) {
      UniqueFd direct_reads;
      if (p.direct_reads) {
        direct_reads = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT));
        if (!direct_reads.valid() && errno == EINVAL) {
          GTEST_SKIP() << "the filesystem of " << path_ << " refuses O_DIRECT";
        }
        ASSERT_TRUE(direct_reads.valid()) << path_ << ": " << errno;
      }
      UringOptions options{4, 64, p.direct_io};
      options.inline_writes = p.inline_writes;
      Result<std::unique_ptr<UringDevice>> dev =
          UringDevice::Create(&fd, options, std::move(direct_reads));
      ASSERT_OK(dev.status());
      device_ = std::move(dev).value();
    } else {
      Result<std::unique_ptr<PosixDevice>> dev =
          PosixDevice::Create(std::move(fd), PosixDeviceOptions{p.direct_io, ""});
      ASSERT_OK(dev.status());
      device_ = std::move(dev).value();
    }
  }

  bool real_file() const { return dir_.has_value(); }

  uint64_t AllocatedBytes() const {
    struct stat st {};
    EXPECT_EQ(::stat(path_.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  std::optional<::hoodyfs::testing::TempDir> dir_;
  std::string path_;
  std::unique_ptr<BlockDevice> device_;
};

// One op per piece of [offset, offset + length), each `piece` bytes, over `buffer`.
void AppendOps(IoKind kind, uint64_t offset, uint64_t length, uint32_t piece, AlignedBuffer& buffer,
               uint64_t buffer_offset, std::vector<IoOp>* ops) {
  for (uint64_t done = 0; done < length; done += piece) {
    ops->push_back(IoOp{kind, offset + done, buffer.data() + (offset + done - buffer_offset), piece,
                        Status()});
  }
}

TEST_P(BlockDeviceTest, ManyMixedOpsInOneBatchRoundTrip) {
  SCOPED_TRACE(SeedTrace());
  const uint64_t seed = TestSeed();
  constexpr uint64_t kBytes = 6 * kMiB;  // [0, 4 MiB) in 1 MiB ops, [4, 6) MiB in 4 KiB ops
  AlignedBuffer out(kBytes);
  testing::FillPattern(out.span(), 0, seed);
  std::vector<IoOp> writes;
  AppendOps(IoKind::kWrite, 0, 4 * kMiB, kMaxIoBytes, out, 0, &writes);
  AppendOps(IoKind::kWrite, 4 * kMiB, 2 * kMiB, kIoAlign, out, 0, &writes);
  std::shuffle(writes.begin(), writes.end(), std::mt19937_64(seed));
  ASSERT_GT(writes.size(), 64u) << "the batch must be deeper than one ring's queue";
  ASSERT_OK(device_->Execute(writes));
  for (const IoOp& op : writes) ASSERT_OK(op.result);

  // Read back with the granularities swapped, so no op lines up with a write.
  AlignedBuffer in(kBytes);
  std::vector<IoOp> reads;
  AppendOps(IoKind::kRead, 0, 4 * kMiB, kIoAlign, in, 0, &reads);
  AppendOps(IoKind::kRead, 4 * kMiB, 2 * kMiB, kMaxIoBytes, in, 0, &reads);
  std::shuffle(reads.begin(), reads.end(), std::mt19937_64(seed + 1));
  ASSERT_OK(device_->Execute(reads));
  EXPECT_EQ(CheckPattern(in.span(), 0, seed), "");
  ASSERT_OK(device_->Sync());
}

TEST_P(BlockDeviceTest, BadOpsFailAloneWithInvalidArgument) {
  AlignedBuffer buffer(2 * kIoAlign);
  std::byte* const aligned = buffer.data();
  std::vector<IoOp> ops = {
      {IoKind::kWrite, 512, aligned, kIoAlign, Status()},                         // offset
      {IoKind::kWrite, 0, aligned, 100, Status()},                                // length
      {IoKind::kWrite, 0, aligned + 512, kIoAlign, Status()},                     // buffer
      {IoKind::kWrite, 0, nullptr, kIoAlign, Status()},                           // no buffer
      {IoKind::kRead, 0, aligned, 0, Status()},                                   // empty
      {IoKind::kRead, 0, aligned, kMaxIoBytes + kIoAlign, Status()},              // too long
      {IoKind::kRead, kDeviceBytes, aligned, kIoAlign, Status()},                 // past the end
      {IoKind::kRead, kDeviceBytes - kIoAlign, aligned, 2 * kIoAlign, Status()},  // straddles it
      {IoKind::kWrite, kIoAlign, aligned, kIoAlign, Status()},                    // fine
  };
  const Status first = device_->Execute(ops);
  EXPECT_EQ(first.code(), Code::kInvalidArgument) << first.ToString();
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    EXPECT_EQ(ops[i].result.code(), Code::kInvalidArgument) << "op " << i;
  }
  EXPECT_OK(ops.back().result);
}

TEST_P(BlockDeviceTest, GrowThenReadZeros) {
  ASSERT_OK(WritePattern(*device_, kDeviceBytes - kMiB, kMiB, 7));
  ASSERT_OK(device_->Grow(kDeviceBytes + 3 * kMiB));
  EXPECT_EQ(device_->SizeBytes(), kDeviceBytes + 3 * kMiB);

  Result<AlignedBuffer> grown = ReadRange(*device_, kDeviceBytes, 3 * kMiB);
  ASSERT_OK(grown.status());
  EXPECT_EQ(CheckZeros(grown->span(), kDeviceBytes), "");
  Result<AlignedBuffer> old = ReadRange(*device_, kDeviceBytes - kMiB, kMiB);
  ASSERT_OK(old.status());
  EXPECT_EQ(CheckPattern(old->span(), kDeviceBytes - kMiB, 7), "");

  ASSERT_OK(device_->Grow(kDeviceBytes + 3 * kMiB));  // same size: nothing to do
  EXPECT_EQ(device_->Grow(kDeviceBytes).code(), Code::kInvalidArgument);  // never shrinks
  EXPECT_EQ(device_->Grow(kDeviceBytes + 3 * kMiB + 512).code(), Code::kInvalidArgument);
  EXPECT_EQ(device_->SizeBytes(), kDeviceBytes + 3 * kMiB);
}

TEST_P(BlockDeviceTest, DiscardReadsZerosAndReturnsSpace) {
  ASSERT_OK(WritePattern(*device_, 0, 4 * kMiB, 9));
  ASSERT_OK(device_->Sync());
  const uint64_t allocated_before = real_file() ? AllocatedBytes() : 0;

  ASSERT_OK(device_->Discard(kMiB, 2 * kMiB));
  Result<AlignedBuffer> all = ReadRange(*device_, 0, 4 * kMiB);
  ASSERT_OK(all.status());
  EXPECT_EQ(CheckPattern(all->span().first(kMiB), 0, 9), "");
  EXPECT_EQ(CheckZeros(all->span().subspan(kMiB, 2 * kMiB), kMiB), "");
  EXPECT_EQ(CheckPattern(all->span().subspan(3 * kMiB), 3 * kMiB, 9), "");
  EXPECT_EQ(device_->SizeBytes(), kDeviceBytes);
  if (real_file()) {
    EXPECT_LE(AllocatedBytes() + 2 * kMiB, allocated_before)
        << "punching 2 MiB should free 2 MiB of the file's blocks";
  }

  EXPECT_OK(device_->Discard(0, 0));
  EXPECT_EQ(device_->Discard(512, kIoAlign).code(), Code::kInvalidArgument);
  EXPECT_EQ(device_->Discard(kDeviceBytes - kIoAlign, 2 * kIoAlign).code(), Code::kInvalidArgument);
}

TEST_P(BlockDeviceTest, ConcurrentBatchesOnDisjointRanges) {
  SCOPED_TRACE(SeedTrace());
  constexpr int kThreads = 8;
  constexpr int kRounds = 4;
  const uint64_t seed = TestSeed();
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t base = static_cast<uint64_t>(t) * 2 * kMiB;
      for (int round = 0; round < kRounds && failures[t].empty(); ++round) {
        const uint64_t round_seed = seed + static_cast<uint64_t>(t * kRounds + round);
        AlignedBuffer out(2 * kMiB);
        testing::FillPattern(out.span(), base, round_seed);
        std::vector<IoOp> ops;
        AppendOps(IoKind::kWrite, base, kMiB, kMaxIoBytes, out, base, &ops);
        AppendOps(IoKind::kWrite, base + kMiB, kMiB, 16 * kIoAlign, out, base, &ops);
        Status s = device_->Execute(ops);
        if (!s.ok()) {
          failures[t] = s.ToString();
          break;
        }
        Result<AlignedBuffer> in = ReadRange(*device_, base, 2 * kMiB);
        failures[t] = in.ok() ? CheckPattern(in->span(), base, round_seed) : in.status().ToString();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

// Reads see every write and discard that completed before them, synced or
// not, whatever the size of the read (large reads may take another path:
// the O_DIRECT descriptor beside a buffered one).
TEST_P(BlockDeviceTest, ReadsOfEverySizeSeeUnsyncedWritesAndDiscards) {
  const uint64_t base = 2 * kMiB;
  ASSERT_OK(WritePattern(*device_, base, kMiB, 7));
  for (uint64_t piece : {uint64_t{4096}, uint64_t{64 * 1024}, kMiB}) {
    for (uint64_t at = 0; at < kMiB; at += piece) {
      Result<AlignedBuffer> in = ReadRange(*device_, base + at, piece);
      ASSERT_OK(in.status());
      ASSERT_EQ(CheckPattern(in->span(), base + at, 7), "") << "piece " << piece << " at " << at;
    }
  }
  ASSERT_OK(WritePattern(*device_, base + 128 * 1024, 64 * 1024, 8));  // overwrite, no sync
  ASSERT_OK(device_->Discard(base + 512 * 1024, 128 * 1024));
  Result<AlignedBuffer> in = ReadRange(*device_, base, kMiB);
  ASSERT_OK(in.status());
  const std::span<const std::byte> all = in->span();
  EXPECT_EQ(CheckPattern(all.subspan(0, 128 * 1024), base, 7), "");
  EXPECT_EQ(CheckPattern(all.subspan(128 * 1024, 64 * 1024), base + 128 * 1024, 8), "");
  EXPECT_EQ(CheckPattern(all.subspan(192 * 1024, 320 * 1024), base + 192 * 1024, 7), "");
  EXPECT_EQ(CheckZeros(all.subspan(512 * 1024, 128 * 1024), base + 512 * 1024), "");
  EXPECT_EQ(CheckPattern(all.subspan(640 * 1024), base + 640 * 1024, 7), "");
}

TEST_P(BlockDeviceTest, DescribesItself) { EXPECT_FALSE(device_->Describe().empty()); }

INSTANTIATE_TEST_SUITE_P(
    AllDevices, BlockDeviceTest,
    ::testing::Values(DeviceParam{"UringDirect", Backend::kUring, true},
                      DeviceParam{"UringBuffered", Backend::kUring, false},
                      DeviceParam{"UringBufferedDirectReads", Backend::kUring, false, true},
                      DeviceParam{"UringBufferedInlineWrites", Backend::kUring, false, false, true},
                      DeviceParam{"PosixDirect", Backend::kPosix, true},
                      DeviceParam{"PosixBuffered", Backend::kPosix, false},
                      DeviceParam{"Mem", Backend::kMem, false},
                      DeviceParam{"FaultyOverMem", Backend::kFaultyOverMem, false}),
    [](const ::testing::TestParamInfo<DeviceParam>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace hoodyfs::blockstore
