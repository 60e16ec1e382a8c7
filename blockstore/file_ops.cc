#include "blockstore/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {
namespace {

std::string At(const char* call, uint64_t length_bytes, uint64_t offset_bytes) {
  return std::string(call) + " of " + std::to_string(length_bytes) + " bytes at offset " +
         std::to_string(offset_bytes);
}

Status WriteZeros(int fd, uint64_t offset_bytes, uint64_t length_bytes) {
  AlignedBuffer zeros(std::min<uint64_t>(length_bytes, kMaxIoBytes));
  for (uint64_t done = 0; done < length_bytes;) {
    const size_t n = std::min<uint64_t>(length_bytes - done, zeros.size_bytes());
    HOODY_RETURN_IF_ERROR(PwriteFull(fd, zeros.data(), n, offset_bytes + done));
    done += n;
  }
  return Status::OK();
}

// Undoes a failed fallocate, which may have extended the file part way.
Status RestoreSize(int fd, uint64_t old_size_bytes, const Status& cause) {
  if (::ftruncate(fd, static_cast<off_t>(old_size_bytes)) != 0) {
    return FromErrno(errno, "ftruncate back to " + std::to_string(old_size_bytes) + " after " +
                                cause.ToString());
  }
  return cause;
}

}  // namespace

Status PreadFull(int fd, void* buffer, size_t length_bytes, uint64_t offset_bytes) {
  auto* p = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < length_bytes) {
    const ssize_t n =
        ::pread(fd, p + done, length_bytes - done, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, At("pread", length_bytes, offset_bytes));
    if (n == 0) return Status::IoError(At("pread", length_bytes, offset_bytes) + ": end of file");
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status PwriteFull(int fd, const void* buffer, size_t length_bytes, uint64_t offset_bytes) {
  const auto* p = static_cast<const char*>(buffer);
  size_t done = 0;
  while (done < length_bytes) {
    const ssize_t n =
        ::pwrite(fd, p + done, length_bytes - done, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, At("pwrite", length_bytes, offset_bytes));
    // A zero-byte write would repeat forever; POSIX gives no reason for it.
    if (n == 0) return Status::IoError(At("pwrite", length_bytes, offset_bytes) + ": no progress");
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Result<uint64_t> FileSizeBytes(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FromErrno(errno, "fstat data file");
  return static_cast<uint64_t>(st.st_size);
}

Status GrowFile(int fd, uint64_t old_size_bytes, uint64_t new_size_bytes) {
  HOODY_ASSERT(old_size_bytes <= new_size_bytes, "GrowFile never shrinks");
  if (old_size_bytes == new_size_bytes) return Status::OK();
  const off_t length = static_cast<off_t>(new_size_bytes - old_size_bytes);
  int rc;
  do {
    rc = ::fallocate(fd, 0, static_cast<off_t>(old_size_bytes), length);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Status::OK();
  if (errno == EOPNOTSUPP) {
    if (::ftruncate(fd, static_cast<off_t>(new_size_bytes)) == 0) return Status::OK();
    return FromErrno(errno, "ftruncate to " + std::to_string(new_size_bytes));
  }
  return RestoreSize(fd, old_size_bytes,
                     FromErrno(errno, "fallocate to " + std::to_string(new_size_bytes)));
}

Status PunchHole(int fd, uint64_t offset_bytes, uint64_t length_bytes) {
  if (length_bytes == 0) return Status::OK();
  int rc;
  do {
    rc = ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(offset_bytes), static_cast<off_t>(length_bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Status::OK();
  if (errno == EOPNOTSUPP) return WriteZeros(fd, offset_bytes, length_bytes);
  return FromErrno(errno, At("punch hole", length_bytes, offset_bytes));
}

Status DataSync(int fd) {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return FromErrno(errno, "fdatasync data file");
  return Status::OK();
}

Status StartFileWriteback(int fd) {
  int rc;
  do {
    rc = ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return FromErrno(errno, "start writeback of data file");
  return Status::OK();
}

Result<UniqueFd> ReopenForWriteback(int fd) {
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd own(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return FromErrno(errno, "reopen data file for writeback");
  return own;
}

NowaitWrites ProbeNowaitBufferedWrites(int fd, const std::string& dir) {
  const UniqueFd probe(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  struct stat file_st {};
  struct stat probe_st {};
  if (!probe.valid() || ::fstat(fd, &file_st) != 0 || ::fstat(probe.get(), &probe_st) != 0 ||
      file_st.st_dev != probe_st.st_dev) {
    return NowaitWrites::kUnknown;
  }
  char byte = 0;
  iovec iov{&byte, 1};
  ssize_t n;
  do {
    n = ::pwritev2(probe.get(), &iov, 1, 0, RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  if (n == 1 || (n < 0 && errno == EAGAIN)) return NowaitWrites::kTaken;
  if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) return NowaitWrites::kRefused;
  return NowaitWrites::kUnknown;
}

}  // namespace hoodyfs::blockstore
