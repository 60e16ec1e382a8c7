// Restore while mounted with thousands, and a hundred thousand, of inodes cached: after
// Store::Branch and Session::InvalidateDifference (what the daemon's
// restore does), every path walk, stat, readdir, readlink, xattr read and
// read sees exactly the restored tree, although only what differs was
// invalidated. The reference is the tree as the mount showed it when the
// snapshot was taken. Each test runs with the writeback cache off and on.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/sanitizers.h"
#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

// path (relative to the mountpoint) -> everything stat, readlink,
// listxattr/getxattr and read show of it.
using Tree = std::map<std::string, std::string>;

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  EXPECT_NE(d, nullptr) << dir << ": " << std::strerror(errno);
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// With `file_mtime` false, a regular file's mtime is left out: with the
// writeback cache the kernel keeps it as its own, and after a truncate or
// an O_TRUNC rewrite its value is a few ms off the one the engine stored,
// so a fresh inode (a replaced one, as after any restore or remount) shows
// another mtime than the cached one did. A limitation of the writeback
// cache on its own, not of restores; everything else is compared.
std::string Describe(const std::string& path, bool file_mtime) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  std::string d = "mode=" + std::to_string(st.st_mode) + " uid=" + std::to_string(st.st_uid) +
                  " gid=" + std::to_string(st.st_gid) + " size=" + std::to_string(st.st_size) +
                  " ino=" + std::to_string(st.st_ino) + " rdev=" + std::to_string(st.st_rdev);
  if (file_mtime || !S_ISREG(st.st_mode)) {
    d += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  if (!S_ISDIR(st.st_mode)) d += " nlink=" + std::to_string(st.st_nlink);
  if (S_ISREG(st.st_mode)) d += " data=" + ReadFile(path);
  if (S_ISLNK(st.st_mode)) {
    char target[256] = {};
    EXPECT_GT(::readlink(path.c_str(), target, sizeof(target) - 1), 0) << path;
    d += std::string(" target=") + target;
  }
  char names[4096];
  const ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
  std::vector<std::string> xattrs;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    xattrs.emplace_back(names + i);
  }
  std::sort(xattrs.begin(), xattrs.end());
  for (const std::string& x : xattrs) {
    char value[256] = {};
    const ssize_t len = ::lgetxattr(path.c_str(), x.c_str(), value, sizeof(value));
    d += " xattr:" + x + "=" + std::string(value, len > 0 ? len : 0);
  }
  return d;
}

// Reads the whole tree through the mount, which also makes the kernel
// cache every name, inode, attribute and page of it.
void Walk(const std::string& root, const std::string& rel, bool file_mtime, Tree* out) {
  const std::string dir = rel.empty() ? root : root + "/" + rel;
  for (const std::string& name : List(dir)) {
    const std::string child = rel.empty() ? name : rel + "/" + name;
    (*out)[child] = Describe(root + "/" + child, file_mtime);
    struct stat st;
    if (::lstat((root + "/" + child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      Walk(root, child, file_mtime, out);
    }
  }
}

// Every difference, one line each, for a readable failure.
std::string Differences(const Tree& want, const Tree& got) {
  std::string out;
  size_t shown = 0;
  auto add = [&](const std::string& line) {
    if (++shown <= 20) out += line + "\n";
  };
  for (const auto& [path, d] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      add("missing " + path);
    } else if (it->second != d) {
      add("stale " + path + "\n  want " + d + "\n  got  " + it->second);
    }
  }
  for (const auto& [path, d] : got) {
    if (want.count(path) == 0) add("extra " + path + " " + d);
  }
  if (shown > 20) out += "... " + std::to_string(shown - 20) + " more\n";
  return out;
}

class RestoreTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.writeback_cache = GetParam();
    return o;
  }

  Tree WalkAll() {
    Tree t;
    Walk(mountpoint(), "", /*file_mtime=*/!GetParam(), &t);
    return t;
  }

  GenId Freeze() {
    EXPECT_OK(session().FlushDirtyData());
    auto g = store().Freeze("c1");
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : GenId();
  }

  // What the daemon's restore does: branch, then invalidate what differs.
  fusefs::InvalidationStats RestoreTo(GenId snapshot) {
    const GenId old_head = store().HeadOf("c1").value();
    auto new_head = store().Branch("c1", snapshot);
    EXPECT_TRUE(new_head.ok()) << new_head.status().ToString();
    if (!new_head.ok()) return {};
    auto stats = session().InvalidateDifference(old_head, *new_head);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : fusefs::InvalidationStats();
  }

  void Mkdir(const std::string& rel) { ASSERT_EQ(::mkdir(P(rel).c_str(), 0755), 0) << rel; }

  // The errno a descriptor opened before a restore gets (docs/design.md,
  // "File handles across a restore").
  int StaleErrno() const { return GetParam() ? EIO : ESTALE; }

  void RestoreAfterEveryKindOfChange(int dirs, int files_per_dir);
};

constexpr int kDirs = 20;
constexpr int kFilesPerDir = 100;
// Issue 12's scale: 100,000 inodes cached. A tenth under a sanitizer (CI's
// second and third passes), where the walks through the mount are several
// times slower; the full count runs in the first pass.
#ifdef HOODYFS_SANITIZED
constexpr int kManyDirs = 20;
constexpr int kManyFilesPerDir = 500;
#else
constexpr int kManyDirs = 100;
constexpr int kManyFilesPerDir = 1000;
#endif

std::string FileName(int dir, int file) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "d%02d/f%03d", dir, file);
  return buf;
}

// The snapshot: `dirs` directories of `files_per_dir` small files, and one
// of each kind of change below (which needs at least 13 directories of 31
// files); after it, every kind of change, cached by a walk; then the
// restore, and a walk that must find the snapshot's tree exactly.
void RestoreTest::RestoreAfterEveryKindOfChange(int dirs, int files_per_dir) {
  for (int d = 0; d < dirs; ++d) {
    char name[16];
    std::snprintf(name, sizeof name, "d%02d", d);
    ASSERT_NO_FATAL_FAILURE(Mkdir(name));
    for (int f = 0; f < files_per_dir; ++f) WriteFile(P(FileName(d, f)), "v1 " + FileName(d, f));
  }
  WriteFile(P("big"), std::string(64 << 10, 'b'));  // block-mapped, not inline
  WriteFile(P("hard1"), "linked");
  ASSERT_EQ(::link(P("hard1").c_str(), P("hard2").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Mkdir("dir_then_file"));
  WriteFile(P("dir_then_file/inside"), "in a directory");
  WriteFile(P("file_then_dir"), "a file");
  WriteFile(P("attrs"), "attributes change");
  ASSERT_EQ(::setxattr(P("attrs").c_str(), "user.a", "1", 1, 0), 0);
  ASSERT_EQ(::setxattr(P("attrs").c_str(), "user.gone", "x", 1, 0), 0);
  ASSERT_EQ(::symlink("target-one", P("sym").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Mkdir("moved_dir"));
  WriteFile(P("moved_dir/child"), "child");
  const Tree at_snapshot = WalkAll();
  ASSERT_GT(at_snapshot.size(), static_cast<size_t>(dirs * files_per_dir));
  const GenId v1 = Freeze();

  // After it: every kind of change, then a walk so the kernel caches the
  // changed tree (names, negative names, attributes, pages).
  {
    UniqueFd fd(::open(P("big").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), std::string(4096, 'X').data(), 4096, 8192), 4096);
  }
  WriteFile(P(FileName(3, 5)), "v2 " + FileName(3, 5));           // same size, in place
  WriteFile(P(FileName(4, 10)), "v2 longer " + FileName(4, 10));  // grows
  ASSERT_EQ(::truncate(P(FileName(5, 0)).c_str(), 0), 0);
  WriteFile(P("d05/added"), "added after the snapshot");
  ASSERT_NO_FATAL_FAILURE(Mkdir("new_dir"));
  WriteFile(P("new_dir/file"), "in a new directory");
  ASSERT_EQ(::unlink(P(FileName(6, 20)).c_str()), 0);
  for (int f = 0; f < files_per_dir; ++f) ASSERT_EQ(::unlink(P(FileName(7, f)).c_str()), 0);
  ASSERT_EQ(::rmdir(P("d07").c_str()), 0);
  ASSERT_EQ(::rename(P(FileName(8, 30)).c_str(), P("d09/moved_here").c_str()), 0);
  ASSERT_EQ(::rename(P("moved_dir").c_str(), P("d10/moved_dir").c_str()), 0);
  ASSERT_EQ(::link(P("hard1").c_str(), P("d11/hard3").c_str()), 0);
  ASSERT_EQ(::unlink(P("hard2").c_str()), 0);
  ASSERT_EQ(::unlink(P("dir_then_file/inside").c_str()), 0);
  ASSERT_EQ(::rmdir(P("dir_then_file").c_str()), 0);
  WriteFile(P("dir_then_file"), "now a file");
  ASSERT_EQ(::unlink(P("file_then_dir").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Mkdir("file_then_dir"));
  WriteFile(P("file_then_dir/inside"), "now a directory");
  ASSERT_EQ(::chmod(P("attrs").c_str(), 0600), 0);
  ASSERT_EQ(::chown(P("attrs").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::setxattr(P("attrs").c_str(), "user.a", "2", 1, 0), 0);
  ASSERT_EQ(::setxattr(P("attrs").c_str(), "user.new", "n", 1, 0), 0);
  ASSERT_EQ(::removexattr(P("attrs").c_str(), "user.gone"), 0);
  ASSERT_EQ(::unlink(P("sym").c_str()), 0);
  ASSERT_EQ(::symlink("target-two", P("sym").c_str()), 0);
  const Tree changed = WalkAll();
  ASSERT_NE(Differences(at_snapshot, changed), "");
  // Negative entries of names the snapshot has.
  struct stat st;
  for (const char* gone : {"d06/f020", "d07", "hard2", "moved_dir", "d08/f030"}) {
    ASSERT_NE(::lstat(P(gone).c_str(), &st), 0) << gone;
  }
  // Descriptors opened before the restore, on a changed and an unchanged file.
  UniqueFd on_changed(::open(P("big").c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd on_unchanged(::open(P(FileName(12, 12)).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(on_changed.valid() && on_unchanged.valid());

  const fusefs::InvalidationStats stats = RestoreTo(v1);
  // Only what differs (and the two open files): a small part of the
  // thousands of names and inodes the kernel holds.
  EXPECT_FALSE(stats.full);
  EXPECT_GT(stats.inodes, 0u);
  EXPECT_LT(stats.inodes + stats.names, at_snapshot.size() / 4);

  // The descriptors opened before it are stale, changed file or not (the
  // path walks first: with the writeback cache they replace the inodes).
  // Before anything reads the files again: pages cached through a new
  // descriptor would serve an old one (docs/design.md).
  ASSERT_EQ(::lstat(P("big").c_str(), &st), 0);
  ASSERT_EQ(::lstat(P(FileName(12, 12)).c_str(), &st), 0);
  char buf[16];
  EXPECT_EQ(::pread(on_changed.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, StaleErrno());
  EXPECT_EQ(::pread(on_unchanged.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, StaleErrno());

  const Tree restored = WalkAll();
  EXPECT_EQ(Differences(at_snapshot, restored), "");
  for (const char* gone :
       {"d05/added", "new_dir", "d09/moved_here", "d10/moved_dir", "d11/hard3"}) {
    EXPECT_NE(::lstat(P(gone).c_str(), &st), 0) << gone << " survived the restore";
    EXPECT_EQ(errno, ENOENT);
  }
  // New work lands in the restored head.
  WriteFile(P("d00/after"), "after the restore");
  EXPECT_EQ(ReadFile(P("d00/after")), "after the restore");
}

TEST_P(RestoreTest, SeesExactlyTheRestoredTreeWithThousandsCached) {
  RestoreAfterEveryKindOfChange(kDirs, kFilesPerDir);
}

TEST_P(RestoreTest, SeesExactlyTheRestoredTreeWithAHundredThousandCached) {
  RestoreAfterEveryKindOfChange(kManyDirs, kManyFilesPerDir);
}

// A file whose bytes changed in place, with its size and times put back:
// only the pages differ, and a narrower invalidation (names only, or
// attributes without pages) would serve the discarded head's bytes.
TEST_P(RestoreTest, ContentChangedUnderTheSameNameIsNotServedFromCache) {
  const std::string original(256 << 10, 'o');
  WriteFile(P("same_name"), original);
  WriteFile(P("small"), "inline bytes");
  ASSERT_EQ(::setxattr(P("small").c_str(), "user.k", "v1", 2, 0), 0);
  struct stat before;
  ASSERT_EQ(::stat(P("same_name").c_str(), &before), 0);
  const GenId v1 = Freeze();
  {
    UniqueFd fd(::open(P("same_name").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), std::string(4096, 'N').data(), 4096, 128 << 10), 4096);
  }
  {
    UniqueFd fd(::open(P("small").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), "INLINE", 6, 0), 6);
  }
  ASSERT_EQ(::setxattr(P("small").c_str(), "user.k", "v2", 2, 0), 0);
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("same_name").c_str(), times, 0), 0);
  // Cache the new bytes.
  ASSERT_EQ(ReadFile(P("same_name")).substr(128 << 10, 4), "NNNN");
  ASSERT_EQ(ReadFile(P("small")), "INLINE bytes");

  const fusefs::InvalidationStats stats = RestoreTo(v1);
  EXPECT_FALSE(stats.full);
  EXPECT_EQ(ReadFile(P("same_name")), original);
  EXPECT_EQ(ReadFile(P("small")), "inline bytes");
  char value[8] = {};
  ASSERT_EQ(::getxattr(P("small").c_str(), "user.k", value, sizeof value), 2);
  EXPECT_EQ(std::string(value, 2), "v1");
  // The same through a descriptor opened after the restore, and its fstat.
  UniqueFd fd(::open(P("same_name").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::string got(4, '\0');
  ASSERT_EQ(::pread(fd.get(), got.data(), 4, 128 << 10), 4);
  EXPECT_EQ(got, "oooo");
  struct stat after;
  ASSERT_EQ(::fstat(fd.get(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

// Random changes over several snapshots, then restores back and forth
// across them (each leaving changes of its own behind, so later restores
// cross branches), comparing the whole tree after each.
TEST_P(RestoreTest, RestoresAcrossManyChangesAndBranches) {
  const unsigned seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (--gtest_random_seed)");
  std::mt19937 rng(seed);
  std::vector<std::string> files, dirs;
  for (int d = 0; d < 8; ++d) {
    const std::string dir = "d" + std::to_string(d);
    ASSERT_NO_FATAL_FAILURE(Mkdir(dir));
    dirs.push_back(dir);
    for (int f = 0; f < 60; ++f) {
      files.push_back(dir + "/f" + std::to_string(f));
      WriteFile(P(files.back()), "base " + files.back());
    }
  }
  int serial = 0;
  auto pick = [&](std::vector<std::string>& v) -> std::string& {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  // One random change; `files` and `dirs` follow the tree.
  auto change = [&] {
    const std::string fresh = "n" + std::to_string(serial++);
    switch (std::uniform_int_distribution<int>(0, 8)(rng)) {
      case 0: {
        UniqueFd fd(::open(P(pick(files)).c_str(), O_WRONLY | O_CLOEXEC));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(::pwrite(fd.get(), fresh.data(), fresh.size(), rng() % 8),
                  static_cast<ssize_t>(fresh.size()));
        break;
      }
      case 1:
        files.push_back(pick(dirs) + "/" + fresh);
        WriteFile(P(files.back()), "new " + fresh);
        break;
      case 2:
        if (files.size() > 50) {
          std::string& f = pick(files);
          ASSERT_EQ(::unlink(P(f).c_str()), 0) << f;
          f = files.back();
          files.pop_back();
        }
        break;
      case 3: {
        std::string& f = pick(files);
        const std::string to = pick(dirs) + "/" + fresh;
        ASSERT_EQ(::rename(P(f).c_str(), P(to).c_str()), 0) << f;
        f = to;
        break;
      }
      case 4:
        ASSERT_EQ(::chmod(P(pick(files)).c_str(), 0600 | (rng() % 0100)), 0);
        break;
      case 5:
        ASSERT_EQ(::setxattr(P(pick(files)).c_str(), "user.r", fresh.data(), fresh.size(), 0), 0);
        break;
      case 6: {
        const std::string to = pick(dirs) + "/" + fresh;
        ASSERT_EQ(::link(P(pick(files)).c_str(), P(to).c_str()), 0);
        files.push_back(to);
        break;
      }
      case 7: {
        const std::string dir = pick(dirs) + "/" + fresh;
        ASSERT_NO_FATAL_FAILURE(Mkdir(dir));
        dirs.push_back(dir);
        files.push_back(dir + "/inside");
        WriteFile(P(files.back()), "inside " + dir);
        break;
      }
      case 8:
        ASSERT_EQ(::truncate(P(pick(files)).c_str(), rng() % 16), 0);
        break;
    }
  };
  struct Saved {
    GenId gen;
    Tree tree;
    std::vector<std::string> files, dirs;
  };
  std::vector<Saved> snapshots;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 120; ++i) ASSERT_NO_FATAL_FAILURE(change());
    Tree tree = WalkAll();
    snapshots.push_back(Saved{Freeze(), std::move(tree), files, dirs});
  }
  size_t full = 0;
  for (size_t target : {0u, 4u, 2u, 1u, 3u, 0u}) {
    SCOPED_TRACE("restore to snapshot " + std::to_string(target));
    // Changes in the head the restore replaces, cached by a walk.
    for (int i = 0; i < 40; ++i) ASSERT_NO_FATAL_FAILURE(change());
    (void)WalkAll();
    const fusefs::InvalidationStats stats = RestoreTo(snapshots[target].gen);
    full += stats.full ? 1 : 0;
    ASSERT_EQ(Differences(snapshots[target].tree, WalkAll()), "");
    files = snapshots[target].files;
    dirs = snapshots[target].dirs;
  }
  EXPECT_EQ(full, 0u) << "with the whole tree cached, the difference is the cheaper way";
}

// With little cached and much changed, reading the difference would cost
// more than invalidating what the kernel holds: it does that instead, and
// the mount is as coherent.
TEST_P(RestoreTest, FallsBackToEverythingWhenTheDifferenceIsLarger) {
  WriteFile(P("kept"), "kept");
  const Tree empty_ish = WalkAll();
  const GenId v0 = Freeze();
  ASSERT_NO_FATAL_FAILURE(Mkdir("many"));
  for (int i = 0; i < 1500; ++i) WriteFile(P("many/f" + std::to_string(i)), std::to_string(i));
  WriteFile(P("kept"), "changed");
  const Tree full_tree = WalkAll();
  const GenId v1 = Freeze();
  ASSERT_NO_FATAL_FAILURE(Remount());  // cold caches: the kernel holds little
  struct stat st;
  ASSERT_EQ(::stat(P("many/f7").c_str(), &st), 0);
  ASSERT_EQ(ReadFile(P("kept")), "changed");

  fusefs::InvalidationStats stats = RestoreTo(v0);
  EXPECT_TRUE(stats.full);
  EXPECT_NE(::stat(P("many/f7").c_str(), &st), 0);
  EXPECT_EQ(Differences(empty_ish, WalkAll()), "");

  stats = RestoreTo(v1);
  EXPECT_TRUE(stats.full);
  EXPECT_EQ(Differences(full_tree, WalkAll()), "");
}

INSTANTIATE_TEST_SUITE_P(WritebackCache, RestoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "On" : "Off";
                         });

}  // namespace
}  // namespace hoodyfs::testing
