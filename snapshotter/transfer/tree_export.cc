// ExportTree: writes an ExportWalk into a host directory.
//
// Works relative to directory descriptors (one per level of depth, as
// ImportTree), creates every entry exclusively (O_EXCL, mkdirat, mknodat,
// symlinkat, linkat all fail on an existing name), and finishes each node
// in the order tree_export.h gives: content, owner, mode, xattrs, times.
#include "snapshotter/transfer/tree_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "snapshotter/transfer/export_walk.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;

// "0140755": modes read best in octal.
std::string OctalMode(uint32_t mode) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (mode & 7)));
    mode >>= 3;
  } while (mode != 0);
  return "0" + digits;
}

struct timespec ToHost(index::Timespec t) {
  struct timespec ts = {};
  ts.tv_sec = static_cast<time_t>(t.sec);
  ts.tv_nsec = static_cast<long>(t.nsec);
  return ts;
}

Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return FromErrno(errno, "write");
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

class HostWriter : public ExportVisitor {
 public:
  HostWriter(FileSystem& fs, ExportWalk& walk, std::string dest)
      : fs_(fs), walk_(walk), dest_(std::move(dest)), buf_(kPieceBytes) {}

  Status EnterDirectory(const ExportNode& dir) override;
  Status LeaveDirectory(const ExportNode& dir) override;
  Result<bool> Leaf(const ExportNode& node) override;

 private:
  // Owner, mode, xattrs and times of an open file or directory.
  Status FinishOpen(int fd, const ExportNode& node);
  // The same for a name in the current directory that cannot be opened
  // (symlinks, fifos, sockets, devices); symlinks have no mode of their own.
  Status FinishAt(const ExportNode& node, const std::string& name);
  Status WriteFile(const ExportNode& node, const std::string& name);

  FileSystem& fs_;
  ExportWalk& walk_;
  const std::string dest_;
  std::vector<UniqueFd> dirs_;  // the destination, then one per level
  std::vector<char> buf_;
};

Status HostWriter::EnterDirectory(const ExportNode& dir) {
  UniqueFd fd;
  if (dir.path.empty()) {
    if (::mkdir(dest_.c_str(), 0700) != 0 && errno != EEXIST) {
      return FromErrno(errno, "mkdir export destination '" + dest_ + "'");
    }
    fd.Reset(::open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() && errno == ENOTDIR) {
      return Status::NotDirectory("export destination '" + dest_ + "' is not a directory");
    }
    if (!fd.valid()) return FromErrno(errno, "open export destination '" + dest_ + "'");
  } else {
    // Owner-only until LeaveDirectory sets the real mode: no one else can
    // reach the entries while they are half made.
    const std::string name(dir.name);
    if (::mkdirat(dirs_.back().get(), name.c_str(), 0700) != 0) return FromErrno(errno, "mkdir");
    fd.Reset(::openat(dirs_.back().get(), name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return FromErrno(errno, "open directory");
  }
  dirs_.push_back(std::move(fd));
  return Status::OK();
}

Status HostWriter::LeaveDirectory(const ExportNode& dir) {
  HOODY_ASSERT(!dirs_.empty(), "LeaveDirectory without EnterDirectory");
  Status s = FinishOpen(dirs_.back().get(), dir);
  dirs_.pop_back();
  return s;
}

Result<bool> HostWriter::Leaf(const ExportNode& node) {
  const int parent = dirs_.back().get();
  const std::string name(node.name);
  if (node.link_to != nullptr) {
    if (::linkat(dirs_.front().get(), node.link_to->c_str(), parent, name.c_str(), 0) != 0) {
      return FromErrno(errno, "link to '" + *node.link_to + "'");
    }
    return true;
  }
  const uint32_t type = node.attr.mode & S_IFMT;
  if (type == S_IFREG) {
    HOODY_RETURN_IF_ERROR(WriteFile(node, name));
    return true;
  }
  if (type == S_IFLNK) {
    HOODY_ASSIGN_OR_RETURN(std::string target, fs_.ReadLink(node.ino));
    if (::symlinkat(target.c_str(), parent, name.c_str()) != 0) return FromErrno(errno, "symlink");
  } else if (type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR || type == S_IFBLK) {
    if (::mknodat(parent, name.c_str(), type | 0600, static_cast<dev_t>(node.attr.rdev)) != 0) {
      return FromErrno(errno, "mknod");
    }
  } else {
    return Status::NotSupported("unsupported file type (mode " + OctalMode(node.attr.mode) + ")");
  }
  HOODY_RETURN_IF_ERROR(FinishAt(node, name));
  return true;
}

Status HostWriter::WriteFile(const ExportNode& node, const std::string& name) {
  UniqueFd fd(::openat(dirs_.back().get(), name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return FromErrno(errno, "create");
  HOODY_ASSIGN_OR_RETURN(std::vector<DataRange> ranges, fs_.DataRanges(node.ino));
  uint64_t end = 0;
  for (const DataRange& r : ranges) {
    end = r.offset_bytes;
    const uint64_t range_end = r.offset_bytes + r.length_bytes;
    while (end < range_end) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(range_end - end, kPieceBytes - end % kPieceBytes));
      HOODY_ASSIGN_OR_RETURN(size_t n, walk_.ReadData(node, end, {buf_.data(), want}));
      if (n == 0) break;  // the file shrank since DataRanges
      HOODY_RETURN_IF_ERROR(PwriteAll(fd.get(), buf_.data(), n, end));
      walk_.AddBytes(n);
      end += n;
    }
  }
  // The size, with the trailing hole if there is one.
  if (end != node.attr.size && ::ftruncate(fd.get(), static_cast<off_t>(node.attr.size)) != 0) {
    return FromErrno(errno, "ftruncate");
  }
  return FinishOpen(fd.get(), node);
}

Status HostWriter::FinishOpen(int fd, const ExportNode& node) {
  if (::fchown(fd, node.attr.uid, node.attr.gid) != 0) return FromErrno(errno, "chown");
  if (::fchmod(fd, node.attr.mode & 07777) != 0) return FromErrno(errno, "chmod");
  for (const auto& [name, value] : node.xattrs) {
    if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) {
      return FromErrno(errno, "setxattr " + name);
    }
  }
  const struct timespec times[2] = {ToHost(node.attr.atime), ToHost(node.attr.mtime)};
  if (::futimens(fd, times) != 0) return FromErrno(errno, "utimens");
  return Status::OK();
}

Status HostWriter::FinishAt(const ExportNode& node, const std::string& name) {
  const int parent = dirs_.back().get();
  if (::fchownat(parent, name.c_str(), node.attr.uid, node.attr.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return FromErrno(errno, "chown");
  }
  const bool symlink = S_ISLNK(node.attr.mode);
  if (!symlink && ::fchmodat(parent, name.c_str(), node.attr.mode & 07777, 0) != 0) {
    return FromErrno(errno, "chmod");
  }
  if (!node.xattrs.empty()) {
    const std::string host_path = dest_ + "/" + std::string(node.path);
    for (const auto& [xname, value] : node.xattrs) {
      if (::lsetxattr(host_path.c_str(), xname.c_str(), value.data(), value.size(), 0) != 0) {
        return FromErrno(errno, "setxattr " + xname);
      }
    }
  }
  const struct timespec times[2] = {ToHost(node.attr.atime), ToHost(node.attr.mtime)};
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return FromErrno(errno, "utimens");
  }
  return Status::OK();
}

}  // namespace

Result<ExportStats> ExportTree(FileSystem& fs, const std::string& dest_dir,
                               const ExportOptions& options) {
  ExportWalk walk(fs, options);
  HostWriter writer(fs, walk, dest_dir);
  HOODY_RETURN_IF_ERROR(walk.Run(writer));
  return walk.stats();
}

}  // namespace hoodyfs::snapshotter
