// Buffered reads beside O_DIRECT writes to the same file: once a direct
// write has returned (or its asynchronous completion was reaped), a
// buffered read that starts afterwards sees its bytes, never the page cache's
// older copy. Local filesystems keep this (the kernel invalidates the
// written range after a synchronous direct write); for an asynchronous one
// (io_submit, io_uring) the kernel's FUSE path does not, so the daemon does.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "blockstore/aligned_buffer.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

constexpr size_t kBlock = 4096;
constexpr int kBlocks = 16;
constexpr int kRounds = 300;

// Every byte of block `b` in round `round` holds the same stamp.
char Stamp(int round, int b) { return static_cast<char>('A' + (round * 7 + b) % 50); }

// A minimal Linux AIO context (io_setup/io_submit/io_getevents): no library.
class Aio {
 public:
  Aio() {
    if (::syscall(SYS_io_setup, 8, &ctx_) != 0) ctx_ = 0;
  }
  ~Aio() {
    if (ctx_ != 0) ::syscall(SYS_io_destroy, ctx_);
  }
  Aio(const Aio&) = delete;
  Aio& operator=(const Aio&) = delete;
  bool ok() const { return ctx_ != 0; }
  // One asynchronous pwrite, reaped before returning: its result.
  long Pwrite(int fd, const char* buf, size_t len, off_t offset) {
    iocb cb = {};
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_fildes = static_cast<uint32_t>(fd);
    cb.aio_buf = reinterpret_cast<uintptr_t>(buf);
    cb.aio_nbytes = len;
    cb.aio_offset = offset;
    iocb* list[1] = {&cb};
    if (::syscall(SYS_io_submit, ctx_, 1, list) != 1) return -errno;
    io_event ev = {};
    // EINTR reaps nothing: wait again, as any AIO program must. (Seen here
    // only with FUSE over io_uring, once in a few runs, in this process that
    // is also the daemon; its source is not known.)
    long got;
    do {
      got = ::syscall(SYS_io_getevents, ctx_, 1, 1, &ev, nullptr);
    } while (got < 0 && errno == EINTR);
    if (got != 1) return -errno;
    return static_cast<long>(ev.res);
  }

 private:
  aio_context_t ctx_ = 0;
};

class DirectIoTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool async() const { return GetParam(); }
};

TEST_P(DirectIoTest, BufferedReadsSeeEveryCompletedDirectWrite) {
  const std::string path = P("f");
  {
    std::string init;
    for (int b = 0; b < kBlocks; ++b) init.append(kBlock, Stamp(0, b));
    WriteFile(path, init);
  }
  UniqueFd direct(::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
  ASSERT_TRUE(direct.valid()) << std::strerror(errno);
  Aio aio;
  if (async() && !aio.ok()) GTEST_SKIP() << "no Linux AIO: " << std::strerror(errno);

  // Written rounds: the reader checks that a block never reads older than
  // the last round whose write had completed before its read began.
  std::atomic<int> completed{0};
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::string first_stale;
  std::thread reader([&] {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      stale.store(-1);
      return;
    }
    std::vector<char> buf(kBlock);
    while (!stop.load()) {
      for (int b = 0; b < kBlocks; ++b) {
        const int round = completed.load();
        if (::pread(fd.get(), buf.data(), kBlock, static_cast<off_t>(b * kBlock)) !=
            static_cast<ssize_t>(kBlock)) {
          stale.store(-1);
          return;
        }
        // Rounds that landed meanwhile count too: any stamp from `round` to
        // the one being written after the read (stamps repeat every 50
        // rounds: a reader that fell that far behind checks nothing).
        const int after = completed.load() + 1;
        bool fresh = after - round >= 40;
        for (int r = round; r <= after && !fresh; ++r) fresh = buf[0] == Stamp(r, b);
        if (!fresh && stale.fetch_add(1) == 0) {
          first_stale = "block " + std::to_string(b) + " read '" + std::string(1, buf[0]) +
                        "' after round " + std::to_string(round) + " completed";
        }
      }
    }
  });

  blockstore::AlignedBuffer aligned(kBlock);
  char* const block = reinterpret_cast<char*>(aligned.data());
  for (int round = 1; round <= kRounds && stale.load() == 0; ++round) {
    for (int b = 0; b < kBlocks; ++b) {
      std::memset(block, Stamp(round, b), kBlock);
      const off_t at = static_cast<off_t>(b * kBlock);
      const long n = async() ? aio.Pwrite(direct.get(), block, kBlock, at)
                             : ::pwrite(direct.get(), block, kBlock, at);
      ASSERT_EQ(n, static_cast<long>(kBlock))
          << std::strerror(n < 0 ? static_cast<int>(-n) : errno);
    }
    completed.store(round);
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(stale.load(), 0) << first_stale;
}

INSTANTIATE_TEST_SUITE_P(SyncAndAsync, DirectIoTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Async" : "Sync"; });

}  // namespace
}  // namespace hoodyfs::testing
