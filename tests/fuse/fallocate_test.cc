// fallocate(2) that reserves space (issue 14), through a real mount of a
// store that lives on its own small tmpfs, so the store fills up quickly:
// mode 0 and KEEP_SIZE reserve the range (st_blocks and statfs show it),
// more than the free room fails with ENOSPC and changes nothing, writes into
// a reservation succeed on a store that is otherwise full, and truncate,
// punch and unlink give the room back. docs/design.md, "Reservations".
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kBlock = 4096;
// What one commit of a test's few changes may add to the metadata file
// (LMDB pages) on the host: 1 MiB.
constexpr uint64_t kMetadataSlackBlocks = 256;

class FallocateTest : public MountTest {
 protected:
  // Room for the store's 4 MiB reserve, its metadata and a few 16 MiB groups
  // of data.
  uint64_t StoreHostBytes() const override { return 80 * kMiB; }
  snapshotter::StoreOptions StoreOpts() const override {
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;  // commits only where the test makes them
    options.grow_step_bytes = 16 * kMiB;
    return options;
  }

  uint64_t FreeBlocks() {
    struct statvfs vfs;
    EXPECT_EQ(::statvfs(mountpoint().c_str(), &vfs), 0) << std::strerror(errno);
    EXPECT_EQ(vfs.f_frsize, kBlock);
    EXPECT_EQ(vfs.f_bfree, vfs.f_bavail);
    return vfs.f_bavail;
  }
  static struct stat Stat(const std::string& path) {
    struct stat st = {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return st;
  }
  UniqueFd OpenRw(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    EXPECT_TRUE(fd.valid()) << path << ": " << std::strerror(errno);
    return fd;
  }
  static int FallocateErrno(int fd, int mode, uint64_t offset, uint64_t length) {
    return ::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0
               ? 0
               : errno;
  }
};

TEST_F(FallocateTest, MoreThanTheFreeRoomIsEnospcAndChangesNothing) {
  UniqueFd fd = OpenRw(P("f"));
  ASSERT_TRUE(fd.valid());
  const uint64_t free_before = FreeBlocks();
  ASSERT_GT(free_before, 0u);
  EXPECT_EQ(FallocateErrno(fd.get(), 0, 0, 2 * free_before * kBlock), ENOSPC);
  EXPECT_EQ(FallocateErrno(fd.get(), FALLOC_FL_KEEP_SIZE, 0, (free_before + 1) * kBlock), ENOSPC);
  EXPECT_EQ(FreeBlocks(), free_before);
  EXPECT_EQ(Stat(P("f")).st_size, 0);
  EXPECT_EQ(Stat(P("f")).st_blocks, 0);
}

TEST_F(FallocateTest, ReservedRangeShowsInStBlocksAndStatfs) {
  UniqueFd fd = OpenRw(P("f"));
  ASSERT_TRUE(fd.valid());
  const uint64_t free_before = FreeBlocks();
  ASSERT_EQ(FallocateErrno(fd.get(), 0, 0, 8 * kMiB), 0);
  EXPECT_EQ(Stat(P("f")).st_size, static_cast<off_t>(8 * kMiB));
  EXPECT_EQ(Stat(P("f")).st_blocks, static_cast<blkcnt_t>(8 * kMiB / 512));
  EXPECT_EQ(FreeBlocks(), free_before - 8 * kMiB / kBlock);
  // Past the end with KEEP_SIZE: the size stays, the blocks count.
  ASSERT_EQ(FallocateErrno(fd.get(), FALLOC_FL_KEEP_SIZE, 8 * kMiB, kMiB), 0);
  EXPECT_EQ(Stat(P("f")).st_size, static_cast<off_t>(8 * kMiB));
  EXPECT_EQ(Stat(P("f")).st_blocks, static_cast<blkcnt_t>(9 * kMiB / 512));
  EXPECT_EQ(FreeBlocks(), free_before - 9 * kMiB / kBlock);
  // A reserved, unwritten range reads as zeros.
  EXPECT_EQ(ReadFile(P("f")), std::string(8 * kMiB, '\0'));
}

// Fill the rest of the store until ENOSPC: every write into the reserved
// range still succeeds, and reads back after an fsync.
TEST_F(FallocateTest, WritesIntoAReservationSucceedOnAFullStore) {
  UniqueFd reserved = OpenRw(P("reserved"));
  ASSERT_TRUE(reserved.valid());
  constexpr uint64_t kReserved = 8 * kMiB;
  ASSERT_EQ(FallocateErrno(reserved.get(), 0, 0, kReserved), 0);

  UniqueFd filler = OpenRw(P("filler"));
  ASSERT_TRUE(filler.valid());
  const std::string chunk(kMiB, 'f');
  uint64_t filled = 0;
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    const ssize_t n =
        ::pwrite(filler.get(), chunk.data(), chunk.size(), static_cast<off_t>(filled));
    if (n < 0) {
      refused = errno;
      break;
    }
    filled += static_cast<uint64_t>(n);
  }
  ASSERT_EQ(refused, ENOSPC) << "an 80 MiB store took " << filled << " bytes without ENOSPC";
  EXPECT_GT(filled, 8 * kMiB);
  // Full but for the reservation: the data file grows in 16 MiB groups, so
  // less than a group of host room may be left over.
  EXPECT_LT(FreeBlocks(), 4096u + 256u) << "the store is full but for the reservation";

  std::string want(kReserved, '\0');
  for (uint64_t at = 0; at < kReserved; at += 256 * 1024) {
    const std::string piece(256 * 1024, static_cast<char>('a' + at / (256 * 1024) % 26));
    const ssize_t n = ::pwrite(reserved.get(), piece.data(), piece.size(), static_cast<off_t>(at));
    ASSERT_EQ(n, static_cast<ssize_t>(piece.size()))
        << "write at " << at << " into the reservation: " << std::strerror(errno)
        << " (store: " << store().reserved_blocks() << " blocks reserved, "
        << store().capacity_blocks() << " in the data file, " << store().used_blocks()
        << " used, full " << store().full() << ")";
    want.replace(at, piece.size(), piece);
  }
  ASSERT_EQ(::fsync(reserved.get()), 0) << std::strerror(errno);
  EXPECT_EQ(ReadFile(P("reserved")), want);
  EXPECT_EQ(Stat(P("reserved")).st_blocks, static_cast<blkcnt_t>(kReserved / 512));
  // Drawing on the reservation took none of the room left for others.
  EXPECT_LT(FreeBlocks(), 4096u + 256u);
}

TEST_F(FallocateTest, TruncatePunchAndUnlinkGiveTheRoomBack) {
  UniqueFd fd = OpenRw(P("f"));
  ASSERT_TRUE(fd.valid());
  const uint64_t free_before = FreeBlocks();
  ASSERT_EQ(FallocateErrno(fd.get(), 0, 0, 4 * kMiB), 0);
  ASSERT_EQ(FreeBlocks(), free_before - 1024);
  // A punch of 1 MiB gives back its 256 blocks.
  ASSERT_EQ(FallocateErrno(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kMiB, kMiB), 0);
  EXPECT_EQ(FreeBlocks(), free_before - 768);
  EXPECT_EQ(Stat(P("f")).st_blocks, static_cast<blkcnt_t>(3 * kMiB / 512));
  // A truncate to 2 MiB gives back the last 2 MiB.
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(2 * kMiB)), 0);
  EXPECT_EQ(FreeBlocks(), free_before - 256);
  // The unlink of an open file waits for its last close.
  ASSERT_EQ(::unlink(P("f").c_str()), 0);
  EXPECT_EQ(FreeBlocks(), free_before - 256);
  EXPECT_EQ(store().reserved_blocks(), 256u);
  // The kernel sends RELEASE after close(2) returns; an unmount closes every
  // handle it left, so after the remount the file is surely gone.
  fd.Reset();
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_EQ(store().reserved_blocks(), 0u);
  // The remount's commit may have grown the metadata file by a few pages.
  const uint64_t free_after = FreeBlocks();
  EXPECT_LE(free_after, free_before);
  EXPECT_GE(free_after + kMetadataSlackBlocks, free_before);
}

TEST_F(FallocateTest, ReservationSurvivesARemount) {
  UniqueFd fd = OpenRw(P("f"));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(FallocateErrno(fd.get(), FALLOC_FL_KEEP_SIZE, 0, 2 * kMiB), 0);
  ASSERT_EQ(::fsync(fd.get()), 0);
  const uint64_t free_reserved = FreeBlocks();
  fd.Reset();
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_EQ(Stat(P("f")).st_blocks, static_cast<blkcnt_t>(2 * kMiB / 512));
  EXPECT_EQ(store().reserved_blocks(), 512u);
  // The remount's commit may have grown the metadata file by a few pages.
  const uint64_t free_after = FreeBlocks();
  EXPECT_LE(free_after, free_reserved);
  EXPECT_GE(free_after + kMetadataSlackBlocks, free_reserved);
  // Still a reservation: a write into it draws on it, the free room stays.
  const std::string data(kMiB, 'x');
  UniqueFd again = OpenRw(P("f"));
  ASSERT_TRUE(again.valid());
  ASSERT_EQ(::pwrite(again.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  EXPECT_EQ(FreeBlocks(), free_after);
  EXPECT_EQ(store().reserved_blocks(), 256u);
  EXPECT_EQ(Stat(P("f")).st_blocks, static_cast<blkcnt_t>(2 * kMiB / 512));
}

}  // namespace
}  // namespace hoodyfs::testing
