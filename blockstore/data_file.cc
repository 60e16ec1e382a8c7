#include "blockstore/data_file.h"

#include <fcntl.h>

#include <cerrno>
#include <string>

#include "base/log.h"
#include "base/unique_fd.h"
#include "blockstore/file_ops.h"
#include "blockstore/posix_device.h"
#include "blockstore/uring_device.h"

namespace hoodyfs::blockstore {
namespace {

Result<UniqueFd> OpenFd(const std::string& path, int flags) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FromErrno(errno, "open data file " + path);
  return UniqueFd(fd);
}

// Opens with O_DIRECT when asked, and without it when the filesystem refuses
// (tmpfs before Linux 6.6, some FUSE and network filesystems). `*direct_io`
// tells the caller which it got.
Result<UniqueFd> OpenWithFallback(const std::string& path, bool create, bool* direct_io) {
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  if (*direct_io) {
    Result<UniqueFd> fd = OpenFd(path, flags | O_DIRECT);
    if (fd.ok() || fd.status().ErrnoValue() != EINVAL) return fd;
    Log(LogLevel::kWarning, "O_DIRECT refused on " + path + "; using buffered I/O plus fdatasync");
    *direct_io = false;
  }
  return OpenFd(path, flags);
}

// The directory holding `path` ("." for a bare file name).
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Result<std::unique_ptr<BlockDevice>> OpenDataFile(const std::string& path,
                                                  const DeviceOptions& options, bool create) {
  const UringOptions uring_options{options.rings, options.queue_depth, options.direct_io};
  if (options.kind == DeviceOptions::Kind::kUring) {
    HOODY_RETURN_IF_ERROR(ValidateUringOptions(uring_options));
  }
  bool direct_io = options.direct_io;
  HOODY_ASSIGN_OR_RETURN(UniqueFd fd, OpenWithFallback(path, create, &direct_io));
  PosixDeviceOptions posix_options{direct_io, ""};
  if (options.kind == DeviceOptions::Kind::kUring) {
    UringOptions chosen = uring_options;
    chosen.direct_io = direct_io;
    // Buffered, where io_uring would hand every write to a worker thread,
    // the caller makes it itself (docs/blockstore.md).
    chosen.inline_writes =
        options.inline_writes && !direct_io &&
        ProbeNowaitBufferedWrites(fd.get(), DirectoryOf(path)) == NowaitWrites::kRefused;
    // Buffered, large reads still go around the page cache, through a second
    // descriptor, where the filesystem allows O_DIRECT (docs/blockstore.md).
    UniqueFd direct_reads;
    if (!direct_io) {
      Result<UniqueFd> opened = OpenFd(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
      if (opened.ok()) direct_reads = std::move(opened).value();
    }
    Result<std::unique_ptr<UringDevice>> uring =
        UringDevice::Create(&fd, chosen, std::move(direct_reads));
    if (uring.ok()) return std::unique_ptr<BlockDevice>(std::move(uring).value());
    // Create keeps the descriptor on failure; an fstat error would fail
    // PosixDevice the same way, so every failure here means "try pread".
    Log(LogLevel::kWarning, "io_uring unavailable for " + path + " (" + uring.status().ToString() +
                                "); using pread/pwrite");
    posix_options.note = "io_uring unavailable: " + uring.status().message();
  }
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<PosixDevice> posix,
                         PosixDevice::Create(std::move(fd), std::move(posix_options)));
  return std::unique_ptr<BlockDevice>(std::move(posix));
}

}  // namespace hoodyfs::blockstore
