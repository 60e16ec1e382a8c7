// Example-based tests of FileSystem and Store: each POSIX operation, its
// error codes, and the generation rules (freeze, branch, immutability).
// The randomized model test (tests/model/) covers combinations.
#include "snapshotter/engine/filesystem.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/test_hook.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    Reopen();
    ASSERT_TRUE(store_->CreateContainer("c1").ok());
    fs_.emplace(store_->Head("c1").value());
  }
  void TearDown() override {
    if (store_) {
      Status s = store_->CheckInvariants();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  void Reopen() {
    fs_.reset();
    store_.reset();
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    if (!store_->ListContainers().empty()) fs_.emplace(store_->Head("c1").value());
  }
  Ino Create(Ino dir, const std::string& name, const std::string& data = "") {
    auto e = fs_->Mknod(dir, name, S_IFREG | 0644, 0, {});
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!data.empty()) {
      EXPECT_TRUE(fs_->Write(e->ino, 0, data).ok());
    }
    return e->ino;
  }
  std::string ReadAll(FileSystem& fs, Ino ino) {
    auto attr = fs.GetAttr(ino);
    EXPECT_TRUE(attr.ok());
    std::string out(attr->size, '\0');
    auto n = fs.Read(ino, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  std::vector<std::string> List(FileSystem& fs, Ino dir) {
    std::vector<std::string> names;
    EXPECT_TRUE(fs.ReadDir(dir, 2, [&](const DirEntry& e) {
                    names.push_back(e.name);
                    return true;
                  }).ok());
    return names;
  }
  // Compares without printing megabytes: names the first differing byte.
  static ::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
    if (got == want) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    return ::testing::AssertionFailure()
           << "sizes " << got.size() << " vs " << want.size() << ", first difference at byte " << i;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

TEST_F(FileSystemTest, RootIsAnEmptyDirectory) {
  auto a = fs_->GetAttr(kRootIno);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(S_ISDIR(a->mode));
  EXPECT_EQ(a->nlink, 2u);
  EXPECT_TRUE(List(*fs_, kRootIno).empty());
}

TEST_F(FileSystemTest, CreateLookupAndAttributes) {
  auto e = fs_->Mknod(kRootIno, "a.txt", S_IFREG | 0640, 0, {1000, 100});
  ASSERT_TRUE(e.ok());
  auto l = fs_->Lookup(kRootIno, "a.txt");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->ino, e->ino);
  EXPECT_EQ(l->attr.mode, S_IFREG | 0640u);
  EXPECT_EQ(l->attr.uid, 1000u);
  EXPECT_EQ(l->attr.gid, 100u);
  EXPECT_EQ(l->attr.nlink, 1u);
  EXPECT_EQ(fs_->Lookup(kRootIno, "missing").status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Mknod(kRootIno, "a.txt", S_IFREG | 0644, 0, {}).status().code(), Code::kExists);
  EXPECT_EQ(fs_->Lookup(e->ino, "x").status().code(), Code::kNotDirectory);
}

TEST_F(FileSystemTest, BadNamesAreRefused) {
  EXPECT_EQ(fs_->Mknod(kRootIno, std::string(256, 'n'), S_IFREG, 0, {}).status().code(),
            Code::kNameTooLong);
  EXPECT_EQ(fs_->Lookup(kRootIno, std::string(256, 'n')).status().code(), Code::kNameTooLong);
  EXPECT_EQ(fs_->Mkdir(kRootIno, "a/b", 0755, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Mkdir(kRootIno, "..", 0755, {}).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(fs_->Mknod(kRootIno, std::string(255, 'n'), S_IFREG, 0, {}).ok());
}

TEST_F(FileSystemTest, SpecialFilesKeepTypeAndDevice) {
  auto fifo = fs_->Mknod(kRootIno, "fifo", S_IFIFO | 0600, 0, {});
  auto chr = fs_->Mknod(kRootIno, "null", S_IFCHR | 0666, makedev(1, 3), {});
  auto sock = fs_->Mknod(kRootIno, "sock", S_IFSOCK | 0600, 0, {});
  ASSERT_TRUE(fifo.ok() && chr.ok() && sock.ok());
  EXPECT_TRUE(S_ISFIFO(fs_->GetAttr(fifo->ino)->mode));
  EXPECT_EQ(fs_->GetAttr(chr->ino)->rdev, makedev(1, 3));
  EXPECT_TRUE(S_ISSOCK(fs_->GetAttr(sock->ino)->mode));
  EXPECT_EQ(fs_->Mknod(kRootIno, "d", S_IFDIR | 0755, 0, {}).status().code(),
            Code::kInvalidArgument);
}

TEST_F(FileSystemTest, DirectoriesCountLinksAndRefuseRemovalWhenFull) {
  Ino d = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  EXPECT_EQ(fs_->GetAttr(kRootIno)->nlink, 3u);
  Create(d, "f");
  EXPECT_EQ(fs_->Rmdir(kRootIno, "d").code(), Code::kNotEmpty);
  EXPECT_EQ(fs_->Unlink(kRootIno, "d").code(), Code::kIsDirectory);
  EXPECT_EQ(fs_->Rmdir(d, "f").code(), Code::kNotDirectory);
  ASSERT_TRUE(fs_->Unlink(d, "f").ok());
  ASSERT_TRUE(fs_->Rmdir(kRootIno, "d").ok());
  EXPECT_EQ(fs_->GetAttr(kRootIno)->nlink, 2u);
  EXPECT_EQ(fs_->GetAttr(d).status().code(), Code::kNotFound);
}

TEST_F(FileSystemTest, HardLinksShareTheInode) {
  Ino f = Create(kRootIno, "f", "shared bytes");
  Ino d = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  auto l = fs_->Link(f, d, "g");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->attr.nlink, 2u);
  EXPECT_EQ(fs_->Link(d, kRootIno, "dlink").status().code(), Code::kPermission);
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  EXPECT_EQ(fs_->GetAttr(f)->nlink, 1u);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), "shared bytes"));
}

// CreateOptions::ino (receive keeps the sender's inode numbers): the number
// asked for, refused when taken or out of range, and never given again.
TEST_F(FileSystemTest, ANodeMayBeGivenItsInodeNumber) {
  CreateOptions at;
  at.ino = Ino(5000);
  auto f = fs_->Mknod(kRootIno, "f", S_IFREG | 0644, 0, {}, at);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->ino, Ino(5000));
  auto again = fs_->Mkdir(kRootIno, "d", 0755, {}, at);
  EXPECT_EQ(again.status().code(), Code::kExists);
  at.ino = kRootIno;
  EXPECT_EQ(fs_->Symlink(kRootIno, "l", "t", {}, at).status().code(), Code::kInvalidArgument);
  at.ino = Ino(kMaxChosenIno);
  EXPECT_EQ(fs_->Mknod(kRootIno, "g", S_IFIFO | 0644, 0, {}, at).status().code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(fs_->Lookup(kRootIno, "g").ok());
  // The store's next number moved past it, and stays there after a reopen.
  Reopen();
  auto next = fs_->Mknod(kRootIno, "next", S_IFREG | 0644, 0, {});
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->ino.value, 5000u);
}

TEST_F(FileSystemTest, SymlinksReadBack) {
  auto s = fs_->Symlink(kRootIno, "ln", "../target/path", {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(S_ISLNK(s->attr.mode));
  EXPECT_EQ(s->attr.size, 14u);
  EXPECT_EQ(*fs_->ReadLink(s->ino), "../target/path");
  EXPECT_EQ(fs_->Symlink(kRootIno, "long", std::string(4096, 'x'), {}).status().code(),
            Code::kNameTooLong);
}

TEST_F(FileSystemTest, RenameReplacesAndMoves) {
  Ino a = Create(kRootIno, "a", "A");
  Ino b = Create(kRootIno, "b", "B");
  Ino d = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  ASSERT_TRUE(fs_->Rename(kRootIno, "a", kRootIno, "b").ok());
  EXPECT_EQ(fs_->Lookup(kRootIno, "b")->ino, a);
  EXPECT_EQ(fs_->GetAttr(b).status().code(), Code::kNotFound);
  ASSERT_TRUE(fs_->Rename(kRootIno, "b", d, "moved").ok());
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, fs_->Lookup(d, "moved")->ino), "A"));
  EXPECT_EQ(fs_->Rename(kRootIno, "nope", d, "x").code(), Code::kNotFound);
}

TEST_F(FileSystemTest, RenameDirectoryRules) {
  Ino d1 = fs_->Mkdir(kRootIno, "d1", 0755, {})->ino;
  Ino d2 = fs_->Mkdir(kRootIno, "d2", 0755, {})->ino;
  Ino sub = fs_->Mkdir(d1, "sub", 0755, {})->ino;
  Create(kRootIno, "file");
  EXPECT_EQ(fs_->Rename(kRootIno, "d1", sub, "loop").code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Rename(kRootIno, "d1", kRootIno, "file").code(), Code::kNotDirectory);
  EXPECT_EQ(fs_->Rename(kRootIno, "file", kRootIno, "d2").code(), Code::kIsDirectory);
  Create(d2, "x");
  EXPECT_EQ(fs_->Rename(kRootIno, "d1", kRootIno, "d2").code(), Code::kNotEmpty);
  ASSERT_TRUE(fs_->Unlink(d2, "x").ok());
  // Moving d1/sub into d2 moves a link count between parents.
  ASSERT_TRUE(fs_->Rename(d1, "sub", d2, "sub").ok());
  EXPECT_EQ(fs_->GetAttr(d1)->nlink, 2u);
  EXPECT_EQ(fs_->GetAttr(d2)->nlink, 3u);
  // Replacing an empty directory.
  Ino d3 = fs_->Mkdir(kRootIno, "d3", 0755, {})->ino;
  ASSERT_TRUE(fs_->Rename(kRootIno, "d1", kRootIno, "d3").ok());
  EXPECT_EQ(fs_->Lookup(kRootIno, "d3")->ino, d1);
  EXPECT_EQ(fs_->GetAttr(d3).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->GetAttr(kRootIno)->nlink, 4u);  // d2, d3 (was d1), and . ..
}

TEST_F(FileSystemTest, RenameFlags) {
  Ino a = Create(kRootIno, "a", "A");
  Ino b = Create(kRootIno, "b", "B");
  EXPECT_EQ(fs_->Rename(kRootIno, "a", kRootIno, "b", RenameFlags::kNoReplace).code(),
            Code::kExists);
  ASSERT_TRUE(fs_->Rename(kRootIno, "a", kRootIno, "b", RenameFlags::kExchange).ok());
  EXPECT_EQ(fs_->Lookup(kRootIno, "a")->ino, b);
  EXPECT_EQ(fs_->Lookup(kRootIno, "b")->ino, a);
  EXPECT_EQ(fs_->Rename(kRootIno, "a", kRootIno, "zz", RenameFlags::kExchange).code(),
            Code::kNotFound);
}

// RENAME_WHITEOUT: the move and the whiteout at the old name are one
// change, so a freeze sees both or neither.
TEST_F(FileSystemTest, RenameWhiteoutLeavesAWhiteoutInTheSameChange) {
  const Ino a = Create(kRootIno, "a", "A");
  const Ino b = Create(kRootIno, "b", "B");
  const uint64_t commits = store_->CommitCount();
  ASSERT_TRUE(
      fs_->Rename(kRootIno, "a", kRootIno, "moved", RenameFlags::kWhiteout, Owner{1000, 100}).ok());
  EXPECT_EQ(store_->CommitCount(), commits + 1);
  EXPECT_EQ(fs_->Lookup(kRootIno, "moved")->ino, a);
  auto w = fs_->Lookup(kRootIno, "a");
  ASSERT_TRUE(w.ok());
  EXPECT_NE(w->ino, a);
  EXPECT_EQ(w->attr.mode, uint32_t{S_IFCHR});  // mode 0
  EXPECT_EQ(w->attr.rdev, 0u);
  EXPECT_EQ(w->attr.uid, 1000u);
  EXPECT_EQ(w->attr.gid, 100u);
  EXPECT_EQ(w->attr.nlink, 1u);
  // The whiteout is listed as a character device.
  bool listed = false;
  ASSERT_TRUE(fs_->ReadDir(kRootIno, 0,
                           [&](const DirEntry& e) {
                             if (e.name == "a") listed = e.type == DT_CHR && e.ino == w->ino;
                             return true;
                           })
                  .ok());
  EXPECT_TRUE(listed);
  // Over an existing target, which goes; with kNoReplace refused.
  EXPECT_EQ(fs_->Rename(kRootIno, "moved", kRootIno, "b",
                        RenameFlags::kWhiteout | RenameFlags::kNoReplace)
                .code(),
            Code::kExists);
  ASSERT_TRUE(fs_->Rename(kRootIno, "moved", kRootIno, "b", RenameFlags::kWhiteout).ok());
  EXPECT_EQ(fs_->Lookup(kRootIno, "b")->ino, a);
  EXPECT_EQ(fs_->GetAttr(b).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Lookup(kRootIno, "moved")->attr.mode, uint32_t{S_IFCHR});
  // A directory source works the same; its parent's count follows it.
  auto d = fs_->Mkdir(kRootIno, "d", 0755, {});
  auto sub = fs_->Mkdir(kRootIno, "sub", 0755, {});
  ASSERT_TRUE(d.ok() && sub.ok());
  const uint32_t root_links = fs_->GetAttr(kRootIno)->nlink;
  ASSERT_TRUE(fs_->Rename(kRootIno, "d", sub->ino, "d", RenameFlags::kWhiteout).ok());
  EXPECT_EQ(fs_->GetAttr(kRootIno)->nlink, root_links - 1);
  EXPECT_EQ(fs_->Lookup(kRootIno, "d")->attr.mode, uint32_t{S_IFCHR});
  // Exchange takes no other flag; the same name is no move and no whiteout.
  EXPECT_EQ(
      fs_->Rename(kRootIno, "a", kRootIno, "b", RenameFlags::kExchange | RenameFlags::kWhiteout)
          .code(),
      Code::kInvalidArgument);
  ASSERT_TRUE(fs_->Rename(kRootIno, "b", kRootIno, "b", RenameFlags::kWhiteout).ok());
  EXPECT_EQ(fs_->Lookup(kRootIno, "b")->ino, a);
  // A freeze keeps what it saw; the head goes on.
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  FileSystem past = store_->AtGeneration(*frozen).value();
  EXPECT_EQ(past.Lookup(kRootIno, "b")->ino, a);
  EXPECT_EQ(past.Lookup(kRootIno, "a")->attr.mode, uint32_t{S_IFCHR});
}

TEST_F(FileSystemTest, ReadDirCookiesAreStable) {
  for (int i = 0; i < 50; ++i) Create(kRootIno, "f" + std::to_string(i));
  std::vector<DirEntry> first;
  ASSERT_TRUE(fs_->ReadDir(kRootIno, 0,
                           [&](const DirEntry& e) {
                             first.push_back(e);
                             return first.size() < 12;
                           })
                  .ok());
  ASSERT_EQ(first.size(), 12u);
  EXPECT_EQ(first[0].name, ".");
  EXPECT_EQ(first[1].name, "..");
  // Delete entries already returned and not yet returned, add new ones, then
  // continue from the last cookie: nothing repeats, survivors all appear.
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f3").ok());
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f40").ok());
  Create(kRootIno, "new");
  std::map<std::string, int> seen;
  for (size_t i = 2; i < first.size(); ++i) ++seen[first[i].name];
  ASSERT_TRUE(fs_->ReadDir(kRootIno, first.back().cookie,
                           [&](const DirEntry& e) {
                             ++seen[e.name];
                             return true;
                           })
                  .ok());
  for (int i = 0; i < 50; ++i) {
    const std::string n = "f" + std::to_string(i);
    if (n == "f40") {
      EXPECT_EQ(seen.count(n), 0u);
    } else {
      EXPECT_EQ(seen[n], 1) << n;
    }
  }
}

// A rename within a directory keeps the entry's place in the listing; one
// into another directory puts it at the end there. A reader that passed the
// entry does not meet it again under its new name.
TEST_F(FileSystemTest, RenameWithinADirectoryKeepsTheCookie) {
  auto d = fs_->Mkdir(kRootIno, "d", 0755, {});
  ASSERT_TRUE(d.ok());
  for (int i = 0; i < 10; ++i) Create(kRootIno, "f" + std::to_string(i));
  auto cookies = [&](Ino dir) {
    std::map<std::string, uint64_t> out;
    EXPECT_TRUE(fs_->ReadDir(dir, 0,
                             [&](const DirEntry& e) {
                               out[e.name] = e.cookie;
                               return true;
                             })
                    .ok());
    return out;
  };
  const std::map<std::string, uint64_t> before = cookies(kRootIno);
  ASSERT_TRUE(fs_->Rename(kRootIno, "f2", kRootIno, "renamed").ok());
  ASSERT_TRUE(fs_->Rename(kRootIno, "f3", kRootIno, "f4").ok());  // replaces f4
  ASSERT_TRUE(fs_->Rename(kRootIno, "f5", d->ino, "moved").ok());
  const std::map<std::string, uint64_t> after = cookies(kRootIno);
  EXPECT_EQ(after.at("renamed"), before.at("f2"));
  EXPECT_EQ(after.at("f4"), before.at("f3"));
  EXPECT_EQ(after.count("f2") + after.count("f3") + after.count("f5"), 0u);
  EXPECT_EQ(after.size(), before.size() - 2);
  EXPECT_GT(cookies(d->ino).at("moved"), 2u);

  // Continue a listing after the renamed entry's cookie: it is not met again.
  bool met = false;
  ASSERT_TRUE(fs_->ReadDir(kRootIno, before.at("f2"),
                           [&](const DirEntry& e) {
                             met = met || e.name == "renamed" || e.name == "f2";
                             return true;
                           })
                  .ok());
  EXPECT_FALSE(met);
}

// Lookups by inode number (file handles): an inode while it is linked, and
// a directory's parent.
TEST_F(FileSystemTest, LookupInodeAndLookupParent) {
  auto d = fs_->Mkdir(kRootIno, "d", 0755, {});
  ASSERT_TRUE(d.ok());
  auto e = fs_->Mkdir(d->ino, "e", 0755, {});
  ASSERT_TRUE(e.ok());
  const Ino f = Create(e->ino, "f", "data");
  auto self = fs_->LookupInode(f);
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_EQ(self->ino, f);
  EXPECT_EQ(self->attr.size, 4u);
  EXPECT_EQ(fs_->LookupParent(e->ino)->ino, d->ino);
  EXPECT_EQ(fs_->LookupParent(d->ino)->ino, kRootIno);
  EXPECT_EQ(fs_->LookupParent(kRootIno)->ino, kRootIno);
  EXPECT_EQ(fs_->LookupParent(f).status().code(), Code::kNotDirectory);
  // Moved: the parent follows.
  ASSERT_TRUE(fs_->Rename(d->ino, "e", kRootIno, "e2").ok());
  EXPECT_EQ(fs_->LookupParent(e->ino)->ino, kRootIno);
  // Unlinked but still open: no longer in the tree.
  fs_->Open(f);
  ASSERT_TRUE(fs_->Unlink(e->ino, "f").ok());
  EXPECT_EQ(fs_->LookupInode(f).status().code(), Code::kNotFound);
  ASSERT_TRUE(fs_->Release(f).ok());
  EXPECT_EQ(fs_->LookupInode(f).status().code(), Code::kNotFound);
  ASSERT_TRUE(fs_->Rmdir(kRootIno, "e2").ok());
  EXPECT_EQ(fs_->LookupInode(e->ino).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->LookupParent(e->ino).status().code(), Code::kNotFound);
}

TEST_F(FileSystemTest, SmallFilesStayInlineAndGrowIntoBlocks) {
  Ino f = Create(kRootIno, "f", "hello");
  EXPECT_EQ(store_->used_blocks(), 0u);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), "hello"));
  std::string big(10000, 'z');
  ASSERT_TRUE(fs_->Write(f, 3, big).ok());
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), "hel" + big));
  EXPECT_EQ(fs_->GetAttr(f)->blocks_512, 3u * 8u);
  EXPECT_GT(store_->used_blocks(), 0u);
}

TEST_F(FileSystemTest, WritesAtOddOffsetsAndHoles) {
  Ino f = Create(kRootIno, "f");
  std::string expect(3 << 20, '\0');
  auto put = [&](uint64_t off, const std::string& data) {
    ASSERT_TRUE(fs_->Write(f, off, data).ok());
    if (expect.size() < off + data.size()) expect.resize(off + data.size(), '\0');
    expect.replace(off, data.size(), data);
  };
  put(5000, std::string(9000, 'a'));
  put(1 << 20, std::string(1 << 20, 'b'));  // leaves a hole in between
  put((1 << 20) - 7, "crossing");
  put(3 << 20, "tail");
  expect.resize((3 << 20) + 4);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), expect));
  // The hole takes no space: 9000 bytes from 5000 touch blocks 1-3, the MiB
  // 256 (+1 for the crossing write's first block), the tail 1.
  EXPECT_EQ(fs_->GetAttr(f)->blocks_512, (3u + 256u + 1u + 1u) * 8u);
  std::string part(10, '\0');
  ASSERT_EQ(*fs_->Read(f, 20000, part), 10u);
  EXPECT_EQ(part, std::string(10, '\0'));
}

TEST_F(FileSystemTest, TruncateShrinksZeroesAndGrows) {
  Ino f = Create(kRootIno, "f", std::string(20000, 'q'));
  SetAttrRequest req;
  req.size = 5000;
  ASSERT_TRUE(fs_->SetAttr(f, req).ok());
  req.size = 12000;
  ASSERT_TRUE(fs_->SetAttr(f, req).ok());
  std::string expect = std::string(5000, 'q') + std::string(7000, '\0');
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), expect));
  EXPECT_EQ(fs_->GetAttr(f)->blocks_512, 2u * 8u);
  req.size = 0;
  ASSERT_TRUE(fs_->SetAttr(f, req).ok());
  EXPECT_EQ(fs_->GetAttr(f)->blocks_512, 0u);
  EXPECT_EQ(store_->used_blocks(), 0u);
}

TEST_F(FileSystemTest, SetAttrChangesModeOwnerTimes) {
  Ino f = Create(kRootIno, "f");
  SetAttrRequest req;
  req.mode = 04755;
  req.uid = 7;
  req.gid = 8;
  req.atime = index::Timespec{100, 5};
  req.mtime = index::Timespec{200, 6};
  auto a = fs_->SetAttr(f, req);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->mode, S_IFREG | 04755u);
  EXPECT_EQ(a->uid, 7u);
  EXPECT_EQ(a->gid, 8u);
  EXPECT_EQ(a->atime, (index::Timespec{100, 5}));
  EXPECT_EQ(a->mtime, (index::Timespec{200, 6}));
}

// Birth time (statx's btime) is the creation time and never moves: not with
// a chmod, a write, a rename, nor across a freeze and a reopen.
TEST_F(FileSystemTest, BirthTimeIsSetAtCreationAndNeverMoves) {
  auto root = fs_->GetAttr(kRootIno);
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->btime.has_value());
  auto made = fs_->Mknod(kRootIno, "f", S_IFREG | 0644, 0, {});
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(made->attr.btime.has_value());
  const index::Timespec born = *made->attr.btime;
  EXPECT_EQ(born, made->attr.ctime);
  auto dir = fs_->Mkdir(kRootIno, "d", 0755, {});
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->attr.btime.has_value());
  auto link = fs_->Symlink(kRootIno, "l", "f", {});
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(link->attr.btime.has_value());

  SetAttrRequest chmod;
  chmod.mode = 0600;
  chmod.ctime = index::Timespec{born.sec + 100, 0};
  ASSERT_TRUE(fs_->SetAttr(made->ino, chmod).ok());
  ASSERT_TRUE(fs_->Write(made->ino, 0, std::string("data")).ok());
  ASSERT_TRUE(fs_->Rename(kRootIno, "f", dir->ino, "g").ok());
  auto after = fs_->GetAttr(made->ino);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->ctime, born);
  EXPECT_EQ(after->btime, born);

  ASSERT_TRUE(store_->Freeze("c1").ok());
  Reopen();
  auto reopened = fs_->GetAttr(made->ino);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->btime, born);
}

TEST_F(FileSystemTest, Xattrs) {
  Ino f = Create(kRootIno, "f");
  EXPECT_EQ(fs_->GetXattr(f, "user.a").status().code(), Code::kNoData);
  ASSERT_TRUE(fs_->SetXattr(f, "user.a", "1").ok());
  ASSERT_TRUE(fs_->SetXattr(f, "user.b", std::string(3000, 'v')).ok());
  EXPECT_EQ(fs_->SetXattr(f, "user.a", "2", FileSystem::XattrMode::kCreate).code(), Code::kExists);
  EXPECT_EQ(fs_->SetXattr(f, "user.c", "2", FileSystem::XattrMode::kReplace).code(), Code::kNoData);
  EXPECT_EQ(*fs_->GetXattr(f, "user.b"), std::string(3000, 'v'));
  EXPECT_EQ(*fs_->ListXattr(f), (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_TRUE(fs_->RemoveXattr(f, "user.a").ok());
  EXPECT_EQ(fs_->RemoveXattr(f, "user.a").code(), Code::kNoData);
  EXPECT_EQ(*fs_->ListXattr(f), (std::vector<std::string>{"user.b"}));
}

TEST_F(FileSystemTest, InodeNumbersAreNeverReused) {
  Ino a = Create(kRootIno, "a");
  ASSERT_TRUE(fs_->Unlink(kRootIno, "a").ok());
  Reopen();
  Ino b = Create(kRootIno, "b");
  EXPECT_GT(b.value, a.value);
}

TEST_F(FileSystemTest, UnlinkedOpenFileKeepsItsDataUntilRelease) {
  Ino f = Create(kRootIno, "f", std::string(8192, 'k'));
  fs_->Open(f);
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  EXPECT_EQ(fs_->GetAttr(f)->nlink, 0u);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), std::string(8192, 'k')));
  ASSERT_TRUE(fs_->Release(f).ok());
  EXPECT_EQ(fs_->GetAttr(f).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->used_blocks(), 0u);
}

TEST_F(FileSystemTest, FrozenGenerationNeverChanges) {
  Ino f = Create(kRootIno, "f", std::string(100000, 'o'));
  Ino d = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  ASSERT_TRUE(fs_->SetXattr(f, "user.k", "v1").ok());
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  FileSystem past = store_->AtGeneration(*frozen).value();
  EXPECT_TRUE(past.read_only());
  // Change everything in the head.
  ASSERT_TRUE(fs_->Write(f, 50000, std::string(100, 'N')).ok());
  ASSERT_TRUE(fs_->SetXattr(f, "user.k", "v2").ok());
  ASSERT_TRUE(fs_->Rename(kRootIno, "d", kRootIno, "d2").ok());
  Create(kRootIno, "new");
  SetAttrRequest req;
  req.mode = 0600;
  ASSERT_TRUE(fs_->SetAttr(f, req).ok());
  // The past is as it was.
  EXPECT_TRUE(SameBytes(ReadAll(past, f), std::string(100000, 'o')));
  EXPECT_EQ(*past.GetXattr(f, "user.k"), "v1");
  EXPECT_EQ(past.Lookup(kRootIno, "d")->ino, d);
  EXPECT_EQ(past.Lookup(kRootIno, "new").status().code(), Code::kNotFound);
  EXPECT_EQ(past.GetAttr(f)->mode, S_IFREG | 0644u);
  EXPECT_EQ(List(past, kRootIno), (std::vector<std::string>{"f", "d"}));
  // And refuses writes.
  EXPECT_EQ(past.Write(f, 0, std::string("x")).status().code(), Code::kReadOnly);
  EXPECT_EQ(past.Unlink(kRootIno, "f").code(), Code::kReadOnly);
  // Deleting the file in the head leaves the frozen copy's blocks alone.
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  EXPECT_TRUE(SameBytes(ReadAll(past, f), std::string(100000, 'o')));
  Reopen();
  FileSystem past2 = store_->AtGeneration(*frozen).value();
  EXPECT_TRUE(SameBytes(ReadAll(past2, f), std::string(100000, 'o')));
}

TEST_F(FileSystemTest, BranchStartsFromTheChosenGeneration) {
  Ino f = Create(kRootIno, "f", "v1");
  GenId g1 = *store_->Freeze("c1");
  ASSERT_TRUE(fs_->Write(f, 0, std::string("v2")).ok());
  GenId g2 = *store_->Freeze("c1");
  auto head = store_->Branch("c1", g1);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*store_->HeadOf("c1"), *head);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), "v1"));
  ASSERT_TRUE(fs_->Write(f, 0, std::string("v3")).ok());
  // Both frozen generations are intact; history branches, it is not cut.
  FileSystem p1 = store_->AtGeneration(g1).value();
  FileSystem p2 = store_->AtGeneration(g2).value();
  EXPECT_TRUE(SameBytes(ReadAll(p1, f), "v1"));
  EXPECT_TRUE(SameBytes(ReadAll(p2, f), "v2"));
  // A second container copied from g2 is independent.
  ASSERT_TRUE(store_->CreateContainer("copy", g2).ok());
  FileSystem copy = store_->Head("copy").value();
  EXPECT_TRUE(SameBytes(ReadAll(copy, f), "v2"));
  ASSERT_TRUE(copy.Write(f, 0, std::string("c!")).ok());
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), "v3"));
  EXPECT_TRUE(SameBytes(ReadAll(p2, f), "v2"));
}

// What the test hook below does when a write reaches its mapping step.
std::function<void()> g_before_map;
void BeforeMapHook(std::string_view name) {
  if (name == "fs.write.before_map" && g_before_map) {
    auto action = std::move(g_before_map);
    g_before_map = nullptr;
    action();
  }
}

TEST_F(FileSystemTest, WriteRacingFreezesLandsInTheNewHead) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "test hooks are compiled out of this build";
  Ino f = Create(kRootIno, "f", std::string(5000, 'a'));
  GenId first;
  g_before_map = [&] {
    first = store_->Freeze("c1").value();
    ASSERT_TRUE(store_->Freeze("c1").ok());
  };
  SetTestHook(BeforeMapHook);
  auto w = fs_->Write(f, 0, std::string(5000, 'b'));
  SetTestHook(nullptr);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), std::string(5000, 'b')));
  FileSystem past = store_->AtGeneration(first).value();
  EXPECT_TRUE(SameBytes(ReadAll(past, f), std::string(5000, 'a')));
}

TEST_F(FileSystemTest, WriteRacingABranchIsStaleAndLandsNowhere) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "test hooks are compiled out of this build";
  Ino f = Create(kRootIno, "f", std::string(5000, 'a'));
  GenId base = store_->Freeze("c1").value();
  g_before_map = [&] { ASSERT_TRUE(store_->Branch("c1", base).ok()); };
  SetTestHook(BeforeMapHook);
  auto w = fs_->Write(f, 0, std::string(5000, 'b'));
  SetTestHook(nullptr);
  EXPECT_EQ(w.status().code(), Code::kStale);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), std::string(5000, 'a')));
  // The head still takes writes; TearDown's fsck finds no trace of the stale one.
  ASSERT_TRUE(fs_->Write(f, 0, std::string(5000, 'c')).ok());
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), std::string(5000, 'c')));
}

TEST_F(FileSystemTest, ContainersAreValidatedAndUnique) {
  EXPECT_EQ(store_->CreateContainer("c1").code(), Code::kExists);
  EXPECT_EQ(store_->CreateContainer("a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->CreateContainer("..x").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->CreateContainer("").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->Head("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->ListContainers(), (std::vector<std::string>{"c1"}));
}

TEST_F(FileSystemTest, SecondOpenOfAStoreIsRefused) {
  StoreOptions options;
  options.flush_interval_ms = 0;
  auto second = Store::Open(dir_.File("store"), std::move(options));
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

TEST_F(FileSystemTest, FlushedStateSurvivesReopen) {
  Ino d = fs_->Mkdir(kRootIno, "d", 0700, {})->ino;
  Ino f = Create(d, "f", std::string(70000, 'r'));
  ASSERT_TRUE(fs_->Fsync(f).ok());
  Reopen();
  EXPECT_EQ(fs_->Lookup(d, "f")->ino, f);
  EXPECT_TRUE(SameBytes(ReadAll(*fs_, f), std::string(70000, 'r')));
}

TEST_F(FileSystemTest, StatFsReportsSpace) {
  Create(kRootIno, "f", std::string(1 << 20, 's'));
  auto st = fs_->StatFs();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->block_size, 4096u);
  EXPECT_GE(st->total_blocks, st->free_blocks + 256);
}

// Offsets are 64-bit but a file ends at 2^63 - 1 (Linux's limit): beyond,
// EFBIG, never a wrapped offset.
TEST_F(FileSystemTest, WritesAndSizesPastTheLargestFileAreEfbig) {
  const Ino f = Create(kRootIno, "f");
  const std::string page(8192, 'x');
  EXPECT_EQ(fs_->Write(f, UINT64_MAX - 4095, page).status().code(), Code::kFileTooBig);
  EXPECT_EQ(fs_->Write(f, kMaxFileBytes - 10, page).status().code(), Code::kFileTooBig);
  SetAttrRequest huge;
  huge.size = UINT64_MAX;
  EXPECT_EQ(fs_->SetAttr(f, huge).status().code(), Code::kFileTooBig);
  EXPECT_EQ(fs_->GetAttr(f)->size, 0u) << "a refused call changed the file";
  // Right up to the limit works.
  auto w = fs_->Write(f, kMaxFileBytes - 4096, std::string(4096, 'e'));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(fs_->GetAttr(f)->size, kMaxFileBytes);
  std::string back(4096, '\0');
  ASSERT_TRUE(fs_->Read(f, kMaxFileBytes - 4096, back).ok());
  EXPECT_EQ(back, std::string(4096, 'e'));
}

// rmdir of a directory something still has open: it stays readable (empty)
// until released, and nothing can be linked or moved into it.
TEST_F(FileSystemTest, RemovedOpenDirectoryTakesNoNewEntries) {
  const Ino d = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  const Ino f = Create(kRootIno, "f", "data");
  fs_->Open(d);
  ASSERT_TRUE(fs_->Rmdir(kRootIno, "d").ok());
  EXPECT_TRUE(store_->CheckInvariants().ok());
  EXPECT_EQ(fs_->Mknod(d, "x", S_IFREG | 0644, 0, {}).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Mkdir(d, "x", 0755, {}).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Link(f, d, "g").status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Rename(kRootIno, "f", d, "moved").code(), Code::kNotFound);
  std::vector<std::string> names;
  ASSERT_TRUE(fs_->ReadDir(d, 0,
                           [&](const DirEntry& e) {
                             names.push_back(e.name);
                             return true;
                           })
                  .ok());
  EXPECT_EQ(names, (std::vector<std::string>{".", ".."}));
  ASSERT_TRUE(fs_->Release(d).ok());
  EXPECT_EQ(fs_->GetAttr(d).status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll(*fs_, f), "data");
}

// A copy shares inode numbers with its source: a file open in one must
// not keep a file unlinked in the other alive.
TEST_F(FileSystemTest, OpenFilesOfOneContainerDoNotPinAnother) {
  const Ino f = Create(kRootIno, "f", std::string(8192, 'x'));
  const GenId g = store_->Freeze("c1").value();
  ASSERT_TRUE(store_->CreateContainer("copy", g).ok());
  FileSystem copy = store_->Head("copy").value();
  fs_->Open(f);
  ASSERT_TRUE(copy.Unlink(kRootIno, "f").ok());
  EXPECT_EQ(copy.GetAttr(f).status().code(), Code::kNotFound) << "purged at once in the copy";
  ASSERT_TRUE(fs_->Release(f).ok());
  EXPECT_EQ(ReadAll(*fs_, f), std::string(8192, 'x'));
  // And the other way round: open in the copy, unlinked in the source.
  ASSERT_TRUE(store_->CreateContainer("copy2", g).ok());
  FileSystem copy2 = store_->Head("copy2").value();
  copy2.Open(f);
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  EXPECT_EQ(fs_->GetAttr(f).status().code(), Code::kNotFound);
  EXPECT_EQ(copy2.GetAttr(f)->nlink, 1u);
  ASSERT_TRUE(copy2.Release(f).ok());
}

}  // namespace
}  // namespace hoodyfs::snapshotter
