// Encodings of the record values (docs/format.md): round trips, and the
// inode record's two formats (1 without a birth time, 2 with one).
#include "index/records.h"

#include <gtest/gtest.h>

#include <string>

namespace hoodyfs::index {
namespace {

InodeRecord SampleInode() {
  InodeRecord r;
  r.mode = 0100644;
  r.uid = 1000;
  r.gid = 100;
  r.nlink = 1;
  r.size = 5;
  r.atime = {1, 2};
  r.mtime = {3, 4};
  r.ctime = {5, 6};
  r.has_inline = true;
  r.inline_data = "hello";
  return r;
}

void ExpectSame(const InodeRecord& a, const InodeRecord& b) {
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.nlink, b.nlink);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.atime, b.atime);
  EXPECT_EQ(a.mtime, b.mtime);
  EXPECT_EQ(a.ctime, b.ctime);
  EXPECT_EQ(a.btime, b.btime);
  EXPECT_EQ(a.next_cookie, b.next_cookie);
  EXPECT_EQ(a.has_inline, b.has_inline);
  EXPECT_EQ(a.inline_data, b.inline_data);
}

TEST(InodeRecordTest, BirthTimeRoundTripsInFormatTwo) {
  InodeRecord r = SampleInode();
  r.btime = Timespec{1700000000, 123456789};
  const std::string v = r.Encode();
  EXPECT_EQ(v[0], 2);
  auto back = InodeRecord::Decode(v);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->btime.has_value());
  ExpectSame(*back, r);
}

// Records written before birth times (format 1) stay readable and report
// none; a record without one is written in format 1, byte for byte as before.
TEST(InodeRecordTest, RecordWithoutBirthTimeIsFormatOne) {
  const InodeRecord r = SampleInode();
  const std::string v = r.Encode();
  EXPECT_EQ(v[0], 1);
  // Format 1 as the previous encoder wrote it: 1 + 4*4 + 3*8 + 3*12 + 8 + 1 + 4 + data.
  EXPECT_EQ(v.size(), 1u + 16 + 24 + 36 + 8 + 1 + 4 + r.inline_data.size());
  auto back = InodeRecord::Decode(v);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->btime.has_value());
  ExpectSame(*back, r);
}

TEST(InodeRecordTest, TruncatedOrUnknownFormatsAreCorruption) {
  InodeRecord r = SampleInode();
  r.btime = Timespec{7, 8};
  std::string v = r.Encode();
  EXPECT_EQ(InodeRecord::Decode(v.substr(0, 60)).status().code(), Code::kCorruption);
  v[0] = 3;
  EXPECT_EQ(InodeRecord::Decode(v).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace hoodyfs::index
