#include "fusefs/read_ahead.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "base/unique_fd.h"

namespace hoodyfs::fusefs {

std::string ReadAheadPath(dev_t dev) {
  return "/sys/class/bdi/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev)) +
         "/read_ahead_kb";
}

Status RaiseReadAhead(dev_t dev) {
  const std::string path = ReadAheadPath(dev);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return FromErrno(errno, "open " + path);
  char text[32];
  const ssize_t n = ::pread(fd.get(), text, sizeof(text), 0);
  if (n < 0) return FromErrno(errno, "read " + path);
  uint64_t current = 0;
  const auto parsed = std::from_chars(text, text + n, current);
  if (parsed.ec == std::errc() && current >= kReadAheadKiB) return Status::OK();
  const std::string want = std::to_string(kReadAheadKiB);
  if (::pwrite(fd.get(), want.data(), want.size(), 0) != static_cast<ssize_t>(want.size())) {
    return FromErrno(errno, "write " + want + " to " + path);
  }
  return Status::OK();
}

}  // namespace hoodyfs::fusefs
