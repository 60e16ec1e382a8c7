// FUSE over io_uring through a real mount (fusefs/uring_transport.h): the
// requests of every kind reach the engine through the rings and come back
// right, and an unmount ends the rings' threads. The rest of the FUSE suites
// run with the rings too (on by default), and again without them
// (tests/CMakeLists.txt, prefix "devfuse:").
// Skips where the kernel lacks the transport or io_uring is disabled.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

// Why the kernel here cannot serve FUSE over io_uring, or "".
std::string WhyNoRings() {
  if (!std::filesystem::exists("/sys/module/fuse/parameters/enable_uring")) {
    return "the kernel has no FUSE over io_uring (CONFIG_FUSE_IO_URING, Linux 6.14+)";
  }
  std::ifstream disabled("/proc/sys/kernel/io_uring_disabled");
  int value = 0;
  if (disabled >> value && value != 0) return "io_uring is disabled (kernel.io_uring_disabled)";
  return "";
}

// Threads of this process named as the rings' threads are.
int RingThreads() {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == "hoodyfs-uring") ++n;
  }
  return n;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class UringMountTest : public MountTest {
 protected:
  void SetUp() override {
    if (const std::string why = WhyNoRings(); !why.empty()) GTEST_SKIP() << why;
    MountTest::SetUp();
  }
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.fuse_uring = true;
    return o;
  }
};

// The byte at `offset` of the test file.
char PatternAt(size_t offset) {
  return static_cast<char>('a' + (offset * 31 + offset / 4093) % 26);
}

TEST_F(UringMountTest, EveryKindOfRequestIsServedThroughTheRings) {
  const uint64_t before = session().uring_requests();
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0) << std::strerror(errno);

  // Writes of sizes from 1 byte to the largest request, at unaligned ends.
  const std::string long_name(255, 'n');
  const std::string file = P("d/" + long_name);
  const size_t sizes[] = {1, 4095, 4096, 65537, 1u << 20, 7, 300000};
  size_t total = 0;
  {
    UniqueFd fd(::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    for (int round = 0; round < 3; ++round) {
      for (size_t size : sizes) {
        std::string chunk(size, '\0');
        for (size_t i = 0; i < size; ++i) chunk[i] = PatternAt(total + i);
        ASSERT_EQ(::pwrite(fd.get(), chunk.data(), size, static_cast<off_t>(total)),
                  static_cast<ssize_t>(size))
            << std::strerror(errno);
        total += size;
      }
    }
    ASSERT_EQ(::fsync(fd.get()), 0) << std::strerror(errno);
  }

  // Read back around the page cache: every READ reaches the daemon, the
  // largest ones filling a whole payload buffer.
  {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    constexpr size_t kChunk = 1u << 20;
    void* raw = nullptr;
    ASSERT_EQ(::posix_memalign(&raw, 4096, kChunk), 0);
    std::unique_ptr<char, FreeDeleter> buf(static_cast<char*>(raw));
    size_t at = 0;
    while (at < total) {
      const ssize_t n = ::pread(fd.get(), buf.get(), kChunk, static_cast<off_t>(at));
      ASSERT_GT(n, 0) << "at " << at << ": " << std::strerror(errno);
      for (ssize_t i = 0; i < n; ++i) {
        ASSERT_EQ(buf.get()[i], PatternAt(at + static_cast<size_t>(i))) << "byte " << at + i;
      }
      at += static_cast<size_t>(n);
    }
    EXPECT_EQ(at, total);
  }
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), total);

  // Requests whose names and values travel in the payload, and replies
  // larger than a header.
  const std::string value(4000, 'v');
  ASSERT_EQ(::setxattr(file.c_str(), "user.big", value.data(), value.size(), 0), 0)
      << std::strerror(errno);
  std::string got(8192, '\0');
  const ssize_t got_n = ::getxattr(file.c_str(), "user.big", got.data(), got.size());
  ASSERT_EQ(got_n, static_cast<ssize_t>(value.size())) << std::strerror(errno);
  EXPECT_EQ(got.substr(0, static_cast<size_t>(got_n)), value);
  ASSERT_EQ(::symlink(long_name.c_str(), P("d/link").c_str()), 0) << std::strerror(errno);
  char target[300] = {};
  ASSERT_EQ(::readlink(P("d/link").c_str(), target, sizeof target - 1), 255);
  EXPECT_EQ(std::string(target), long_name);

  std::set<std::string> made = {long_name, "link"};
  for (int i = 0; i < 300; ++i) {
    const std::string name = "entry-" + std::to_string(i) + std::string(100, 'x');
    UniqueFd fd(::open(P("d/" + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    made.insert(name);
  }
  std::set<std::string> listed;
  DIR* dir = ::opendir(P("d").c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      listed.insert(e->d_name);
    }
  }
  ::closedir(dir);
  EXPECT_EQ(listed, made);
  ASSERT_EQ(::rename(file.c_str(), P("d/moved").c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::unlink(P("d/moved").c_str()), 0) << std::strerror(errno);
  EXPECT_NE(::stat(file.c_str(), &st), 0);

  // Hundreds of requests above went through the rings.
  EXPECT_GT(session().uring_requests(), before + 300);
}

TEST_F(UringMountTest, AnUnmountEndsTheRingThreads) {
  ASSERT_EQ(::mkdir(P("x").c_str(), 0755), 0) << std::strerror(errno);
  EXPECT_GT(session().uring_requests(), 0u);
  EXPECT_GT(RingThreads(), 0);
  Unmount();
  EXPECT_EQ(RingThreads(), 0);
}

}  // namespace
}  // namespace hoodyfs::testing
