// Import and export of host trees and tar streams (tree_import.h,
// tree_export.h), and FileSystem::DataRanges which export relies on: real
// files, a real store, real GNU tar. Trees are compared entry by entry with
// tests/util/tree_compare.h. Tests that need root (devices, owners,
// trusted.* xattrs) skip with the reason when not run as root.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/transfer/tree_export.h"
#include "snapshotter/transfer/tree_import.h"
#include "tests/util/tree_compare.h"
#include "tests/util/tree_fixture.h"

extern char** environ;

namespace hoodyfs::snapshotter {
namespace {

using hoodyfs::testing::CompareTrees;
using hoodyfs::testing::TreeCompareOptions;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

#define REQUIRE_ROOT()                                                               \
  do {                                                                               \
    if (::geteuid() != 0) {                                                          \
      GTEST_SKIP() << "needs root: device nodes, other owners and trusted.* xattrs"; \
    }                                                                                \
  } while (0)

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

// A child process with its stdin or stdout on a pipe; `fd` is our end.
struct Child {
  pid_t pid = -1;
  UniqueFd fd;
};

Child Spawn(const std::vector<std::string>& argv, bool child_writes) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const int child_end = child_writes ? p[1] : p[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_end, child_writes ? 1 : 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Child child;
  EXPECT_EQ(posix_spawnp(&child.pid, args[0], &actions, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(child_end);
  child.fd.Reset(child_writes ? p[0] : p[1]);
  return child;
}

// The child's exit status (128 + signal when killed).
int Wait(Child& child) {
  child.fd.Reset();
  int status = 0;
  if (::waitpid(child.pid, &status, 0) != child.pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Bytes this process has read through read-like syscalls (/proc/self/io).
uint64_t BytesRead() {
  std::ifstream io("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "rchar:") return value;
  }
  return 0;
}

std::string HostXattr(const std::string& path, const char* name) {
  char buf[4096];
  const ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof(buf));
  return n < 0 ? "(error " + std::to_string(errno) + ")" : std::string(buf, static_cast<size_t>(n));
}

const std::vector<std::string> kTarCreate = {"tar",
                                             "--xattrs",
                                             "--xattrs-include=*",
                                             "--acls",
                                             "--sparse",
                                             "--atime-preserve=system",
                                             "--format=posix",
                                             "--sort=name",
                                             "-cf",
                                             "-"};
const std::vector<std::string> kTarExtract = {
    "tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "-xpf", "-"};

class TreeTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A tar child that exits early must fail our write, not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    ASSERT_OK(Store::Init(dir_.File("store")));
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateContainer("c1"));
    fs_.emplace(store_->Head("c1").value());
  }
  void TearDown() override {
    fs_.reset();
    if (store_) EXPECT_OK(store_->CheckInvariants());
  }

  std::string MakeDir(const std::string& name) {
    const std::string path = dir_.File(name);
    EXPECT_EQ(::mkdir(path.c_str(), 0755), 0) << path;
    return path;
  }
  Ino LookupPath(FileSystem& fs, const std::string& path) {
    Ino at = kRootIno;
    std::stringstream parts(path);
    std::string part;
    while (std::getline(parts, part, '/')) {
      auto e = fs.Lookup(at, part);
      EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString();
      if (!e.ok()) return Ino();
      at = e->ino;
    }
    return at;
  }
  // Runs `tar -c` over `src` into ImportTar on `fs`.
  Result<ImportStats> ImportWithTar(FileSystem& fs, const std::string& src,
                                    std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = kTarCreate;
    argv.insert(argv.end(), {"-C", src});
    if (extra.empty()) extra = {"."};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Child tar = Spawn(argv, /*child_writes=*/true);
    Result<ImportStats> stats = ImportTar(fs, tar.fd.get(), {});
    EXPECT_EQ(Wait(tar), 0) << "tar -c failed";
    return stats;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

TEST_F(TreeTransferTest, DataRangesFollowTheChunkMaps) {
  Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 0644, 0, {})->ino;
  EXPECT_TRUE(fs_->DataRanges(f)->empty());
  ASSERT_TRUE(fs_->Write(f, 0, std::string("x")).ok());  // inline: one range of the size
  auto r = fs_->DataRanges(f);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].offset_bytes, 0u);
  EXPECT_EQ((*r)[0].length_bytes, 1u);
  // Out of line: block 0 (the inline byte moved), then blocks around 1 MiB
  // and 5 MiB; the last range ends at the size, not at its block's end.
  const std::string two_blocks(8192, 'a');
  ASSERT_TRUE(fs_->Write(f, kMiB - 4096, two_blocks).ok());  // crosses a chunk
  ASSERT_TRUE(fs_->Write(f, 5 * kMiB + 10, std::string("tail")).ok());
  r = fs_->DataRanges(f);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].offset_bytes, 0u);
  EXPECT_EQ((*r)[0].length_bytes, 4096u);
  EXPECT_EQ((*r)[1].offset_bytes, kMiB - 4096);
  EXPECT_EQ((*r)[1].length_bytes, 8192u);
  EXPECT_EQ((*r)[2].offset_bytes, 5 * kMiB);
  EXPECT_EQ((*r)[2].length_bytes, 14u);
  // A frozen generation reports the same; the head after a truncate less.
  GenId frozen = store_->Freeze("c1").value();
  SetAttrRequest resize;
  resize.size = 100;
  ASSERT_TRUE(fs_->SetAttr(f, resize).ok());
  r = fs_->DataRanges(f);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].length_bytes, 100u);  // clipped to the size
  // Growing again adds a hole, not data; the kept block is whole again.
  resize.size = 10 * kMiB;
  ASSERT_TRUE(fs_->SetAttr(f, resize).ok());
  r = fs_->DataRanges(f);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].length_bytes, 4096u);
  FileSystem old = store_->AtGeneration(frozen).value();
  EXPECT_EQ(old.DataRanges(f)->size(), 3u);
  // Only regular files have data ranges.
  EXPECT_CODE(Code::kIsDirectory, fs_->DataRanges(kRootIno).status());
  Ino link = fs_->Symlink(kRootIno, "l", "f", {})->ino;
  EXPECT_CODE(Code::kInvalidArgument, fs_->DataRanges(link).status());
  EXPECT_CODE(Code::kNotFound, fs_->DataRanges(Ino(999)).status());
}

TEST_F(TreeTransferTest, EncodedAclMatchesTheKernelLayout) {
  // Entries in any order come out sorted by tag then id, ids of unnamed
  // entries undefined: the layout the kernel returns (as RawPosixAcl writes it).
  const std::string encoded = EncodePosixAcl({{AclTag::kOther, 0, 7},
                                              {AclTag::kGroup, 4, 100},
                                              {AclTag::kMask, 7, 0},
                                              {AclTag::kUser, 7, 1000},
                                              {AclTag::kUserObj, 6, 0},
                                              {AclTag::kGroupObj, 4, 0},
                                              {AclTag::kUser, 5, 2}});
  EXPECT_EQ(encoded, testing::RawPosixAcl({{0x01, 6, 0xffffffff},
                                           {0x02, 5, 2},
                                           {0x02, 7, 1000},
                                           {0x04, 4, 0xffffffff},
                                           {0x08, 4, 100},
                                           {0x10, 7, 0xffffffff},
                                           {0x20, 0, 0xffffffff}}));
}

// Runs without root: what any user can make, with exact statistics.
TEST_F(TreeTransferTest, SmallTreeRoundTripWithStatsAndProgress) {
  const std::string src = MakeDir("src");
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((src + "/d/empty").c_str(), 0755), 0);
  {
    std::ofstream(src + "/d/f") << "hello";
    std::ofstream(src + "/big") << std::string(3 * kMiB + 5, 'b');
    std::ofstream(src + "/zero");
  }
  ASSERT_EQ(::link((src + "/d/f").c_str(), (src + "/g").c_str()), 0);
  ASSERT_EQ(::symlink("d/f", (src + "/s").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/p").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(src.c_str(), 0705), 0);

  std::vector<std::string> seen;
  ImportOptions options;
  options.progress = [&](const ImportProgress& p) { seen.emplace_back(p.path); };
  auto stats = ImportTree(*fs_, src, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->files, 3u);  // d/f, big, zero
  EXPECT_EQ(stats->directories, 2u);
  EXPECT_EQ(stats->symlinks, 1u);
  EXPECT_EQ(stats->specials, 1u);
  EXPECT_EQ(stats->hardlinks, 1u);
  EXPECT_EQ(stats->bytes, 5 + 3 * kMiB + 5);
  EXPECT_EQ(seen.size(), 9u);  // eight entries and the top
  EXPECT_EQ(seen.back(), ".");
  EXPECT_EQ(fs_->GetAttr(kRootIno)->mode & 07777, 0705u);
  EXPECT_EQ(fs_->GetAttr(LookupPath(*fs_, "g"))->nlink, 2u);

  const std::string dst = dir_.File("dst");
  auto out = ExportTree(*fs_, dst, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->files, 3u);
  EXPECT_EQ(out->hardlinks, 1u);
  EXPECT_EQ(out->bytes, stats->bytes);
  const auto diffs = CompareTrees(src, dst);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);
}

// The comparison itself must see differences, or the round trips prove nothing.
TEST_F(TreeTransferTest, CompareTreesReportsEachKindOfDifference) {
  const std::string a = MakeDir("a");
  const std::string b = MakeDir("b");
  for (const std::string& t : {a, b}) {
    std::ofstream(t + "/f") << "same";
    std::ofstream(t + "/g") << "content";
  }
  std::ofstream(b + "/g", std::ios::trunc) << "CONTENT";
  ASSERT_EQ(::chmod((b + "/f").c_str(), 0600), 0);
  ASSERT_EQ(::setxattr((b + "/f").c_str(), "user.x", "1", 1, 0), 0);
  ASSERT_EQ(::symlink("f", (b + "/extra").c_str()), 0);
  {
    UniqueFd fd(::open((b + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_EQ(::pwrite(fd.get(), "x", 1, 8192), 1);
  }
  {
    UniqueFd fd(::open((a + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_EQ(::ftruncate(fd.get(), 8193), 0);
  }
  const struct timespec t[2] = {{1, 1}, {2, 2}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (b + "/g").c_str(), t, 0), 0);
  const std::string all = Join(CompareTrees(a, b));
  EXPECT_NE(all.find("f: mode"), std::string::npos) << all;
  EXPECT_NE(all.find("f: xattr user.x unexpected"), std::string::npos) << all;
  EXPECT_NE(all.find("g: content differs at byte 0"), std::string::npos) << all;
  EXPECT_NE(all.find("g: mtime"), std::string::npos) << all;
  EXPECT_NE(all.find("g: atime"), std::string::npos) << all;
  EXPECT_NE(all.find("extra: unexpected"), std::string::npos) << all;
  EXPECT_NE(all.find("sparse: data map"), std::string::npos) << all;
  EXPECT_NE(all.find("sparse: content differs at byte 8192"), std::string::npos) << all;
  TreeCompareOptions lax;
  lax.atime = false;
  lax.skip = {"extra"};
  const std::string some = Join(CompareTrees(a, b, lax));
  EXPECT_EQ(some.find("atime"), std::string::npos) << some;
  EXPECT_EQ(some.find("extra"), std::string::npos) << some;
}

TEST_F(TreeTransferTest, ImportThenExportOfARealTreeKeepsEverything) {
  REQUIRE_ROOT();
  const std::string src = MakeDir("src");
  for (const char* system_dir : {"/usr/include", "/usr/share/zoneinfo"}) {
    struct stat st;
    if (::stat(system_dir, &st) != 0) continue;
    // A private copy (cp -a keeps times, owners, xattrs and links): builds on
    // this machine read /usr/include and would move its atimes meanwhile.
    const std::string cmd = std::string("cp -a ") + system_dir + " " + src + "/";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const std::string special = src + "/special";
  ASSERT_EQ(::mkdir(special.c_str(), 0755), 0);
  ASSERT_OK(testing::BuildSpecialTree(special));
  ASSERT_EQ(::chmod(src.c_str(), 0715), 0);
  ASSERT_EQ(::setxattr(src.c_str(), "user.import_top", "carried onto the root", 21, 0), 0);
  const struct timespec top_times[2] = {{1234567890, 111111111}, {1234567891, 222222221}};
  ASSERT_EQ(::utimensat(AT_FDCWD, src.c_str(), top_times, 0), 0);

  struct stat link_before;
  ASSERT_EQ(::lstat((special + "/rel").c_str(), &link_before), 0);
  const uint64_t read_before = BytesRead();
  auto stats = ImportTree(*fs_, src, {});
  const uint64_t read_bytes = BytesRead() - read_before;
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // The 1 GiB sparse file is three islands: neither read nor stored whole.
  EXPECT_LT(read_bytes, 512 * kMiB);
  EXPECT_LT(stats->bytes, 512 * kMiB);
  EXPECT_LT(store_->used_blocks() * kBlockSize, 512 * kMiB);
  EXPECT_EQ(stats->specials, 5u);   // fifo, sock, null, loop, links/fifo
  EXPECT_GE(stats->hardlinks, 3u);  // links/b, other/c, links/fifo2 (+ zoneinfo's)
  auto ranges = fs_->DataRanges(LookupPath(*fs_, "special/sparse"));
  ASSERT_TRUE(ranges.ok());
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ((*ranges)[0].offset_bytes, 12288u);  // the block holding offset 12345
  EXPECT_EQ((*ranges)[1].offset_bytes, 300 * kMiB);
  EXPECT_EQ((*ranges)[1].length_bytes, 8192u);
  EXPECT_EQ((*ranges)[2].offset_bytes + (*ranges)[2].length_bytes, kGiB);

  // A symlink's atime is the one from before import read the link (which
  // moved the source's: readlink has no O_NOATIME).
  const Attr link = fs_->GetAttr(LookupPath(*fs_, "special/rel")).value();
  EXPECT_EQ(link.atime.sec, link_before.st_atim.tv_sec);
  EXPECT_EQ(link.atime.nsec, link_before.st_atim.tv_nsec);

  const std::string dst = dir_.File("dst");
  auto out = ExportTree(*fs_, dst, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  struct stat link_after;
  ASSERT_EQ(::lstat((dst + "/special/rel").c_str(), &link_after), 0);
  EXPECT_EQ(link_after.st_atim.tv_sec, link_before.st_atim.tv_sec);
  EXPECT_EQ(link_after.st_atim.tv_nsec, link_before.st_atim.tv_nsec);
  EXPECT_EQ(out->files, stats->files);
  EXPECT_EQ(out->directories, stats->directories);
  EXPECT_EQ(out->symlinks, stats->symlinks);
  EXPECT_EQ(out->specials, stats->specials);
  EXPECT_EQ(out->hardlinks, stats->hardlinks);
  EXPECT_EQ(out->bytes, stats->bytes);
  auto diffs = CompareTrees(src, dst);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);

  // A frozen generation (a snapshot) exports the same; here one subtree.
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  FileSystem snapshot = store_->AtGeneration(*frozen).value();
  ExportOptions subtree;
  subtree.from = LookupPath(snapshot, "special");
  const std::string dst2 = dir_.File("dst2");
  auto part = ExportTree(snapshot, dst2, subtree);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_LT(part->files, out->files);
  diffs = CompareTrees(special, dst2);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);
}

TEST_F(TreeTransferTest, GnuTarStreamImports) {
  REQUIRE_ROOT();
  const std::string src = MakeDir("src");
  ASSERT_OK(testing::BuildSpecialTree(src));
  // GNU tar's stream: pax, SCHILY.xattr and SCHILY.acl records, GNU sparse 1.0.
  auto stats = ImportWithTar(*fs_, src);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // GNU tar leaves the socket out ("socket ignored") and stores the fifo's
  // second name as a second fifo, not as a link.
  EXPECT_EQ(stats->specials, 5u);  // fifo, null, loop, links/fifo, links/fifo2
  EXPECT_EQ(stats->hardlinks, 2u);
  EXPECT_LT(stats->bytes, 16 * kMiB);  // sparse members: the islands only
  const std::string dst = dir_.File("dst");
  ASSERT_TRUE(ExportTree(*fs_, dst, {}).ok());
  TreeCompareOptions gnu;
  gnu.skip = {"sock", "links/fifo", "links/fifo2"};
  auto diffs = CompareTrees(src, dst, gnu);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);
  struct stat st;
  ASSERT_EQ(::lstat((dst + "/links/fifo2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  // And back out as a tar stream, extracted by GNU tar (which sets atimes
  // to the time of extraction).
  const std::string dst2 = MakeDir("dst2");
  std::vector<std::string> argv = kTarExtract;
  argv.insert(argv.end(), {"-C", dst2});
  Child tar = Spawn(argv, /*child_writes=*/false);
  auto out = ExportTar(*fs_, tar.fd.get(), {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(Wait(tar), 0) << "tar -x failed";
  gnu.atime = false;
  diffs = CompareTrees(src, dst2, gnu);
  EXPECT_TRUE(diffs.empty()) << "ImportTar, ExportTar, tar -x:" << Join(diffs);
}

// GNU tar's own format: long names in 'L' records, old GNU sparse headers,
// whole-second times and no xattrs.
TEST_F(TreeTransferTest, GnuFormatStreamImports) {
  REQUIRE_ROOT();
  const std::string src = MakeDir("src");
  ASSERT_OK(testing::BuildSpecialTree(src));
  Child tar = Spawn({"tar", "--format=gnu", "--sparse", "--sort=name", "-cf", "-", "-C", src, "."},
                    /*child_writes=*/true);
  auto stats = ImportTar(*fs_, tar.fd.get(), {});
  ASSERT_EQ(Wait(tar), 0);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  auto ranges = fs_->DataRanges(LookupPath(*fs_, "sparse"));
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ(ranges->size(), 3u);
  EXPECT_EQ(fs_->GetAttr(LookupPath(*fs_, "sparse"))->size, kGiB);
  EXPECT_TRUE(fs_->DataRanges(LookupPath(*fs_, "all_hole"))->empty());
  EXPECT_EQ(fs_->GetAttr(LookupPath(*fs_, "links/a"))->nlink, 3u);
  EXPECT_TRUE(fs_->Lookup(kRootIno, std::string(255, 'n')).ok());
  const Attr setuid = fs_->GetAttr(LookupPath(*fs_, "setuid")).value();
  EXPECT_EQ(setuid.mode, S_IFREG | 04755u);
  const Attr loop = fs_->GetAttr(LookupPath(*fs_, "loop")).value();
  EXPECT_EQ(loop.rdev, makedev(7, 0));
  struct stat st = {};
  ASSERT_EQ(::stat((src + "/medium").c_str(), &st), 0);
  const Ino medium = LookupPath(*fs_, "medium");
  std::string got(static_cast<size_t>(st.st_size), '\0');
  ASSERT_EQ(*fs_->Read(medium, 0, got), got.size());
  std::ifstream in(src + "/medium", std::ios::binary);
  const std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(got == want) << "medium differs";
}

TEST_F(TreeTransferTest, TarExportRoundTrips) {
  REQUIRE_ROOT();
  const std::string src = MakeDir("src");
  ASSERT_OK(testing::BuildSpecialTree(src));
  auto stats = ImportTree(*fs_, src, {});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ExportOptions options;
  options.skip_sockets = true;  // tar cannot hold sockets
  TreeCompareOptions no_socket;
  no_socket.skip = {"sock"};

  // Into GNU tar, which sets atimes to the time of extraction.
  const std::string dst = MakeDir("dst");
  std::vector<std::string> argv = kTarExtract;
  argv.insert(argv.end(), {"-C", dst});
  Child tar = Spawn(argv, /*child_writes=*/false);
  auto out = ExportTar(*fs_, tar.fd.get(), options);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(Wait(tar), 0) << "tar -x failed";
  EXPECT_EQ(out->skipped, 1u);
  EXPECT_EQ(out->hardlinks, stats->hardlinks);
  EXPECT_EQ(out->files, stats->files);
  EXPECT_EQ(out->bytes, stats->bytes);
  TreeCompareOptions gnu = no_socket;
  gnu.atime = false;
  auto diffs = CompareTrees(src, dst, gnu);
  EXPECT_TRUE(diffs.empty()) << "ExportTar then tar -x:" << Join(diffs);

  // Into ImportTar, which keeps the atimes too.
  const std::string file = dir_.File("export.tar");
  {
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(ExportTar(*fs_, fd.get(), options).ok());
  }
  ASSERT_OK(store_->CreateContainer("c2"));
  FileSystem c2 = store_->Head("c2").value();
  {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    auto again = ImportTar(c2, fd.get(), {});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->files, stats->files);
    EXPECT_EQ(again->hardlinks, stats->hardlinks);
    EXPECT_EQ(again->bytes, stats->bytes);
  }
  const std::string dst2 = dir_.File("dst2");
  ASSERT_TRUE(ExportTree(c2, dst2, {}).ok());
  diffs = CompareTrees(src, dst2, no_socket);
  EXPECT_TRUE(diffs.empty()) << "ExportTar then ImportTar:" << Join(diffs);
}

TEST_F(TreeTransferTest, AclTextWithoutXattrsBecomesRawAcls) {
  REQUIRE_ROOT();
  const std::string src = MakeDir("src");
  ASSERT_OK(testing::BuildSpecialTree(src));
  // `tar --acls` without --xattrs: ACLs only as SCHILY.acl.* text.
  Child tar = Spawn({"tar", "--acls", "--format=posix", "-cf", "-", "-C", src, "acl", "acl_dir"},
                    /*child_writes=*/true);
  auto stats = ImportTar(*fs_, tar.fd.get(), {});
  ASSERT_EQ(Wait(tar), 0);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const Ino acl = LookupPath(*fs_, "acl");
  const Ino acl_dir = LookupPath(*fs_, "acl_dir");
  EXPECT_EQ(*fs_->GetXattr(acl, kAclAccessXattr), HostXattr(src + "/acl", kAclAccessXattr));
  EXPECT_EQ(*fs_->GetXattr(acl_dir, kAclDefaultXattr),
            HostXattr(src + "/acl_dir", kAclDefaultXattr));
  // The mode's group bits are the ACL's mask (rwx), not its group entry (r).
  EXPECT_EQ(fs_->GetAttr(acl)->mode, S_IFREG | 0670u);
  // A directory whose access ACL is only its mode gets no access xattr.
  EXPECT_CODE(Code::kNoData, fs_->GetXattr(acl_dir, kAclAccessXattr).status());
}

TEST_F(TreeTransferTest, BadSourcesAreNamed) {
  const std::string missing = dir_.File("no-such-dir");
  auto r = ImportTree(*fs_, missing, {});
  EXPECT_CODE(Code::kNotFound, r.status());
  EXPECT_NE(r.status().message().find("'" + missing + "' does not exist"), std::string::npos)
      << r.status().ToString();

  const std::string file = dir_.File("a-file");
  std::ofstream(file) << "not a directory";
  r = ImportTree(*fs_, file, {});
  EXPECT_CODE(Code::kNotDirectory, r.status());
  EXPECT_NE(r.status().message().find("is not a directory"), std::string::npos)
      << r.status().ToString();

  FileSystem frozen = store_->AtGeneration(store_->Freeze("c1").value()).value();
  EXPECT_CODE(Code::kReadOnly, ImportTree(frozen, dir_.path(), {}).status());

  auto e = ExportTree(*fs_, file, {});
  EXPECT_CODE(Code::kNotDirectory, e.status());
  EXPECT_NE(e.status().message().find(file), std::string::npos) << e.status().ToString();
}

TEST_F(TreeTransferTest, ExistingNamesAreNotReplaced) {
  const std::string src = MakeDir("src");
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0755), 0);
  std::ofstream(src + "/d/f") << "1";
  ASSERT_TRUE(ImportTree(*fs_, src, {}).ok());
  // Again: the directory d merges, the file d/f is refused by name.
  auto r = ImportTree(*fs_, src, {});
  EXPECT_CODE(Code::kExists, r.status());
  EXPECT_NE(r.status().message().find("import stopped at 'd/f'"), std::string::npos)
      << r.status().ToString();
  // How many entries came before depends on the import's threads: the
  // message names the count, whatever it is.
  EXPECT_TRUE(std::regex_search(r.status().message(), std::regex(" after [0-9]+ entries")))
      << r.status().ToString();

  const std::string dst = MakeDir("dst");
  std::ofstream(dst + "/d") << "in the way";
  auto e = ExportTree(*fs_, dst, {});
  EXPECT_CODE(Code::kExists, e.status());
  EXPECT_NE(e.status().message().find("export stopped at 'd'"), std::string::npos)
      << e.status().ToString();
}

// Writes `data` to `path` and gives it the mtime (and atime) `sec`.
void WriteWithTime(const std::string& path, const std::string& data, time_t sec) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  const struct timespec times[2] = {{sec, 0}, {sec, 0}};
  EXPECT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// import --replace: the container ends equal to the source (compared by an
// export), entries that match keep their inodes and so their blocks in the
// snapshot taken before, and an unchanged source changes nothing at all.
TEST_F(TreeTransferTest, ReplaceMakesTheTreeEqualAndKeepsWhatMatches) {
  const std::string src = MakeDir("src");
  auto at = [&](const std::string& name) { return src + "/" + name; };
  WriteWithTime(at("keep"), "same bytes", 1000);
  WriteWithTime(at("big"), std::string(4 * kMiB, 'b'), 1000);
  WriteWithTime(at("grows"), "short", 1000);
  WriteWithTime(at("touched"), "AAAA", 1000);  // same size, new bytes, new mtime
  WriteWithTime(at("chmod"), "mode", 1000);
  WriteWithTime(at("xattrs"), "x", 1000);
  ASSERT_EQ(::setxattr(at("xattrs").c_str(), "user.old", "1", 1, 0), 0);
  WriteWithTime(at("gone"), "removed from the source", 1000);
  ASSERT_EQ(::mkdir(at("gone_dir").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(at("gone_dir/sub").c_str(), 0755), 0);
  WriteWithTime(at("gone_dir/sub/f"), "deep", 1000);
  ASSERT_EQ(::mkdir(at("dir_to_file").c_str(), 0755), 0);
  WriteWithTime(at("dir_to_file/f"), "in a directory", 1000);
  WriteWithTime(at("file_to_dir"), "a file", 1000);
  ASSERT_EQ(::symlink("keep", at("retarget").c_str()), 0);
  ASSERT_EQ(::symlink("keep", at("same_link").c_str()), 0);
  WriteWithTime(at("h1"), "linked", 1000);
  ASSERT_EQ(::link(at("h1").c_str(), at("h2").c_str()), 0);
  WriteWithTime(at("s1"), "split", 1000);
  ASSERT_EQ(::link(at("s1").c_str(), at("s2").c_str()), 0);
  WriteWithTime(at("j1"), "join", 1000);
  WriteWithTime(at("j2"), "join", 1000);
  ASSERT_EQ(::mkfifo(at("fifo").c_str(), 0600), 0);

  ASSERT_TRUE(ImportTree(*fs_, src, {}).ok());
  auto ino = [&](const std::string& path) { return LookupPath(*fs_, path).value; };
  const uint64_t keep_ino = ino("keep"), big_ino = ino("big"), grows_ino = ino("grows"),
                 touched_ino = ino("touched"), chmod_ino = ino("chmod"), h1_ino = ino("h1"),
                 same_link_ino = ino("same_link"), fifo_ino = ino("fifo");
  ASSERT_TRUE(store_->Freeze("c1").ok());  // a snapshot that shares every block
  const uint64_t used_before = store_->used_blocks();

  // The source changes in every way a tree can.
  WriteWithTime(at("grows"), "now longer", 1000);
  WriteWithTime(at("touched"), "BBBB", 2000);
  ASSERT_EQ(::chmod(at("chmod").c_str(), 0640), 0);
  ASSERT_EQ(::setxattr(at("xattrs").c_str(), "user.new", "2", 1, 0), 0);
  ASSERT_EQ(::removexattr(at("xattrs").c_str(), "user.old"), 0);
  ASSERT_EQ(::unlink(at("gone").c_str()), 0);
  ASSERT_EQ(std::system(("rm -r " + at("gone_dir")).c_str()), 0);
  ASSERT_EQ(std::system(("rm -r " + at("dir_to_file")).c_str()), 0);
  WriteWithTime(at("dir_to_file"), "now a file", 1000);
  ASSERT_EQ(::unlink(at("file_to_dir").c_str()), 0);
  ASSERT_EQ(::mkdir(at("file_to_dir").c_str(), 0700), 0);
  WriteWithTime(at("file_to_dir/f"), "now inside", 1000);
  ASSERT_EQ(::unlink(at("retarget").c_str()), 0);
  ASSERT_EQ(::symlink("big", at("retarget").c_str()), 0);
  ASSERT_EQ(::unlink(at("s2").c_str()), 0);
  WriteWithTime(at("s2"), "split", 1000);  // the same bytes, its own inode now
  ASSERT_EQ(::unlink(at("j2").c_str()), 0);
  ASSERT_EQ(::link(at("j1").c_str(), at("j2").c_str()), 0);
  WriteWithTime(at("new"), "added", 1000);

  int snapshots_taken = 0;
  ImportOptions replace;
  replace.replace = true;
  replace.before_first_change = [&] {
    ++snapshots_taken;
    return Status::OK();
  };
  auto stats = ImportTree(*fs_, src, replace);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(snapshots_taken, 1);

  const std::string dst = dir_.File("dst");
  ASSERT_TRUE(ExportTree(*fs_, dst, {}).ok());
  auto diffs = CompareTrees(src, dst);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);

  // What matched kept its inode; what did not is new.
  EXPECT_EQ(ino("keep"), keep_ino);
  EXPECT_EQ(ino("big"), big_ino);
  EXPECT_EQ(ino("chmod"), chmod_ino);
  EXPECT_EQ(ino("h1"), h1_ino);
  EXPECT_EQ(ino("h2"), h1_ino);
  EXPECT_EQ(ino("same_link"), same_link_ino);
  EXPECT_EQ(ino("fifo"), fifo_ino);
  EXPECT_NE(ino("grows"), grows_ino);
  EXPECT_NE(ino("touched"), touched_ino);
  EXPECT_EQ(ino("j1"), ino("j2"));
  EXPECT_NE(ino("s1"), ino("s2"));
  // gone, gone_dir, dir_to_file, file_to_dir, grows, touched, retarget, s1
  // (linked to s2, which the source split off), j2 (its own inode before).
  EXPECT_EQ(stats->removed, 9u);
  EXPECT_GE(stats->unchanged, 6u);
  // The kept 4 MiB file is still shared with the snapshot: only the
  // replaced entries' few bytes are new.
  EXPECT_LT((store_->used_blocks() - used_before) * kBlockSize, kMiB);

  // The same source again: nothing differs, nothing is written.
  snapshots_taken = 0;
  stats = ImportTree(*fs_, src, replace);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(snapshots_taken, 0);
  EXPECT_EQ(stats->removed, 0u);
  EXPECT_EQ(stats->files + stats->directories + stats->symlinks + stats->specials +
                stats->hardlinks + stats->bytes,
            0u);
  diffs = CompareTrees(src, dst);
  EXPECT_TRUE(diffs.empty()) << Join(diffs);
}

TEST_F(TreeTransferTest, ReplaceIsForDirectoriesNotTarStreams) {
  ImportOptions replace;
  replace.replace = true;
  UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_CODE(Code::kInvalidArgument, ImportTar(*fs_, fd.get(), replace).status());
}

// A tar block: a ustar header of `type` for `name` followed by `data`.
std::string TarMember(const std::string& name, char type, const std::string& data,
                      const std::string& link = "") {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011zo", data.size());
  std::snprintf(&h[136], 12, "%011o", 1000000000);
  h[156] = type;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string out = h + data;
  out.resize((out.size() + 511) / 512 * 512, '\0');
  return out;
}

// A pax extended header giving the next member the path `path`.
std::string PaxPath(const std::string& path) {
  const std::string body = " path=" + path + "\n";
  size_t length = body.size() + 1;  // the record's length counts its own digits
  while (std::to_string(length).size() + body.size() != length) ++length;
  return TarMember("PaxHeader", 'x', std::to_string(length) + body);
}

class TarStreamTest : public TreeTransferTest {
 protected:
  // Imports `stream` through a pipe.
  Result<ImportStats> ImportBytes(const std::string& stream) {
    const std::string path = dir_.File("stream.tar");
    std::ofstream(path, std::ios::binary) << stream;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return ImportTar(*fs_, fd.get(), {});
  }
  const std::string end_ = std::string(1024, '\0');
};

TEST_F(TarStreamTest, GarbageIsMalformed) {
  std::string garbage;
  for (int i = 0; i < 100; ++i) garbage += "this is not a tar stream\n";
  auto r = ImportBytes(garbage);
  EXPECT_CODE(Code::kCorruption, r.status());
  EXPECT_NE(r.status().message().find("malformed tar stream"), std::string::npos)
      << r.status().ToString();
}

TEST_F(TarStreamTest, TruncatedStreamNamesTheEntryAndKeepsWhatCameBefore) {
  const std::string stream = TarMember("first", '0', "complete") +
                             TarMember("second", '0', std::string(200000, 's')) + end_;
  auto r = ImportBytes(stream.substr(0, 100000));  // in the middle of second's data
  EXPECT_CODE(Code::kCorruption, r.status());
  EXPECT_NE(r.status().message().find("'second'"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("after 1 entries"), std::string::npos)
      << r.status().ToString();
  auto first = fs_->Lookup(kRootIno, "first");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->attr.size, 8u);
}

TEST_F(TarStreamTest, BadPathsAndLinksAreNamed) {
  auto r = ImportBytes(TarMember("../escape", '0', "x") + end_);
  EXPECT_CODE(Code::kInvalidArgument, r.status());
  EXPECT_NE(r.status().message().find("'../escape' contains '..'"), std::string::npos)
      << r.status().ToString();

  const std::string long_name = "dir/" + std::string(256, 'L');
  r = ImportBytes(PaxPath(long_name) + TarMember("short", '0', "x") + end_);
  EXPECT_CODE(Code::kNameTooLong, r.status());
  EXPECT_NE(r.status().message().find("name of 256 bytes"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find(long_name), std::string::npos);

  r = ImportBytes(TarMember("link", '1', "", "nowhere") + end_);
  EXPECT_CODE(Code::kInvalidArgument, r.status());
  EXPECT_NE(r.status().message().find("hard link to 'nowhere'"), std::string::npos)
      << r.status().ToString();

  // Entries in any order: "x/y/z" before "x/" makes x and x/y, and x takes
  // its mode when its own entry comes.
  r = ImportBytes(TarMember("x/y/z", '0', "deep") + TarMember("x/", '5', "") + end_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->directories, 2u);  // x and x/y made; x's own entry adds none
  EXPECT_EQ(fs_->Lookup(kRootIno, "x")->attr.mode, S_IFDIR | 0644u);
}

TEST_F(TreeTransferTest, SocketsCannotGoIntoATarStream) {
  ASSERT_TRUE(fs_->Mknod(kRootIno, "sock", S_IFSOCK | 0755, 0, {}).ok());
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto r = ExportTar(*fs_, null.get(), {});
  EXPECT_CODE(Code::kNotSupported, r.status());
  EXPECT_NE(r.status().message().find("'sock'"), std::string::npos) << r.status().ToString();
  ExportOptions skip;
  skip.skip_sockets = true;
  r = ExportTar(*fs_, null.get(), skip);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->skipped, 1u);
  EXPECT_EQ(r->specials, 0u);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
