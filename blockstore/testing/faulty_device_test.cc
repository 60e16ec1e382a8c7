#include "blockstore/testing/faulty_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "blockstore/checksum.h"
#include "blockstore/posix_device.h"
#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/mem_device.h"
#include "blockstore/testing/pattern.h"

namespace hoodyfs::blockstore::testing {
namespace {
using ::hoodyfs::testing::TempDir;

constexpr uint64_t kSectors = 16;
constexpr uint64_t kBytes = kSectors * kIoAlign;

// Writes sector i of the device as op i of one batch, pattern `seed`.
Status WriteSectors(BlockDevice& device, uint64_t seed, std::vector<IoOp>* ops,
                    AlignedBuffer* buffer) {
  *buffer = AlignedBuffer(kBytes);
  FillPattern(buffer->span(), 0, seed);
  ops->clear();
  for (uint64_t i = 0; i < kSectors; ++i) {
    ops->push_back(
        IoOp{IoKind::kWrite, i * kIoAlign, buffer->data() + i * kIoAlign, kIoAlign, Status()});
  }
  return device.Execute(*ops);
}

// Per sector: 'o' pattern old_seed, 'n' pattern new_seed, '?' other.
std::string Sectors(BlockDevice& device, uint64_t old_seed, uint64_t new_seed) {
  Result<AlignedBuffer> in = ReadRange(device, 0, kBytes);
  if (!in.ok()) return in.status().ToString();
  std::string out;
  for (uint64_t s = 0; s < kSectors; ++s) {
    const auto sector = in->span().subspan(s * kIoAlign, kIoAlign);
    out += CheckPattern(sector, s * kIoAlign, old_seed).empty()   ? 'o'
           : CheckPattern(sector, s * kIoAlign, new_seed).empty() ? 'n'
                                                                  : '?';
  }
  return out;
}

class FaultyDeviceTest : public ::testing::Test {
 protected:
  // Fills the device with pattern 1, synced, then installs `plan`.
  void Start(const FaultPlan& plan) {
    ASSERT_OK(WritePattern(faulty_, 0, kBytes, 1));
    ASSERT_OK(faulty_.Sync());
    faulty_.SetPlan(plan);
  }

  MemDevice mem_{MemDeviceOptions{kBytes}};
  FaultyDevice faulty_{mem_, FaultPlan{}};
  std::vector<IoOp> ops_;
  AlignedBuffer buffer_;
};

TEST_F(FaultyDeviceTest, FailsTheNthWriteAlone) {
  FaultPlan plan;
  plan.fail_write_n = 3;
  Start(plan);
  const Status s = WriteSectors(faulty_, 2, &ops_, &buffer_);
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_EQ(ops_[2].result.code(), Code::kIoError);
  EXPECT_EQ(Sectors(mem_, 1, 2), "nnonnnnnnnnnnnnn");
  ASSERT_EQ(faulty_.Log().size(), 1u);
  EXPECT_EQ(faulty_.Log()[0], "failed write #3 (write of 4096 bytes at offset 8192)");
}

TEST_F(FaultyDeviceTest, NoSpaceFromTheNthWriteUntilCleared) {
  FaultPlan plan;
  plan.no_space_from_write_n = 5;
  Start(plan);
  const Status s = WriteSectors(faulty_, 2, &ops_, &buffer_);
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  for (size_t i = 0; i < ops_.size(); ++i) {
    EXPECT_EQ(ops_[i].result.code(), i < 4 ? Code::kOk : Code::kNoSpace) << i;
  }
  EXPECT_EQ(Sectors(mem_, 1, 2), "nnnnoooooooooooo");
  EXPECT_EQ(faulty_.Log().size(), 12u);

  faulty_.ClearNoSpace();
  EXPECT_OK(WriteSectors(faulty_, 2, &ops_, &buffer_));
  EXPECT_EQ(Sectors(mem_, 1, 2), std::string(kSectors, 'n'));
}

TEST_F(FaultyDeviceTest, TornWriteStoresAPrefixAndFails) {
  SCOPED_TRACE(SeedTrace());
  FaultPlan plan;
  plan.seed = TestSeed();
  plan.torn_write_n = 1;
  Start(plan);
  const Status s = WritePattern(faulty_, 0, kBytes, 2);  // one 16-sector op
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  const std::string sectors = Sectors(mem_, 1, 2);
  const size_t kept = sectors.find('o');
  ASSERT_NE(kept, std::string::npos) << "a torn write never stores the whole op: " << sectors;
  EXPECT_EQ(sectors, std::string(kept, 'n') + std::string(kSectors - kept, 'o'));
  ASSERT_EQ(faulty_.Log().size(), 1u);
  EXPECT_NE(faulty_.Log()[0].find("after " + std::to_string(kept) + " of 16 sectors"),
            std::string::npos)
      << faulty_.Log()[0];
}

TEST_F(FaultyDeviceTest, FlipsABitOfTheNthReadAndChecksumsCatchIt) {
  SCOPED_TRACE(SeedTrace());
  std::vector<uint64_t> sums(kSectors);
  FaultPlan plan;
  plan.seed = TestSeed();
  plan.flip_read_n = 2;
  Start(plan);
  Result<AlignedBuffer> clean = ReadRange(faulty_, 0, kBytes);
  ASSERT_OK(clean.status());
  ChecksumBlocks(clean->data(), sums);
  Result<AlignedBuffer> flipped = ReadRange(faulty_, 0, kBytes);
  ASSERT_OK(flipped.status());

  ::testing::internal::CaptureStderr();
  const Status s = VerifyBlocks(flipped->data(), sums, 1000);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  ASSERT_EQ(faulty_.Log().size(), 1u);
  EXPECT_NE(faulty_.Log()[0].find("in read #2"), std::string::npos) << faulty_.Log()[0];
  // The device itself still holds the right bytes.
  EXPECT_EQ(Sectors(mem_, 1, 2), std::string(kSectors, 'o'));
}

TEST_F(FaultyDeviceTest, FlipsABitInEveryReadOfAnOffset) {
  FaultPlan plan;
  plan.flip_read_offset_bytes = 5 * kIoAlign + 100;
  Start(plan);
  std::vector<uint64_t> sums(kSectors);
  Result<AlignedBuffer> before = ReadRange(mem_, 0, kBytes);
  ASSERT_OK(before.status());
  ChecksumBlocks(before->data(), sums);
  for (int i = 0; i < 2; ++i) {
    Result<AlignedBuffer> in = ReadRange(faulty_, 0, kBytes);
    ASSERT_OK(in.status());
    ::testing::internal::CaptureStderr();
    const Status s = VerifyBlocks(in->data(), sums, 0);
    ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_NE(s.message().find("block 5:"), std::string::npos) << s.message();
  }
  // A read that does not cover the offset is untouched.
  Result<AlignedBuffer> other = ReadRange(faulty_, 0, 4 * kIoAlign);
  ASSERT_OK(other.status());
  EXPECT_EQ(CheckPattern(other->span(), 0, 1), "");
  EXPECT_EQ(faulty_.Log().size(), 2u);
}

TEST_F(FaultyDeviceTest, FailedSyncKeepsWritesUndoable) {
  FaultPlan plan;
  plan.fail_sync_n = 1;
  Start(plan);
  ASSERT_OK(WritePattern(faulty_, 0, kBytes, 2));
  EXPECT_EQ(faulty_.Sync().code(), Code::kIoError);
  ASSERT_OK(faulty_.PowerLoss());
  EXPECT_EQ(Sectors(mem_, 1, 2), std::string(kSectors, 'o'));
  const std::vector<std::string> log = faulty_.Log();
  EXPECT_EQ(log, (std::vector<std::string>{"failed sync #1", "power loss"}));
}

TEST_F(FaultyDeviceTest, PowerLossRestoresTheLastSyncedBytes) {
  Start(FaultPlan{});
  ASSERT_OK(WritePattern(faulty_, 0, kBytes, 2));
  ASSERT_OK(faulty_.Sync());
  ASSERT_OK(WritePattern(faulty_, 0, kBytes / 2, 3));  // overwritten twice since the sync:
  ASSERT_OK(WritePattern(faulty_, 0, kBytes, 4));      // the oldest pre-image must win
  ASSERT_OK(faulty_.Discard(kBytes - kIoAlign, kIoAlign));
  ASSERT_OK(faulty_.PowerLoss());
  EXPECT_EQ(Sectors(mem_, 1, 2), std::string(kSectors, 'n'));
  // Restored state is durable on the wrapped device.
  mem_.SimulatePowerLoss();
  EXPECT_EQ(Sectors(mem_, 1, 2), std::string(kSectors, 'n'));
}

TEST_F(FaultyDeviceTest, TornPowerLossKeepsWholeSectorsOfEitherVersion) {
  SCOPED_TRACE(SeedTrace());
  Start(FaultPlan{});
  ASSERT_OK(WritePattern(faulty_, 0, kBytes, 5));
  ASSERT_OK(WritePattern(faulty_, 0, kBytes, 2));
  ASSERT_OK(faulty_.PowerLoss(TestSeed()));
  const std::string sectors = Sectors(mem_, 1, 2);
  EXPECT_EQ(sectors.find_first_not_of("on"), std::string::npos) << sectors;
}

TEST_F(FaultyDeviceTest, OneInNFailuresAreSeededAndLogged) {
  SCOPED_TRACE(SeedTrace());
  FaultPlan plan;
  plan.seed = TestSeed();
  plan.write_error_one_in = 4;
  plan.read_error_one_in = 4;
  Start(plan);
  int failed = 0;
  for (int round = 0; round < 8; ++round) {
    WriteSectors(faulty_, 2, &ops_, &buffer_).IgnoreError();  // counted per op below
    for (const IoOp& op : ops_) failed += op.result.ok() ? 0 : 1;
    AlignedBuffer in(kIoAlign);
    IoOp read{IoKind::kRead, 0, in.data(), kIoAlign, Status()};
    failed += faulty_.Execute(std::span<IoOp>(&read, 1)).ok() ? 0 : 1;
  }
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 8 * 17);
  EXPECT_EQ(faulty_.Log().size(), static_cast<size_t>(failed));
}

TEST(FaultyDeviceOverFileTest, PowerLossWorksOverARealFile) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_OK(dir.status());
  UniqueFd fd(::open(dir->File("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  Result<std::unique_ptr<PosixDevice>> file = PosixDevice::Create(std::move(fd), {});
  ASSERT_OK(file.status());
  FaultyDevice faulty(std::move(file).value(), FaultPlan{});
  ASSERT_OK(faulty.Grow(kBytes));
  ASSERT_OK(WritePattern(faulty, 0, kBytes, 1));
  ASSERT_OK(faulty.Sync());
  ASSERT_OK(WritePattern(faulty, 0, kBytes, 2));
  EXPECT_EQ(Sectors(faulty, 1, 2), std::string(kSectors, 'n'));
  ASSERT_OK(faulty.PowerLoss());
  EXPECT_EQ(Sectors(faulty, 1, 2), std::string(kSectors, 'o'));
  EXPECT_NE(faulty.Describe().find("fault injection over pread/pwrite"), std::string::npos);
}

}  // namespace
}  // namespace hoodyfs::blockstore::testing
