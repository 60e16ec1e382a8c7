// Snapshots of a mounted container: point in time (FlushDirtyData +
// Freeze), restore while mounted (Branch + InvalidateAll; restore_test.cc
// covers InvalidateDifference, what the daemon's restore runs), and
// everything reading back identical after an unmount and a remount on the
// reopened store. Each runs with the writeback cache off (the default) and on.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/page_cache.h"
#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

class SnapshotTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.writeback_cache = GetParam();
    return o;
  }
};

std::string Record(int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "record %08d ", i);
  return std::string(buf) + std::string(64 - std::strlen(buf) - 1, '.') + "\n";
}

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  EXPECT_NE(d, nullptr) << dir;
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) names.insert(e->d_name);
  ::closedir(d);
  names.erase(".");
  names.erase("..");
  return names;
}

std::string ReadEngineFile(snapshotter::FileSystem fs, const std::string& name) {
  auto e = fs.Lookup(kRootIno, name);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return "";
  std::string out(e->attr.size, '\0');
  auto n = fs.Read(e->ino, 0, out);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST_P(SnapshotTest, FreezeHoldsEveryWriteThatReturnedBeforeIt) {
  // A writer appends fixed-size records without fsync and publishes how
  // many write(2) calls have returned. The test freezes mid-stream.
  WriteFile(P("log"), "");
  UniqueFd fd(::open(P("log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::mutex mu;
  std::condition_variable cv;
  int returned = 0;  // guarded by mu
  bool stop = false;
  bool failed = false;
  std::thread writer([&] {
    for (int i = 0;; ++i) {
      {
        std::lock_guard l(mu);
        if (stop) return;
      }
      const std::string r = Record(i);
      if (::write(fd.get(), r.data(), r.size()) != static_cast<ssize_t>(r.size())) {
        std::lock_guard l(mu);
        failed = true;
        cv.notify_all();
        return;
      }
      std::lock_guard l(mu);
      returned = i + 1;
      cv.notify_all();
    }
  });
  int before = 0;
  {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return returned >= 200 || failed; });
    before = returned;
  }
  Status flushed = session().FlushDirtyData();
  auto frozen = store().Freeze("c1");
  {
    std::lock_guard l(mu);
    stop = true;
  }
  writer.join();
  ASSERT_FALSE(failed) << std::strerror(errno);
  ASSERT_OK(flushed);
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  const std::string in_snapshot = ReadEngineFile(store().AtGeneration(*frozen).value(), "log");
  const size_t rec = Record(0).size();
  ASSERT_GE(in_snapshot.size(), before * rec);
  ASSERT_EQ(in_snapshot.size() % rec, 0u) << "a torn record in the snapshot";
  for (int i = 0; i < before; ++i) {
    ASSERT_EQ(in_snapshot.substr(i * rec, rec), Record(i)) << "record " << i;
  }
  // The records after `before` raced the freeze. Without the writeback
  // cache a write reaches the daemon before it returns, so the snapshot
  // holds a prefix of the stream. With it the kernel writes pages back in
  // its own order: its flusher can send the next page before the records
  // appended to this one since the flush laundered it, so a racing record is
  // whole or zeros, as in an unsynced file after a crash (seen once in
  // about 1,400 runs with dirty pages expiring after 10 ms).
  const std::string zeros(rec, '\0');
  for (size_t i = before; i < in_snapshot.size() / rec; ++i) {
    const std::string r = in_snapshot.substr(i * rec, rec);
    if (GetParam()) {
      ASSERT_TRUE(r == Record(static_cast<int>(i)) || r == zeros) << "record " << i << ": " << r;
    } else {
      ASSERT_EQ(r, Record(static_cast<int>(i))) << "record " << i;
    }
  }
  // The head lost nothing: the live file is every record, in order.
  fd.Reset();
  const std::string live = ReadFile(P("log"));
  ASSERT_GE(live.size(), in_snapshot.size());
  ASSERT_EQ(live.size() % rec, 0u) << "a torn record in the live file";
  for (size_t i = 0; i < live.size() / rec; ++i) {
    ASSERT_EQ(live.substr(i * rec, rec), Record(static_cast<int>(i))) << "live record " << i;
  }
}

// With the writeback cache, the flush writes the dirty pages of a file open
// for writing back and leaves them cached: a streaming writer's file keeps
// its cache across every snapshot (dropping it was what a create under such
// a writer waited for). Without the cache there are no dirty pages to flush
// (each write is a request), and the kernel drops a file's pages itself
// when its mtime moves, so there is nothing to observe.
TEST_P(SnapshotTest, FlushWritesBackAndKeepsThePagesOfAFileOpenForWriting) {
  if (!GetParam()) GTEST_SKIP() << "no dirty pages without the writeback cache";
  const size_t pages = 64, size = pages * 4096;
  UniqueFd fd(::open(P("stream").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd.valid());
  const std::string data(size, 's');
  ASSERT_EQ(::pwrite(fd.get(), data.data(), size, 0), static_cast<ssize_t>(size));
  // On the descriptor the test holds: another open could drop the cache
  // (keep_cache), and a mapping of its own mount in this process, the
  // daemon too, can deadlock (docs/design.md, "FUSE layer").
  const std::optional<PageCacheState> before = PageCacheOf(fd.get(), size);
  if (!before) GTEST_SKIP() << "cachestat: " << std::strerror(errno);
  ASSERT_EQ(before->cached, pages);
  ASSERT_OK(session().FlushDirtyData());
  const std::optional<PageCacheState> after = PageCacheOf(fd.get(), size);
  ASSERT_TRUE(after.has_value()) << std::strerror(errno);
  EXPECT_EQ(after->dirty, 0u);
  EXPECT_EQ(after->writeback, 0u);
  EXPECT_EQ(after->cached, pages) << "the flush dropped clean pages";
  auto frozen = store().Freeze("c1");
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  EXPECT_EQ(ReadEngineFile(store().AtGeneration(*frozen).value(), "stream"), data);
}

// Pages dirtied through a shared mapping that is still open when the
// snapshot is taken are in it, with the writeback cache off (where they are
// the only dirty pages there are, and the flush skips files with none) and
// on. The mapping lives in a child: a mapping of its own mount in this
// process, the daemon too, can deadlock (docs/design.md, "FUSE layer"). The
// child only makes system calls after the fork (no allocation), and exits
// when the parent closes its pipe, also when the test fails.
TEST_P(SnapshotTest, FlushCarriesPagesDirtiedThroughAMappingStillOpen) {
  const size_t size = 4 * 4096;
  UniqueFd fd(::open(P("mapped").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::ftruncate(fd.get(), size), 0);
  int ready[2], done[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  ASSERT_EQ(::pipe2(done, O_CLOEXEC), 0);
  UniqueFd done_read(done[0]), done_write(done[1]);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    done_write.Reset();
    void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (map == MAP_FAILED) ::_exit(1);
    std::memset(map, 'm', size);
    char c = 1;
    if (::write(ready_write.get(), &c, 1) != 1) ::_exit(2);
    while (::read(done_read.get(), &c, 1) > 0) {
    }
    ::_exit(0);
  }
  ready_write.Reset();
  done_read.Reset();
  char c = 0;
  ASSERT_EQ(::read(ready_read.get(), &c, 1), 1) << "the child could not map and write the file";
  ASSERT_OK(session().FlushDirtyData());
  auto frozen = store().Freeze("c1");
  done_write.Reset();  // the child unmaps and exits
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  EXPECT_EQ(ReadEngineFile(store().AtGeneration(*frozen).value(), "mapped"),
            std::string(size, 'm'));
}

// Unmounts what a test mounted over the mountpoint, also when it fails, so
// that the fixture's unmount meets its own mount.
struct CoverMount {
  std::string path;
  ~CoverMount() {
    if (!path.empty()) {
      EXPECT_EQ(::umount2(path.c_str(), 0), 0) << std::strerror(errno);
    }
  }
};

// The flush opens each file through the mount's root; with another
// filesystem mounted over the mountpoint it invalidates the file instead,
// which writes the writeback cache's dirty pages back as well.
TEST_P(SnapshotTest, FlushWritesBackWhenTheMountpointIsCovered) {
  UniqueFd fd(::open(P("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd.valid());
  const std::string data(3 * 4096 + 100, 'c');
  ASSERT_EQ(::pwrite(fd.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  CoverMount cover;
  ASSERT_EQ(::mount("tmpfs", mountpoint().c_str(), "tmpfs", 0, "size=1m"), 0)
      << std::strerror(errno);
  cover.path = mountpoint();
  ASSERT_OK(session().FlushDirtyData());
  auto frozen = store().Freeze("c1");
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  EXPECT_EQ(ReadEngineFile(store().AtGeneration(*frozen).value(), "f"), data);
}

TEST_P(SnapshotTest, RestoreWhileMountedShowsTheRestoredTreeAndStalesOldHandles) {
  WriteFile(P("kept"), "version 1");
  ASSERT_EQ(::mkdir(P("dir").c_str(), 0755), 0);
  WriteFile(P("dir/inner"), "inner 1");
  auto v1 = store().Freeze("c1");
  ASSERT_TRUE(v1.ok());
  // After the snapshot: change, add, remove; look at everything so the
  // kernel caches it (dentries, negative dentries, attributes, pages).
  WriteFile(P("kept"), "version 2, longer");
  WriteFile(P("added"), "only in the discarded head");
  ASSERT_EQ(::unlink(P("dir/inner").c_str()), 0);
  struct stat st;
  ASSERT_EQ(::stat(P("added").c_str(), &st), 0);
  ASSERT_NE(::stat(P("dir/inner").c_str(), &st), 0);  // a cached negative entry
  EXPECT_EQ(ReadFile(P("kept")), "version 2, longer");
  EXPECT_EQ(List(mountpoint()), (std::set<std::string>{"kept", "added", "dir"}));
  UniqueFd old_fd(::open(P("kept").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(old_fd.valid());

  ASSERT_TRUE(store().Branch("c1", *v1).ok());
  ASSERT_OK(session().InvalidateAll());

  // The next lookup, readdir and read see the restored tree.
  EXPECT_EQ(List(mountpoint()), (std::set<std::string>{"kept", "dir"}));
  EXPECT_NE(::stat(P("added").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(ReadFile(P("dir/inner")), "inner 1");
  ASSERT_EQ(::stat(P("kept").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 9);
  // The descriptor opened before the restore is stale: ESTALE from the
  // engine; with the writeback cache its inode was replaced (EIO).
  const int stale = GetParam() ? EIO : ESTALE;
  char buf[32];
  EXPECT_EQ(::pread(old_fd.get(), buf, sizeof(buf), 0), -1);
  EXPECT_EQ(errno, stale);
  const bool write_failed = ::pwrite(old_fd.get(), "LATE", 4, 0) < 0;
  // With the writeback cache the write is accepted into the page cache and
  // its writeback fails later (ESTALE); without it the call fails at once.
  if (!GetParam()) {
    EXPECT_TRUE(write_failed);
    EXPECT_EQ(errno, ESTALE);
  }
  old_fd.Reset();  // close: a writeback cache flushes here, and fails
  EXPECT_EQ(ReadFile(P("kept")), "version 1");
  EXPECT_EQ(ReadEngineFile(Head(), "kept"), "version 1");
  // New work goes into the restored head.
  WriteFile(P("after"), "new");
  EXPECT_EQ(ReadEngineFile(Head(), "after"), "new");
}

// Everything a tree can hold, to compare after a remount.
struct Snapshot {
  std::map<std::string, std::string> entries;  // path -> description
};

std::string Describe(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  std::string d = "mode=" + std::to_string(st.st_mode) + " uid=" + std::to_string(st.st_uid) +
                  " gid=" + std::to_string(st.st_gid) + " nlink=" + std::to_string(st.st_nlink) +
                  " size=" + std::to_string(st.st_size) + " ino=" + std::to_string(st.st_ino) +
                  " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                  std::to_string(st.st_mtim.tv_nsec) + " rdev=" + std::to_string(st.st_rdev);
  if (S_ISREG(st.st_mode)) d += " data=" + ReadFile(path);
  if (S_ISLNK(st.st_mode)) {
    char target[256] = {};
    EXPECT_GT(::readlink(path.c_str(), target, sizeof(target) - 1), 0);
    d += std::string(" target=") + target;
  }
  char names[1024];
  const ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    char value[256] = {};
    const ssize_t len = ::lgetxattr(path.c_str(), names + i, value, sizeof(value));
    d += std::string(" xattr:") + (names + i) + "=" + std::string(value, len > 0 ? len : 0);
  }
  return d;
}

void Walk(const std::string& root, const std::string& rel, Snapshot* out) {
  const std::string dir = rel.empty() ? root : root + "/" + rel;
  for (const std::string& name : List(dir)) {
    const std::string child = rel.empty() ? name : rel + "/" + name;
    out->entries[child] = Describe(root + "/" + child);
    struct stat st;
    if (::lstat((root + "/" + child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      Walk(root, child, out);
    }
  }
}

TEST_P(SnapshotTest, RemountReadsBackIdentical) {
  ASSERT_EQ(::mkdir(P("etc").c_str(), 0755), 0);
  WriteFile(P("etc/passwd"), "root:x:0:0::/root:/bin/sh\n", 0644);
  WriteFile(P("etc/shadow"), "root:*:1::::::\n", 0600);
  ASSERT_EQ(::chown(P("etc/shadow").c_str(), 0, 42), 0);
  ASSERT_EQ(::symlink("passwd", P("etc/link").c_str()), 0);
  ASSERT_EQ(::link(P("etc/passwd").c_str(), P("hard").c_str()), 0);
  ASSERT_EQ(::mkfifo(P("fifo").c_str(), 0640), 0);
  ASSERT_EQ(::setxattr(P("etc/passwd").c_str(), "user.note", "kept", 4, 0), 0);
  {
    UniqueFd fd(::open(P("sparse").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::pwrite(fd.get(), "end", 3, 5 << 20), 3);
  }
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + i / 4096);
  WriteFile(P("big"), big);
  const timespec times[2] = {{111, 222}, {333, 444}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("etc").c_str(), times, 0), 0);
  Snapshot before;
  Walk(mountpoint(), "", &before);
  ASSERT_NO_FATAL_FAILURE(Remount());
  Snapshot after;
  Walk(mountpoint(), "", &after);
  EXPECT_EQ(before.entries.size(), 8u);
  for (const auto& [path, d] : before.entries) EXPECT_EQ(after.entries[path], d) << path;
  EXPECT_EQ(after.entries.size(), before.entries.size());
}

INSTANTIATE_TEST_SUITE_P(WritebackCache, SnapshotTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "On" : "Off";
                         });

}  // namespace
}  // namespace hoodyfs::testing
