// FileSystem::MakeWholeFile: a regular file made in one change with its data,
// size, mode, owner, xattrs and times; inline and block-sized; the errors that
// leave nothing behind; durability across a reopen and a frozen generation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/testing/temp_dir.h"
#include "blockstore/aligned_buffer.h"
#include "index/schema.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

using index::Timespec;
using Xattrs = std::vector<std::pair<std::string, std::string>>;

class WholeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    Open();
    ASSERT_TRUE(store_->CreateContainer("c1").ok());
    fs_.emplace(store_->Head("c1").value());
  }
  void TearDown() override {
    if (store_) {
      Status s = store_->CheckInvariants();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  void Open() {
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void Reopen() {
    ASSERT_TRUE(store_->Sync().ok());
    fs_.reset();
    store_.reset();
    Open();
    fs_.emplace(store_->Head("c1").value());
  }
  // A file of `data` and `size` with every attribute set to a value that
  // no default would give. The spec points at `data`: it must outlive the
  // spec (a literal does; a temporary std::string did not, ASan saw it).
  WholeFile Spec(std::string_view data, uint64_t size) {
    WholeFile f;
    f.mode = 04751;
    f.owner = Owner{1234, 5678};
    f.data = std::span<const char>(data.data(), data.size());
    f.size = size;
    f.atime = Timespec{1000000001, 11};
    f.mtime = Timespec{1000000002, 22};
    f.xattrs = xattrs_;
    return f;
  }
  std::string ReadAll(Ino ino) {
    auto attr = fs_->GetAttr(ino);
    EXPECT_TRUE(attr.ok());
    std::string out(attr->size, '\x55');
    auto n = fs_->Read(ino, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  // The file `name` in the root has everything Spec(data, size) gave it.
  void ExpectWhole(const std::string& name, const std::string& data, uint64_t size) {
    auto e = fs_->Lookup(kRootIno, name);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    const Attr& a = e->attr;
    EXPECT_EQ(a.mode, S_IFREG | 04751u);
    EXPECT_EQ(a.uid, 1234u);
    EXPECT_EQ(a.gid, 5678u);
    EXPECT_EQ(a.nlink, 1u);
    EXPECT_EQ(a.size, size);
    EXPECT_EQ(a.atime.sec, 1000000001);
    EXPECT_EQ(a.atime.nsec, 11);
    EXPECT_EQ(a.mtime.sec, 1000000002);
    EXPECT_EQ(a.mtime.nsec, 22);
    EXPECT_GT(a.ctime.sec, 1000000002);  // now, not a given time
    std::string want = data;
    want.resize(size, '\0');
    const std::string got = ReadAll(e->ino);
    EXPECT_TRUE(got == want) << "contents of '" << name << "' differ (sizes " << got.size()
                             << " and " << want.size() << ")";
    for (const auto& [xname, value] : xattrs_) {
      auto v = fs_->GetXattr(e->ino, xname);
      ASSERT_TRUE(v.ok()) << xname << ": " << v.status().ToString();
      EXPECT_EQ(*v, value);
    }
    EXPECT_EQ(fs_->ListXattr(e->ino).value().size(), xattrs_.size());
  }
  static std::string Pattern(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 4096);
    return s;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
  Xattrs xattrs_{{"user.a", "one"}, {"user.b", std::string(300, 'b')}, {"trusted.c", ""}};
};

TEST_F(WholeFileTest, MakesInlineAndBlockFilesWholeAndTheyStayAfterAReopen) {
  const std::vector<std::pair<std::string, uint64_t>> files = {
      {"", 0},                                                                 // empty
      {Pattern(200, 'a'), 200},                                                // inline
      {Pattern(index::kInlineMaxBytes, 'b'), index::kInlineMaxBytes},          // the largest inline
      {Pattern(index::kInlineMaxBytes + 1, 'c'), index::kInlineMaxBytes + 1},  // one block
      {Pattern(4096, 'd'), 4096},                                              // exactly a block
      {Pattern(3 * 4096 + 5, 'e'), 3 * 4096 + 5},  // several, a partial last block
      {Pattern(kWholeFileMaxDataBytes, 'f'), kWholeFileMaxDataBytes},  // the most data
      {Pattern(100, 'g'), 1000},                                       // inline, zeros to the size
      {Pattern(5000, 'h'), 3 * 1024 * 1024},                           // data, then a trailing hole
      {"", 10 * 4096},                                                 // all hole
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [data, size] = files[i];
    auto made = fs_->MakeWholeFile(kRootIno, "f" + std::to_string(i), Spec(data, size));
    ASSERT_TRUE(made.ok()) << i << ": " << made.status().ToString();
    EXPECT_EQ(made->attr.size, size);
    // st_blocks counts the data's blocks, never the hole's.
    if (size > index::kInlineMaxBytes) {
      EXPECT_EQ(made->attr.blocks_512, (data.size() + 4095) / 4096 * 8) << i;
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectWhole("f" + std::to_string(i), files[i].first, files[i].second);
  }
  Reopen();
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectWhole("f" + std::to_string(i), files[i].first, files[i].second);
  }
}

TEST_F(WholeFileTest, ABlockBufferReusedForASmallerFileLeavesNoStaleBytes) {
  // The pooled staging buffer held 'x's from the larger file: the smaller
  // file's last block must read as zeros past its data once the size grows.
  const std::string big(3 * 4096, 'x');
  ASSERT_TRUE(fs_->MakeWholeFile(kRootIno, "big", Spec(big, big.size())).ok());
  const std::string small = Pattern(2000, 's');
  auto made = fs_->MakeWholeFile(kRootIno, "small", Spec(small, small.size()));
  ASSERT_TRUE(made.ok());
  // Grows the inline file into a block and past it.
  const std::string mid = Pattern(2100, 'm');
  auto third = fs_->MakeWholeFile(kRootIno, "mid", Spec(mid, 8192));
  ASSERT_TRUE(third.ok());
  std::string want = mid;
  want.resize(8192, '\0');
  EXPECT_EQ(ReadAll(third->ino), want);
  SetAttrRequest grow;
  grow.size = 4096;
  ASSERT_TRUE(fs_->SetAttr(made->ino, grow).ok());
  std::string want_small = small;
  want_small.resize(4096, '\0');
  EXPECT_EQ(ReadAll(made->ino), want_small);
}

TEST_F(WholeFileTest, TakesTheChosenInodeNumberAndMovesTheParentsTimes) {
  ASSERT_TRUE(fs_->Mkdir(kRootIno, "d", 0755, {}).ok());
  const Ino dir = fs_->Lookup(kRootIno, "d").value().ino;
  const Attr before = fs_->GetAttr(dir).value();
  WholeFile f = Spec("data", 4);
  f.ino = Ino(777);
  auto made = fs_->MakeWholeFile(dir, "x", f);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->ino, Ino(777));
  EXPECT_EQ(fs_->Lookup(dir, "x").value().ino, Ino(777));
  const Attr after = fs_->GetAttr(dir).value();
  EXPECT_GE(after.mtime.sec, before.mtime.sec);
  EXPECT_EQ(after.nlink, before.nlink);  // a file adds no link to its directory
  // The next plain create goes past the chosen number.
  auto next = fs_->Mknod(kRootIno, "y", S_IFREG | 0644, 0, {});
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->ino.value, 777u);
}

TEST_F(WholeFileTest, RefusesWhatItCannotMakeAndLeavesNothingBehind) {
  ASSERT_TRUE(fs_->MakeWholeFile(kRootIno, "taken", Spec("first", 5)).ok());
  const uint64_t used_before = store_->used_blocks();
  const uint64_t files_before = fs_->StatFs().value().files;
  const std::string block = Pattern(9000, 'z');

  // The name exists: the old file stays as it was, no block is kept.
  auto again = fs_->MakeWholeFile(kRootIno, "taken", Spec(block, block.size()));
  EXPECT_EQ(again.status().code(), Code::kExists);
  EXPECT_EQ(ReadAll(fs_->Lookup(kRootIno, "taken").value().ino), "first");

  // The chosen inode number exists.
  WholeFile f = Spec(block, block.size());
  f.ino = fs_->Lookup(kRootIno, "taken").value().ino;
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", f).status().code(), Code::kExists);
  f.ino = kRootIno;
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", f).status().code(), Code::kInvalidArgument);

  // Data longer than the size, or more than one call takes.
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec(block, 10)).status().code(),
            Code::kInvalidArgument);
  const std::string huge(kWholeFileMaxDataBytes + 1, 'h');
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec(huge, huge.size())).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec("", kMaxFileBytes + 1)).status().code(),
            Code::kFileTooBig);

  // Bad xattrs, bad names, a parent that is no directory or is gone.
  xattrs_ = {{"", "v"}};
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec(block, block.size())).status().code(),
            Code::kInvalidArgument);
  xattrs_ = {{"user." + std::string(300, 'n'), "v"}};
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec(block, block.size())).status().code(),
            Code::kRange);
  xattrs_ = {{"user.big", std::string(65537, 'v')}};
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, "other", Spec(block, block.size())).status().code(),
            Code::kRange);
  xattrs_.clear();
  EXPECT_EQ(fs_->MakeWholeFile(kRootIno, std::string(256, 'n'), Spec(block, block.size()))
                .status()
                .code(),
            Code::kNameTooLong);
  const Ino file = fs_->Lookup(kRootIno, "taken").value().ino;
  EXPECT_EQ(fs_->MakeWholeFile(file, "x", Spec(block, block.size())).status().code(),
            Code::kNotDirectory);
  EXPECT_EQ(fs_->MakeWholeFile(Ino(9999), "x", Spec(block, block.size())).status().code(),
            Code::kNotFound);

  // None of it took a name or a block.
  EXPECT_FALSE(fs_->Lookup(kRootIno, "other").ok());
  EXPECT_EQ(store_->used_blocks(), used_before);
  EXPECT_EQ(fs_->StatFs().value().files, files_before);
}

// StartWholeFile and FinishWholeFile, the receive's two halves: nothing of a
// started file shows before it is finished, not even in a freeze taken
// meanwhile, and a started file dropped or refused at its finish gives its
// blocks back.
TEST_F(WholeFileTest, AStartedFileShowsOnlyOnceFinishedAndADroppedOneLeavesNothing) {
  const std::string data = Pattern(9000, 's');
  // A first file grows the data file: the counts below see no growth.
  ASSERT_TRUE(fs_->MakeWholeFile(kRootIno, "first", Spec(data, data.size())).ok());
  const uint64_t free_before = store_->allocatable_blocks();
  blockstore::AlignedBuffer staging;
  auto started = fs_->StartWholeFile(Spec(data, data.size() + 100), &staging);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->data_bytes(), data.size());
  EXPECT_LT(store_->allocatable_blocks(), free_before);  // its 3 blocks are held
  EXPECT_EQ(fs_->Lookup(kRootIno, "late").status().code(), Code::kNotFound);
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();

  auto made = fs_->FinishWholeFile(kRootIno, "late", std::move(*started));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ExpectWhole("late", data, data.size() + 100);
  FileSystem view = store_->AtGeneration(*frozen).value();
  EXPECT_EQ(view.Lookup(kRootIno, "late").status().code(), Code::kNotFound);

  // Dropped unfinished: its blocks are free again.
  const uint64_t free_made = store_->allocatable_blocks();
  {
    auto dropped = fs_->StartWholeFile(Spec(data, data.size()), &staging);
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    EXPECT_LT(store_->allocatable_blocks(), free_made);
  }
  EXPECT_EQ(store_->allocatable_blocks(), free_made);

  // Refused at its finish (the name is taken): the same, and the file
  // that holds the name keeps its bytes.
  const std::string other = Pattern(5000, 'r');
  auto refused = fs_->StartWholeFile(Spec(other, other.size()), &staging);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(fs_->FinishWholeFile(kRootIno, "late", std::move(*refused)).status().code(),
            Code::kExists);
  EXPECT_EQ(store_->allocatable_blocks(), free_made);
  ExpectWhole("late", data, data.size() + 100);

  // What Start checks itself is refused before any block is taken.
  EXPECT_EQ(fs_->StartWholeFile(Spec(data, 10), &staging).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->allocatable_blocks(), free_made);
}

TEST_F(WholeFileTest, AFrozenGenerationIsReadOnlyAndKeepsTheFileMadeBeforeIt) {
  const std::string data = Pattern(6000, 'q');
  ASSERT_TRUE(fs_->MakeWholeFile(kRootIno, "kept", Spec(data, data.size())).ok());
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  FileSystem view = store_->AtGeneration(*frozen).value();
  EXPECT_EQ(view.MakeWholeFile(kRootIno, "new", Spec(data, data.size())).status().code(),
            Code::kReadOnly);
  // The head goes on; the frozen tree keeps the file's bytes.
  ASSERT_TRUE(fs_->Unlink(kRootIno, "kept").ok());
  auto e = view.Lookup(kRootIno, "kept");
  ASSERT_TRUE(e.ok());
  std::string got(data.size(), '\0');
  ASSERT_EQ(view.Read(e->ino, 0, got).value(), data.size());
  EXPECT_EQ(got, data);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
