// Tests of the metadata write-ahead log on its own: what Recover returns for
// appended records, torn and damaged tails, stale records of older epochs,
// and logs no correct store writes. KvStore's use of it is tested in
// kv_store_test.cc and kv_store_crash_test.cc.

#include "index/wal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::TempDir;

std::string Payload(const std::vector<WalEntry>& entries) {
  WalPayload p;
  for (const WalEntry& e : entries) p.Add(e.table, e.key, e.tombstone, e.value);
  return p.bytes();
}

WalEntry Put(Table t, std::string key, std::string value) {
  return WalEntry{t, false, std::move(key), std::move(value)};
}
WalEntry Del(Table t, std::string key) { return WalEntry{t, true, std::move(key), ""}; }

bool SameEntries(const std::vector<WalEntry>& a, const std::vector<WalEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].table != b[i].table || a[i].tombstone != b[i].tombstone || a[i].key != b[i].key ||
        a[i].value != b[i].value) {
      return false;
    }
  }
  return true;
}

class WalTest : public ::testing::Test {
 protected:
  std::unique_ptr<Wal> OpenWal() {
    auto wal = Wal::Open(lmdb_path_);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(*wal) : nullptr;
  }

  // Overwrites bytes of log file `file` at `offset`, as a torn or damaged
  // write would leave them.
  void Overwrite(int file, uint64_t offset, const std::string& bytes) {
    const std::string path = lmdb_path_ + "-wal" + std::to_string(file);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid()) << path;
    ASSERT_EQ(::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(bytes.size()));
  }

  TempDir dir_;
  std::string lmdb_path_ = dir_.File("meta.lmdb");
  const std::vector<WalEntry> first_ = {Put(Table::kInodes, "ino1", "record one"),
                                        Del(Table::kDirents, "gone")};
  const std::vector<WalEntry> second_ = {Put(Table::kMeta, "next", std::string(5000, 'v')),
                                         Put(Table::kInodes, "ino1", "")};
};

TEST_F(WalTest, FilesArePreallocatedSoAnAppendChangesNoSize) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  for (int i = 0; i < 2; ++i) {
    struct stat st;
    ASSERT_EQ(::stat((lmdb_path_ + "-wal" + std::to_string(i)).c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), Wal::kInitialFileBytes);
  }
  auto none = wal->Recover(0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->epoch, 0u) << "a fresh log holds no records";
}

TEST_F(WalTest, AppendedRecordsComeBackInOrderUntilTheirEpochIsCommitted) {
  {
    auto wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(wal->Append(3, Payload(first_)).ok());
    ASSERT_TRUE(wal->Append(3, Payload(second_)).ok());
    EXPECT_EQ(wal->BytesInEpoch(3),
              2 * Wal::kHeaderBytes + Payload(first_).size() + Payload(second_).size());
    EXPECT_EQ(wal->BytesInEpoch(4), 0u);
  }
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  auto live = wal->Recover(2);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->epoch, 3u);
  EXPECT_EQ(live->records, 2u);
  std::vector<WalEntry> both = first_;
  both.insert(both.end(), second_.begin(), second_.end());
  EXPECT_TRUE(SameEntries(live->entries, both));

  auto committed = wal->Recover(3);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->epoch, 0u) << "records of a committed epoch are obsolete";
}

TEST_F(WalTest, ATornLastRecordIsDroppedAndTheOnesBeforeItKept) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(wal->Append(5, Payload(first_)).ok());
  const uint64_t second_at = wal->BytesInEpoch(5);
  ASSERT_TRUE(wal->Append(5, Payload(second_)).ok());
  // A crash inside the second record's write: its tail never reached the disk.
  ASSERT_NO_FATAL_FAILURE(
      Overwrite(1, second_at + Wal::kHeaderBytes + 100, std::string(3000, '\0')));
  auto live = wal->Recover(4);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->records, 1u);
  EXPECT_TRUE(SameEntries(live->entries, first_));
}

TEST_F(WalTest, ADamagedRecordWithAWholeOneAfterItIsReportedNotSkipped) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(wal->Append(7, Payload(first_)).ok());
  ASSERT_TRUE(wal->Append(7, Payload(second_)).ok());
  // One flipped payload byte in the first record: no crash leaves that.
  ASSERT_NO_FATAL_FAILURE(Overwrite(1, Wal::kHeaderBytes + 8, "X"));
  auto live = wal->Recover(6);
  ASSERT_EQ(live.status().code(), Code::kCorruption) << live.status().ToString();
  EXPECT_NE(live.status().message().find("fails its checksum"), std::string::npos)
      << live.status().ToString();
  EXPECT_NE(live.status().message().find("-wal1"), std::string::npos) << "names the file";
  // The same damage in an epoch LMDB already holds costs nothing.
  EXPECT_TRUE(wal->Recover(7).ok());
}

TEST_F(WalTest, StaleRecordsOfAnOlderEpochAfterANewShortOneAreIgnored) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  // Epoch 3 fills file 1 with two records; epoch 5 reuses it from offset 0
  // with one short record, leaving epoch 3's bytes behind it.
  ASSERT_TRUE(wal->Append(3, Payload(second_)).ok());
  ASSERT_TRUE(wal->Append(3, Payload(second_)).ok());
  ASSERT_TRUE(wal->Append(4, Payload(first_)).ok());
  const std::vector<WalEntry> tiny = {Put(Table::kMeta, "k", "v")};
  ASSERT_TRUE(wal->Append(5, Payload(tiny)).ok());
  auto live = wal->Recover(4);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->epoch, 5u);
  EXPECT_EQ(live->records, 1u);
  EXPECT_TRUE(SameEntries(live->entries, tiny));
}

TEST_F(WalTest, TwoLiveEpochsAreCorruption) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(wal->Append(3, Payload(first_)).ok());
  ASSERT_TRUE(wal->Append(4, Payload(second_)).ok());
  // KvStore appends to epoch 4 only once epoch 3 is committed.
  auto live = wal->Recover(2);
  EXPECT_EQ(live.status().code(), Code::kCorruption) << live.status().ToString();
  auto fine = wal->Recover(3);
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(fine->epoch, 4u);
}

TEST_F(WalTest, APayloadThatDoesNotDecodeIsCorruption) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  // Checksummed but not entries: an unknown table number.
  ASSERT_TRUE(wal->Append(2, std::string("\x7f\x00\x01\x00\x00\x00k\x00\x00\x00\x00", 11)).ok());
  auto live = wal->Recover(1);
  EXPECT_EQ(live.status().code(), Code::kCorruption) << live.status().ToString();
  EXPECT_NE(live.status().message().find("unknown table"), std::string::npos)
      << live.status().ToString();
}

TEST_F(WalTest, FileDataComesBackInOrderBesideTheEntries) {
  const std::string a(4096, 'a');
  const std::string b(8192, 'b');
  const std::string c(4096, 'c');
  {
    auto wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    WalPayload p1;
    p1.Add(Table::kInodes, "ino1", false, "v1");
    p1.AddData(0, a);
    p1.AddData(4096 * 10, b);
    EXPECT_EQ(p1.data_bytes(), a.size() + b.size());
    ASSERT_TRUE(wal->Append(2, p1.bytes()).ok());
    WalPayload p2;
    p2.AddData(0, c);  // the same block again: the later one must win at replay
    p2.Add(Table::kInodes, "ino2", false, "v2");
    ASSERT_TRUE(wal->Append(2, p2.bytes()).ok());
  }
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  auto live = wal->Recover(1);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->records, 2u);
  EXPECT_TRUE(SameEntries(live->entries,
                          {Put(Table::kInodes, "ino1", "v1"), Put(Table::kInodes, "ino2", "v2")}));
  ASSERT_EQ(live->data.size(), 3u);
  EXPECT_EQ(live->data[0].offset, 0u);
  EXPECT_EQ(live->data[0].bytes, a);
  EXPECT_EQ(live->data[1].offset, 4096u * 10);
  EXPECT_EQ(live->data[1].bytes, b);
  EXPECT_EQ(live->data[2].offset, 0u);
  EXPECT_EQ(live->data[2].bytes, c);
}

TEST_F(WalTest, RecordsLargerThanTheFileGrowItAndReadBack) {
  const std::string big(3 * Wal::kInitialFileBytes, 'd');
  {
    auto wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    WalPayload p;
    p.AddData(0, big);
    ASSERT_TRUE(wal->Append(2, p.bytes()).ok());
  }
  struct stat st;
  ASSERT_EQ(::stat((lmdb_path_ + "-wal0").c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), big.size());
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  auto live = wal->Recover(1);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->data.size(), 1u);
  EXPECT_EQ(live->data[0].bytes, big);
}

TEST_F(WalTest, FileDataNotInWholeBlocksIsCorruption) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  // Kind 2 (file data), an 8-byte offset of 100, 3 bytes: no store writes that.
  std::string payload("\x00\x02\x08\x00\x00\x00", 6);
  payload += std::string("\x64\x00\x00\x00\x00\x00\x00\x00", 8);
  payload += std::string("\x03\x00\x00\x00xyz", 7);
  ASSERT_TRUE(wal->Append(2, payload).ok());
  auto live = wal->Recover(1);
  EXPECT_EQ(live.status().code(), Code::kCorruption) << live.status().ToString();
  EXPECT_NE(live.status().message().find("whole blocks"), std::string::npos)
      << live.status().ToString();
}

}  // namespace
}  // namespace hoodyfs::index
