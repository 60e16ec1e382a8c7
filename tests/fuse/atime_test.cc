// Access times through a real mount (issue 14): reads and directory
// listings move atime as the mount's atime mode says (relatime by default,
// strictatime, noatime, O_NOATIME), also when the data was in the page
// cache, and a stat right after the read shows the new atime.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

timespec AtimeOf(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st.st_atim;
}

bool Same(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
bool After(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// Sets atime and mtime to whole seconds (ctime moves to now).
void SetTimes(const std::string& path, time_t atime_sec, time_t mtime_sec) {
  const timespec times[2] = {{atime_sec, 0}, {mtime_sec, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << std::strerror(errno);
}

// Opens `path` read-only (plus `flags`), reads it to the end and closes it.
void ReadThrough(const std::string& path, int flags = 0) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags));
  ASSERT_TRUE(fd.valid()) << path << ": " << std::strerror(errno);
  char buf[4096];
  while (::read(fd.get(), buf, sizeof(buf)) > 0) {
  }
}

void List(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << std::strerror(errno);
  while (::readdir(d) != nullptr) {
  }
  ::closedir(d);
}

// A short pause, so that a later "now" differs from an earlier one.
void Tick() {
  const timespec pause{0, 5'000'000};
  ::nanosleep(&pause, nullptr);
}

using AtimeRelatimeTest = MountTest;  // the default mode

TEST_F(AtimeRelatimeTest, AReadMovesAnAtimeOlderThanMtime) {
  WriteFile(P("f"), "hello");
  const time_t now = ::time(nullptr);
  SetTimes(P("f"), now - 7200, now - 3600);
  ASSERT_EQ(AtimeOf(P("f")).tv_sec, now - 7200);
  ReadThrough(P("f"));
  const timespec first = AtimeOf(P("f"));
  EXPECT_GE(first.tv_sec, now);
  // Nothing changed since that read: the next one leaves atime alone.
  Tick();
  ReadThrough(P("f"));
  EXPECT_TRUE(Same(AtimeOf(P("f")), first));
}

// The written pages stay in the kernel's cache, so the read would never
// reach the daemon: an open whose read must move atime starts uncached.
TEST_F(AtimeRelatimeTest, AReadRightAfterAWriteMovesAtime) {
  WriteFile(P("f"), std::string(20000, 'x'));
  const timespec written = AtimeOf(P("f"));
  struct stat st = {};
  ASSERT_EQ(::stat(P("f").c_str(), &st), 0);
  ASSERT_FALSE(After(st.st_atim, st.st_mtim));  // created, then written
  Tick();
  ReadThrough(P("f"));
  EXPECT_TRUE(After(AtimeOf(P("f")), written));
}

TEST_F(AtimeRelatimeTest, ListingADirectoryMovesItsAtime) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  WriteFile(P("d/a"), "a");
  const time_t now = ::time(nullptr);
  SetTimes(P("d"), now - 7200, now - 7200);
  List(P("d"));
  EXPECT_GE(AtimeOf(P("d")).tv_sec, now);
}

TEST_F(AtimeRelatimeTest, ONoatimeLeavesAtimeAlone) {
  WriteFile(P("f"), "hello");
  const time_t now = ::time(nullptr);
  SetTimes(P("f"), now - 7200, now - 3600);
  ReadThrough(P("f"), O_NOATIME);
  EXPECT_EQ(AtimeOf(P("f")).tv_sec, now - 7200);
}

class AtimeNoatimeTest : public MountTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.atime = fusefs::AtimeMode::kNoatime;
    return o;
  }
};

TEST_F(AtimeNoatimeTest, ReadsAndListingsLeaveAtimeAlone) {
  WriteFile(P("f"), "hello");
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  const time_t now = ::time(nullptr);
  SetTimes(P("f"), now - 7200, now - 3600);
  SetTimes(P("d"), now - 7200, now - 3600);
  ReadThrough(P("f"));
  List(P("d"));
  EXPECT_EQ(AtimeOf(P("f")).tv_sec, now - 7200);
  EXPECT_EQ(AtimeOf(P("d")).tv_sec, now - 7200);
}

class AtimeStrictTest : public MountTest {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.atime = fusefs::AtimeMode::kStrictatime;
    return o;
  }
};

TEST_F(AtimeStrictTest, EveryReadMovesAtime) {
  WriteFile(P("f"), "hello");
  ReadThrough(P("f"));
  const timespec first = AtimeOf(P("f"));
  Tick();
  ReadThrough(P("f"));
  const timespec second = AtimeOf(P("f"));
  EXPECT_TRUE(After(second, first));
  Tick();
  List(mountpoint());
  const timespec root_first = AtimeOf(mountpoint());
  Tick();
  List(mountpoint());
  EXPECT_TRUE(After(AtimeOf(mountpoint()), root_first));
}

}  // namespace
}  // namespace hoodyfs::testing
