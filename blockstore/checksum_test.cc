#include "blockstore/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/types.h"
#include "blockstore/aligned_buffer.h"

namespace hoodyfs::blockstore {
namespace {

// Checksums are stored on disk: these values must never change.
TEST(ChecksumTest, MatchesPinnedXxh3Values) {
  AlignedBuffer block(kBlockSize);
  EXPECT_EQ(BlockChecksum(block.data()), 0x93d76fe148c689baULL);
  for (size_t i = 0; i < kBlockSize; ++i) block.data()[i] = static_cast<std::byte>(i % 251);
  EXPECT_EQ(BlockChecksum(block.data()), 0x7135ffa504f1bc71ULL);
}

class VerifyBlocksTest : public ::testing::Test {
 protected:
  static constexpr size_t kBlocks = 8;
  void SetUp() override {
    for (size_t i = 0; i < data_.size_bytes(); ++i) {
      data_.data()[i] = static_cast<std::byte>((i * 7) ^ (i >> 12));
    }
    ChecksumBlocks(data_.data(), sums_);
  }
  AlignedBuffer data_{kBlocks * kBlockSize};
  std::vector<uint64_t> sums_ = std::vector<uint64_t>(kBlocks);
};

TEST_F(VerifyBlocksTest, AcceptsIntactBlocks) {
  for (size_t i = 0; i < kBlocks; ++i) {
    EXPECT_EQ(sums_[i], BlockChecksum(data_.data() + i * kBlockSize));
  }
  const Status s = VerifyBlocks(data_.data(), sums_, 100);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(VerifyBlocksTest, FlippedBitIsCorruptionNamingBlockAndChecksums) {
  data_.data()[3 * kBlockSize + 17] ^= std::byte{0x10};
  const uint64_t actual = BlockChecksum(data_.data() + 3 * kBlockSize);
  char expected_hex[17];
  char actual_hex[17];
  std::snprintf(expected_hex, sizeof(expected_hex), "%016llx",
                static_cast<unsigned long long>(sums_[3]));
  std::snprintf(actual_hex, sizeof(actual_hex), "%016llx", static_cast<unsigned long long>(actual));

  ::testing::internal::CaptureStderr();
  const Status s = VerifyBlocks(data_.data(), sums_, 100);
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.ErrnoValue(), EIO);
  EXPECT_NE(s.message().find("block 103"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(expected_hex), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(actual_hex), std::string::npos) << s.message();
  EXPECT_NE(log.find("hoodyfs: error: checksum mismatch at block 103"), std::string::npos) << log;
}

TEST_F(VerifyBlocksTest, WrongExpectedValueIsCorruptionToo) {
  sums_[0] ^= 1;
  ::testing::internal::CaptureStderr();
  const Status s = VerifyBlocks(data_.data(), sums_, 0);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("block 0"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace hoodyfs::blockstore
