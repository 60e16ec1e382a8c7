#include "blockstore/aligned_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {
namespace {

TEST(AlignedBufferTest, IsAlignedZeroedAndSizedForEverySize) {
  for (size_t size : {size_t{1}, size_t{4096}, size_t{4097}, size_t{kMaxIoBytes}}) {
    AlignedBuffer buffer(size);
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % kIoAlign, 0u) << size;
    EXPECT_EQ(buffer.size_bytes(), size);
    EXPECT_EQ(buffer.span().size(), size);
    for (std::byte b : buffer.span()) ASSERT_EQ(b, std::byte{0}) << size;
  }
}

TEST(AlignedBufferTest, DefaultIsEmpty) {
  AlignedBuffer buffer;
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size_bytes(), 0u);
  EXPECT_TRUE(buffer.span().empty());
}

TEST(AlignedBufferTest, MoveTransfersOwnershipAndEmptiesTheSource) {
  AlignedBuffer a(8192);
  a.data()[0] = std::byte{42};
  std::byte* const memory = a.data();

  AlignedBuffer b(std::move(a));
  EXPECT_EQ(b.data(), memory);
  EXPECT_EQ(b.size_bytes(), 8192u);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size_bytes(), 0u);

  AlignedBuffer c(4096);
  c = std::move(b);
  EXPECT_EQ(c.data(), memory);
  EXPECT_EQ(c.data()[0], std::byte{42});
  EXPECT_EQ(b.size_bytes(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace hoodyfs::blockstore
