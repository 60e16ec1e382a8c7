#include "blockstore/testing/mem_device.h"

#include <gtest/gtest.h>

#include "blockstore/testing/gtest_util.h"
#include "blockstore/testing/pattern.h"

namespace hoodyfs::blockstore::testing {
namespace {

constexpr uint64_t kSectors = 64;
constexpr uint64_t kBytes = kSectors * kIoAlign;

// Per sector of the device: 'o' old pattern, 'n' new pattern, 'z' zeros, '?' other.
std::string Sectors(MemDevice& device, uint64_t old_seed, uint64_t new_seed) {
  Result<AlignedBuffer> in = ReadRange(device, 0, device.SizeBytes());
  if (!in.ok()) return in.status().ToString();
  std::string out;
  for (uint64_t s = 0; s < device.SizeBytes() / kIoAlign; ++s) {
    const auto sector = in->span().subspan(s * kIoAlign, kIoAlign);
    const uint64_t at = s * kIoAlign;
    out += CheckPattern(sector, at, old_seed).empty()   ? 'o'
           : CheckPattern(sector, at, new_seed).empty() ? 'n'
           : CheckZeros(sector, at).empty()             ? 'z'
                                                        : '?';
  }
  return out;
}

TEST(MemDeviceTest, PowerLossDropsWritesSinceTheLastSync) {
  MemDevice device(MemDeviceOptions{kBytes});
  ASSERT_OK(WritePattern(device, 0, kBytes, 1));
  ASSERT_OK(device.Sync());
  EXPECT_EQ(device.UnsyncedSectors(), 0u);

  ASSERT_OK(WritePattern(device, 8 * kIoAlign, 4 * kIoAlign, 2));
  ASSERT_OK(device.Discard(32 * kIoAlign, 2 * kIoAlign));
  EXPECT_EQ(device.UnsyncedSectors(), 6u);
  EXPECT_EQ(Sectors(device, 1, 2),
            std::string(8, 'o') + "nnnn" + std::string(20, 'o') + "zz" + std::string(30, 'o'));

  device.SimulatePowerLoss();
  EXPECT_EQ(Sectors(device, 1, 2), std::string(kSectors, 'o'));
  EXPECT_EQ(device.UnsyncedSectors(), 0u);
}

TEST(MemDeviceTest, SyncedWritesSurvive) {
  MemDevice device(MemDeviceOptions{kBytes});
  ASSERT_OK(WritePattern(device, 0, kBytes, 2));
  ASSERT_OK(device.Sync());
  device.SimulatePowerLoss();
  EXPECT_EQ(Sectors(device, 1, 2), std::string(kSectors, 'n'));
}

TEST(MemDeviceTest, UnsyncedGrowIsLostAndSyncedGrowKept) {
  MemDevice device(MemDeviceOptions{kBytes});
  ASSERT_OK(device.Grow(2 * kBytes));
  ASSERT_OK(WritePattern(device, kBytes, kBytes, 3));
  device.SimulatePowerLoss();
  EXPECT_EQ(device.SizeBytes(), kBytes);

  ASSERT_OK(device.Grow(2 * kBytes));
  ASSERT_OK(device.Sync());
  device.SimulatePowerLoss();
  EXPECT_EQ(device.SizeBytes(), 2 * kBytes);
}

TEST(MemDeviceTest, TornPowerLossKeepsWholeSectorsOfEitherVersion) {
  SCOPED_TRACE(SeedTrace());
  MemDevice device(MemDeviceOptions{kBytes});
  ASSERT_OK(WritePattern(device, 0, kBytes, 1));
  ASSERT_OK(device.Sync());
  ASSERT_OK(WritePattern(device, 0, kBytes, 2));
  device.SimulatePowerLoss(TestSeed());
  const std::string sectors = Sectors(device, 1, 2);
  EXPECT_EQ(sectors.find_first_not_of("on"), std::string::npos) << sectors;
  // 64 fair coin tosses: all alike has odds 2^-63.
  EXPECT_NE(sectors.find('o'), std::string::npos) << sectors;
  EXPECT_NE(sectors.find('n'), std::string::npos) << sectors;

  // The same seed tears the same way.
  MemDevice again(MemDeviceOptions{kBytes});
  ASSERT_OK(WritePattern(again, 0, kBytes, 1));
  ASSERT_OK(again.Sync());
  ASSERT_OK(WritePattern(again, 0, kBytes, 2));
  again.SimulatePowerLoss(TestSeed());
  EXPECT_EQ(Sectors(again, 1, 2), sectors);
}

TEST(MemDeviceTest, GrowPastCapacityIsNoSpaceAndKeepsTheSize) {
  MemDevice device(MemDeviceOptions{kBytes, 2 * kBytes});
  const Status s = device.Grow(3 * kBytes);
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_EQ(device.SizeBytes(), kBytes);
  EXPECT_OK(device.Grow(2 * kBytes));
}

}  // namespace
}  // namespace hoodyfs::blockstore::testing
