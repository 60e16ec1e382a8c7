// Scrubber on a real store (LMDB, the data file through the store's device):
// bytes flipped in the data file under chosen files are found, each damaged
// block names exactly the heads and frozen generations that read it and the
// file's paths there, and an undamaged store reports nothing.
#include "snapshotter/engine/scrub.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>

#include "base/testing/data_file_blocks.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

class ScrubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    StoreOptions options;
    options.flush_interval_ms = 0;
    store_ = Store::Open(dir_.File("store"), std::move(options)).value();
    ASSERT_TRUE(store_->CreateContainer("c").ok());
  }
  void TearDown() override {
    Status s = store_->CheckInvariants();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  FileSystem Head(const std::string& container) { return store_->Head(container).value(); }
  GenId HeadGen(const std::string& container) { return Head(container).Generation().value(); }

  Ino Put(FileSystem& fs, const std::string& name, const std::string& data) {
    auto found = fs.Lookup(kRootIno, name);
    Ino ino = found.ok() ? found->ino : fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {}).value().ino;
    EXPECT_TRUE(fs.Write(ino, 0, data).ok());
    return ino;
  }

  // A block of `fill` bytes with a tag at its start, so every test block is
  // found in the data file once.
  static std::string Block(char fill, const std::string& tag) {
    std::string b(kBlockSize, fill);
    b.replace(0, tag.size(), tag);
    return b;
  }

  // Flips one byte inside the data file's block holding `content` (a whole
  // block of a file); returns the block number.
  uint64_t Damage(const std::string& content) {
    const std::vector<uint64_t> blocks = testing::BlocksHolding(dir_.File("store/data"), content);
    EXPECT_EQ(blocks.size(), 1u) << "the content is in one block";
    if (blocks.empty()) return 0;
    EXPECT_TRUE(testing::FlipByte(dir_.File("store/data"), blocks[0] * kBlockSize + 100));
    return blocks[0];
  }

  ScrubReport Scrub(ScrubOptions options = {}) {
    Result<ScrubReport> r = Scrubber(*store_).Run(options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *std::move(r) : ScrubReport{};
  }

  // (generation, paths, offset) of every holder of the one damaged block.
  static std::set<std::tuple<uint64_t, std::vector<std::string>, uint64_t>> Holders(
      const DamagedBlock& d) {
    std::set<std::tuple<uint64_t, std::vector<std::string>, uint64_t>> out;
    for (const BlockHolder& h : d.holders) out.insert({h.gen.value, h.paths, h.offset});
    return out;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
};

TEST_F(ScrubTest, AnUndamagedStoreReadsEveryBlockOnceAndFindsNothing) {
  FileSystem fs = Head("c");
  Put(fs, "a", Block('a', "a0") + Block('a', "a1"));
  ASSERT_TRUE(store_->Freeze("c").ok());
  ASSERT_TRUE(store_->Freeze("c").ok());  // both snapshots share a's blocks
  FileSystem head = Head("c");
  Put(head, "b", Block('b', "b0"));
  const ScrubReport r = Scrub();
  EXPECT_TRUE(r.damaged.empty());
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.progress.blocks_checked, 3u);  // each physical block once
  EXPECT_EQ(r.progress.blocks_total, 3u);
  EXPECT_GE(r.progress.bytes_read, 3u * kBlockSize);
}

// (a) A file only in the head: the head alone holds the block.
TEST_F(ScrubTest, AHeadOnlyFileNamesTheHead) {
  FileSystem fs = Head("c");
  const Ino ino = Put(fs, "only-head", Block('h', "h0") + Block('h', "h1"));
  Put(fs, "fine", Block('f', "f0"));
  const uint64_t block = Damage(Block('h', "h1"));
  const ScrubReport r = Scrub();
  ASSERT_EQ(r.damaged.size(), 1u);
  EXPECT_EQ(r.damaged[0].block.value, block);
  EXPECT_NE(r.damaged[0].why.find("checksum mismatch"), std::string::npos) << r.damaged[0].why;
  ASSERT_EQ(r.damaged[0].holders.size(), 1u);
  const BlockHolder& h = r.damaged[0].holders[0];
  EXPECT_EQ(h.gen, HeadGen("c"));
  EXPECT_EQ(h.ino, ino);
  EXPECT_EQ(h.offset, uint64_t{kBlockSize});
  EXPECT_EQ(h.paths, std::vector<std::string>{"/only-head"});
  // Reading the damaged block fails (EIO at the FUSE boundary); the rest reads.
  std::string buf(kBlockSize, '\0');
  Result<size_t> bad = fs.Read(ino, kBlockSize, buf);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  ASSERT_TRUE(fs.Read(ino, 0, buf).ok());
  EXPECT_EQ(buf, Block('h', "h0"));
}

// (b) A file shared by several snapshots: every snapshot that still reads
// the block is named, and none that rewrote it (nor the head after).
TEST_F(ScrubTest, ASharedFileNamesEverySnapshotThatReadsTheBlock) {
  FileSystem fs = Head("c");
  const Ino ino = Put(fs, "shared", Block('s', "s0") + Block('s', "s1"));
  ASSERT_TRUE(fs.Mkdir(kRootIno, "d", 0755, {}).ok());
  ASSERT_TRUE(fs.Link(ino, fs.Lookup(kRootIno, "d")->ino, "hard").ok());
  const GenId s1 = store_->Freeze("c").value();
  const GenId s2 = store_->Freeze("c").value();
  FileSystem head = Head("c");
  ASSERT_TRUE(head.Write(ino, 0, Block('n', "new0")).ok());  // s3 and the head move away
  const GenId s3 = store_->Freeze("c").value();
  const uint64_t block = Damage(Block('s', "s0"));
  Damage(Block('s', "s1"));  // read by all four
  const ScrubReport r = Scrub();
  ASSERT_EQ(r.damaged.size(), 2u);
  const std::vector<std::string> both = {"/d/hard", "/shared"};
  const DamagedBlock& first = r.damaged[0].block.value == block ? r.damaged[0] : r.damaged[1];
  const DamagedBlock& second = r.damaged[0].block.value == block ? r.damaged[1] : r.damaged[0];
  using H = std::tuple<uint64_t, std::vector<std::string>, uint64_t>;
  EXPECT_EQ(Holders(first), (std::set<H>{{s1.value, both, 0}, {s2.value, both, 0}}));
  EXPECT_EQ(Holders(second), (std::set<H>{{s1.value, both, kBlockSize},
                                          {s2.value, both, kBlockSize},
                                          {s3.value, both, kBlockSize},
                                          {HeadGen("c").value, both, kBlockSize}}));
  // The head reads its new block 0 fine and the shared block 1 not.
  std::string buf(kBlockSize, '\0');
  ASSERT_TRUE(Head("c").Read(ino, 0, buf).ok());
  EXPECT_EQ(Head("c").Read(ino, kBlockSize, buf).status().code(), Code::kCorruption);
  FileSystem past = store_->AtGeneration(s1).value();
  EXPECT_EQ(past.Read(ino, 0, buf).status().code(), Code::kCorruption);
}

// (c) Two files in two containers (one a copy of the other's snapshot):
// only the damaged file's container is named, under its own name there.
TEST_F(ScrubTest, OneOfTwoFilesInDifferentContainersNamesOnlyItsContainer) {
  FileSystem fs = Head("c");
  Put(fs, "base", Block('b', "base0"));
  const GenId snap = store_->Freeze("c").value();
  ASSERT_TRUE(store_->CreateContainer("copy", snap).ok());
  FileSystem c = Head("c");
  FileSystem copy = Head("copy");
  Put(c, "mine", Block('m', "c-mine"));
  Put(copy, "mine", Block('m', "copy-mine"));
  ASSERT_TRUE(copy.Rename(kRootIno, "base", kRootIno, "renamed").ok());
  Damage(Block('m', "copy-mine"));
  const ScrubReport r = Scrub();
  ASSERT_EQ(r.damaged.size(), 1u);
  using H = std::tuple<uint64_t, std::vector<std::string>, uint64_t>;
  EXPECT_EQ(Holders(r.damaged[0]),
            (std::set<H>{{HeadGen("copy").value, std::vector<std::string>{"/mine"}, 0}}));
  // The shared base block, damaged too: the snapshot, c's head, and the
  // copy's head under the name it has there.
  Damage(Block('b', "base0"));
  const ScrubReport again = Scrub();
  ASSERT_EQ(again.damaged.size(), 2u);
  for (const DamagedBlock& d : again.damaged) {
    if (d.holders.size() == 1) continue;  // copy's "mine", as before
    EXPECT_EQ(Holders(d),
              (std::set<H>{{snap.value, std::vector<std::string>{"/base"}, 0},
                           {HeadGen("c").value, std::vector<std::string>{"/base"}, 0},
                           {HeadGen("copy").value, std::vector<std::string>{"/renamed"}, 0}}));
  }
}

// Small batches (down to one block each) read the same blocks and find the
// same damage; a cancel stops between batches.
TEST_F(ScrubTest, BatchSizeDoesNotChangeTheResultAndCancelStops) {
  FileSystem fs = Head("c");
  std::string big;
  for (int i = 0; i < 40; ++i) big += Block('x', "x" + std::to_string(i));
  Put(fs, "big", big);
  for (int i = 0; i < 5; ++i) Put(fs, "f" + std::to_string(i), Block('f', "f" + std::to_string(i)));
  Damage(Block('x', "x17"));
  Damage(Block('f', "f3"));
  for (uint32_t batch : {1u, 3u, 16u, 2048u}) {
    ScrubOptions options;
    options.batch_blocks = batch;
    uint64_t calls = 0;
    options.progress = [&](const ScrubProgress&) { ++calls; };
    const ScrubReport r = Scrub(options);
    EXPECT_EQ(r.progress.blocks_checked, 45u) << batch;
    ASSERT_EQ(r.damaged.size(), 2u) << batch;
    EXPECT_EQ(r.damaged[0].holders.at(0).paths, std::vector<std::string>{"/big"});
    EXPECT_EQ(r.damaged[0].holders.at(0).offset, 17u * kBlockSize);
    EXPECT_EQ(r.damaged[1].holders.at(0).paths, std::vector<std::string>{"/f3"});
    if (batch == 1) {
      EXPECT_EQ(calls, 45u);
    }
  }
  std::atomic<bool> cancel{false};
  ScrubOptions options;
  options.batch_blocks = 4;
  options.cancel = &cancel;
  options.progress = [&](const ScrubProgress&) { cancel.store(true); };
  const ScrubReport r = Scrub(options);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.progress.blocks_checked, 4u);
}

// A block freed and reused while the scrub runs is no damage: writers go
// on beside the scrub (each batch re-reads the records; mismatches are
// confirmed against the current record).
TEST_F(ScrubTest, RewritesDuringTheScrubAreNoDamage) {
  FileSystem fs = Head("c");
  std::vector<Ino> files;
  for (int i = 0; i < 24; ++i) {
    files.push_back(Put(fs, "f" + std::to_string(i), Block('r', "r" + std::to_string(i))));
  }
  ScrubOptions options;
  options.batch_blocks = 2;
  int round = 0;
  // Between batches (on the scrub's thread): rewrite files, so blocks are
  // freed and reused under the scrub's feet; flushing releases them.
  options.progress = [&](const ScrubProgress&) {
    if (round == 6) return;  // enough: each round costs a synced commit
    for (int k = 0; k < 4; ++k) {
      const Ino ino = files[static_cast<size_t>((round * 4 + k) % 24)];
      EXPECT_TRUE(fs.Write(ino, 0, Block('w', "w" + std::to_string(round * 4 + k))).ok());
    }
    EXPECT_TRUE(store_->Flush().ok());
    ++round;
  };
  const ScrubReport r = Scrub(options);
  EXPECT_TRUE(r.damaged.empty()) << r.damaged.size() << " " << r.damaged[0].why;
}

}  // namespace
}  // namespace hoodyfs::snapshotter
