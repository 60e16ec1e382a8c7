#include "base/coding.h"

#include <gtest/gtest.h>

namespace hoodyfs {
namespace {

TEST(CodingTest, BigEndianSortsNumerically) {
  std::string a, b;
  PutBig64(&a, 255);
  PutBig64(&b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(GetBig64(a.data()), 255u);
  EXPECT_EQ(GetBig64(b.data()), 256u);
}

TEST(CodingTest, DecoderFlagsShortInput) {
  std::string v;
  PutLe64(&v, 7);
  PutLe32(&v, 9);
  Decoder d(v);
  EXPECT_EQ(d.Le64(), 7u);
  EXPECT_EQ(d.Le32(), 9u);
  EXPECT_TRUE(d.done());
  d.Le32();
  EXPECT_FALSE(d.ok());
}

}  // namespace
}  // namespace hoodyfs
