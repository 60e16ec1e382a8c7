// A write-back the store refuses, with the kernel's writeback cache on: the
// write(2)s went into the page cache and returned, so the store's refusal
// (ENOSPC on a full store, here) reaches the application only at its next
// fsync or close, and the kernel discards those pages. The daemon's log is
// then the one record of which bytes were lost (fusefs/ops_file.cc, Write).
// The store lives on a small tmpfs so it fills quickly.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Standard error redirected to a file while it lives (the FUSE session's
// threads log there: Log writes fd 2); Text() reads what was written.
class StderrToFile {
 public:
  StderrToFile() : saved_(::dup(STDERR_FILENO)) {
    UniqueFd file(::open(dir_.File("stderr").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_TRUE(file.valid() && saved_.valid()) << std::strerror(errno);
    if (file.valid()) ::dup2(file.get(), STDERR_FILENO);
  }
  ~StderrToFile() { Restore(); }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

  std::string Text() {
    Restore();
    return ReadFile(dir_.File("stderr"));
  }

 private:
  void Restore() {
    if (saved_.valid()) ::dup2(saved_.get(), STDERR_FILENO);
    saved_.Reset();
  }

  TempDir dir_ = std::move(TempDir::Create()).value();
  UniqueFd saved_;
};

class WritebackFailureTest : public MountTest {
 protected:
  uint64_t StoreHostBytes() const override { return 80 * kMiB; }
  snapshotter::StoreOptions StoreOpts() const override {
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 * kMiB;
    return options;
  }
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions options;
    options.writeback_cache = true;
    return options;
  }
};

TEST_F(WritebackFailureTest, ARefusedWriteBackFailsFsyncAndIsLogged) {
  StderrToFile log;
  UniqueFd fd(::open(P("filler").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  // Twice what the store's host holds: the page cache takes it, the store
  // cannot.
  const std::string chunk(kMiB, 'f');
  for (uint64_t at = 0; at < 160 * kMiB; at += kMiB) {
    if (::pwrite(fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(at)) < 0) break;
  }
  const int synced = ::fsync(fd.get()) == 0 ? 0 : errno;
  fd.Reset();
  const std::string text = log.Text();
  EXPECT_EQ(synced, ENOSPC) << std::strerror(synced);
  EXPECT_NE(text.find("write-back of inode "), std::string::npos) << text;
  EXPECT_NE(text.find("(the kernel discards the rest)"), std::string::npos) << text;
}

}  // namespace
}  // namespace hoodyfs::testing
