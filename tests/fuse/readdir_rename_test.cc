// readdir while another thread renames files within the same directory: a
// listing from start to end shows every file exactly once. Files never
// renamed appear under their names; a file renamed meanwhile appears once,
// under one of its names (its place in the listing is its own, not its
// name's: FileSystem::Rename keeps the cookie), and no name appears twice.
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

constexpr int kUntouched = 1500;
constexpr int kRenamed = 150;
constexpr int kListings = 12;

std::string Name(const char* prefix, int i, const char* suffix = "") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%05d%s", prefix, i, suffix);
  return buf;
}

struct Listing {
  std::map<std::string, int> names;  // name -> times seen
  std::map<ino_t, int> inodes;       // inode -> times seen
};

// One pass over `dir` from start to end with getdents64 and a small buffer,
// so the listing takes many READDIR requests and renames land between them.
Listing ListOnce(const std::string& dir) {
  Listing out;
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << std::strerror(errno);
  if (!fd.valid()) return out;
  alignas(8) char buf[1024];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd.get(), buf, sizeof(buf));
    EXPECT_GE(n, 0) << std::strerror(errno);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + at);
      const std::string name = d->d_name;
      if (name != "." && name != "..") {
        ++out.names[name];
        ++out.inodes[static_cast<ino_t>(d->d_ino)];
      }
      at += d->d_reclen;
    }
  }
  return out;
}

TEST_F(MountTest, ReaddirShowsEveryFileOnceWhileOthersAreRenamedInTheDirectory) {
  ASSERT_EQ(::mkdir(P("dir").c_str(), 0755), 0);
  for (int i = 0; i < kUntouched; ++i) {
    UniqueFd fd(::open(P("dir/" + Name("keep", i)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  }
  // The renamed files, spread through the listing: created in between.
  for (int i = 0; i < kRenamed; ++i) {
    UniqueFd fd(
        ::open(P("dir/" + Name("mv", i, ".a")).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  }

  std::atomic<bool> stop{false};
  std::atomic<long> renames{0};
  std::atomic<int> rename_errno{0};
  std::thread renamer([&] {
    // Each file moves between two names, .a and .b, over and over.
    std::vector<bool> at_b(kRenamed, false);
    for (int round = 0; !stop.load(); ++round) {
      for (int i = round % 2; i < kRenamed && !stop.load(); i += 2) {
        const std::string from = P("dir/" + Name("mv", i, at_b[i] ? ".b" : ".a"));
        const std::string to = P("dir/" + Name("mv", i, at_b[i] ? ".a" : ".b"));
        if (::rename(from.c_str(), to.c_str()) != 0) {
          rename_errno.store(errno);
          return;
        }
        at_b[i] = !at_b[i];
        renames.fetch_add(1);
      }
    }
  });

  long renames_during_listings = 0;
  for (int pass = 0; pass < kListings; ++pass) {
    const long before = renames.load();
    const Listing l = ListOnce(P("dir"));
    renames_during_listings += renames.load() - before;
    for (const auto& [name, times] : l.names) {
      EXPECT_EQ(times, 1) << "pass " << pass << ": " << name << " listed " << times << " times";
    }
    for (const auto& [ino, times] : l.inodes) {
      EXPECT_EQ(times, 1) << "pass " << pass << ": inode " << ino << " listed " << times
                          << " times";
    }
    for (int i = 0; i < kUntouched; ++i) {
      EXPECT_EQ(l.names.count(Name("keep", i)), 1u) << "pass " << pass << ": missed keep" << i;
    }
    int renamed_seen = 0;
    for (int i = 0; i < kRenamed; ++i) {
      renamed_seen +=
          static_cast<int>(l.names.count(Name("mv", i, ".a")) + l.names.count(Name("mv", i, ".b")));
    }
    EXPECT_EQ(renamed_seen, kRenamed) << "pass " << pass;
    EXPECT_EQ(l.names.size(), static_cast<size_t>(kUntouched + kRenamed)) << "pass " << pass;
    if (::testing::Test::HasFailure()) break;  // one failing pass says enough
  }
  stop.store(true);
  renamer.join();
  EXPECT_EQ(rename_errno.load(), 0) << std::strerror(rename_errno.load());
  EXPECT_GT(renames_during_listings, 0) << "no rename ran while the directory was read";
}

}  // namespace
}  // namespace hoodyfs::testing
