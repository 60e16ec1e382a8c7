#include "fusefs/backing_dev.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "base/unique_fd.h"

namespace hoodyfs::fusefs {

namespace {

Result<UniqueFd> OpenBdiFile(dev_t dev, const std::string& name) {
  const std::string path = BdiPath(dev, name);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return FromErrno(errno, "open " + path);
  return fd;
}

Status WriteBdiFile(dev_t dev, const std::string& name, const std::string& value) {
  HOODY_ASSIGN_OR_RETURN(UniqueFd fd, OpenBdiFile(dev, name));
  if (::pwrite(fd.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size())) {
    return FromErrno(errno, "write " + value + " to " + BdiPath(dev, name));
  }
  return Status::OK();
}

}  // namespace

std::string BdiPath(dev_t dev, const std::string& name) {
  return "/sys/class/bdi/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev)) + "/" +
         name;
}

Status RaiseReadAhead(dev_t dev) {
  HOODY_ASSIGN_OR_RETURN(UniqueFd fd, OpenBdiFile(dev, "read_ahead_kb"));
  char text[32];
  const ssize_t n = ::pread(fd.get(), text, sizeof(text), 0);
  if (n < 0) return FromErrno(errno, "read " + BdiPath(dev, "read_ahead_kb"));
  uint64_t current = 0;
  const auto parsed = std::from_chars(text, text + n, current);
  if (parsed.ec == std::errc() && current >= kReadAheadKiB) return Status::OK();
  return WriteBdiFile(dev, "read_ahead_kb", std::to_string(kReadAheadKiB));
}

Status LiftDirtyLimit(dev_t dev) {
  // The cap first: between the two writes the mount is never without one.
  // The kernel keeps it as a share of the system's dirty threshold and
  // refuses (EINVAL) a cap above the whole threshold: a small machine's
  // threshold is then the cap.
  Status capped = WriteBdiFile(dev, "max_bytes", std::to_string(kWritebackDirtyBytes));
  if (capped.code() == Code::kInvalidArgument) capped = WriteBdiFile(dev, "max_ratio", "100");
  HOODY_RETURN_IF_ERROR(capped);
  return WriteBdiFile(dev, "strict_limit", "0");
}

}  // namespace hoodyfs::fusefs
