// ImportTree: a depth-first walk of a host directory tree into ImportSink.
//
// The walk makes directories, symlinks, devices and links itself, in order,
// and opens each regular file; a TaskPool of options.threads threads
// imports the files (each file's data write waits for the block device:
// several in flight keep it busy). A file with several links is imported by
// the walk itself, which needs its inode for the later names. Directory
// times go on after the pool has drained, when every entry is in.
//
// The walk works relative to directory descriptors (openat, fstatat), so no
// path is resolved twice and paths longer than PATH_MAX are fine; it keeps
// one descriptor per level of depth. Each directory is listed whole with
// getdents64 and its entries visited in inode order, which on ext4 and xfs
// reads the inode tables front to back. Per file the host work is fstatat,
// open, the reads, flistxattr and close; SEEK_DATA and SEEK_HOLE only for
// files whose allocated blocks are fewer than their size (maybe sparse).
//
// Replacing (ImportOptions::replace), the walk also lists each container
// directory it enters, compares each source entry with the container's
// entry of that name (ImportSink::SameContent), keeps what matches, removes
// what does not before importing the source's, and removes the names left
// over once the directory's source entries are all visited. Everything that
// decides happens on the walk's thread; the pool only writes new files.
#include "snapshotter/transfer/tree_import.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "snapshotter/transfer/import_sink.h"
#include "snapshotter/transfer/task_pool.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;  // reads and writes: 1 MiB, 1 MiB aligned
static_assert(kPieceBytes >= kWholeFileMaxDataBytes, "a whole file is read into one piece");

// One buffer per thread, for the life of the thread.
std::vector<char>& PieceBuffer() {
  thread_local std::vector<char> buf(kPieceBytes);
  return buf;
}

// openat with O_NOATIME, which the kernel refuses (EPERM) for a file the
// caller neither owns nor has CAP_FOWNER over: then without it.
int OpenNoAtime(int dirfd, const char* name, int flags) {
  int fd = ::openat(dirfd, name, flags | O_NOATIME | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, flags | O_CLOEXEC);
  return fd;
}

NodeAttrs AttrsOf(const struct stat& st) {
  NodeAttrs a;
  a.mode = st.st_mode;
  a.owner = Owner{st.st_uid, st.st_gid};
  a.rdev = st.st_rdev;
  a.atime = index::Timespec{st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec)};
  a.mtime = index::Timespec{st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)};
  return a;
}

// Reads every xattr of the open file `fd`, or (fd < 0) of `path` itself
// without following a symlink. A file system without xattrs has none.
Status ReadXattrs(int fd, const std::string& path, NodeAttrs* attrs) {
  auto list = [&](char* buf, size_t n) {
    return fd >= 0 ? ::flistxattr(fd, buf, n) : ::llistxattr(path.c_str(), buf, n);
  };
  auto get = [&](const char* name, void* buf, size_t n) {
    return fd >= 0 ? ::fgetxattr(fd, name, buf, n) : ::lgetxattr(path.c_str(), name, buf, n);
  };
  std::string names;
  for (;;) {  // the list may grow between the two calls: then ERANGE, retry
    ssize_t n = list(nullptr, 0);
    if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) return Status::OK();
    if (n < 0) return FromErrno(errno, "listxattr");
    if (n == 0) return Status::OK();
    names.resize(static_cast<size_t>(n));
    n = list(names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;
    if (n < 0) return FromErrno(errno, "listxattr");
    names.resize(static_cast<size_t>(n));
    break;
  }
  for (size_t at = 0; at < names.size();) {
    const char* name = names.c_str() + at;
    at += std::strlen(name) + 1;
    std::string value;
    for (;;) {
      ssize_t n = get(name, nullptr, 0);
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        n = get(name, value.data(), value.size());
      }
      if (n < 0 && errno == ERANGE) continue;
      if (n < 0 && errno == ENODATA) break;  // removed since the listing
      if (n < 0) return FromErrno(errno, std::string("getxattr ") + name);
      value.resize(static_cast<size_t>(n));
      attrs->xattrs.emplace_back(name, std::move(value));
      break;
    }
  }
  return Status::OK();
}

struct HostEntry {
  ino_t ino;
  std::string name;
};

// Every entry of the directory but "." and "..", in inode order.
Result<std::vector<HostEntry>> ListDirectory(int dirfd) {
  std::vector<HostEntry> out;
  alignas(struct dirent64) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::getdents64(dirfd, buf, sizeof(buf));
    if (n < 0) return FromErrno(errno, "getdents64");
    if (n == 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buf + at);
      at += d->d_reclen;
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      out.push_back(HostEntry{static_cast<ino_t>(d->d_ino), d->d_name});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const HostEntry& a, const HostEntry& b) { return a.ino < b.ino; });
  return out;
}

// A host inode: (st_dev, st_ino).
using HostInode = std::pair<dev_t, ino_t>;

class TreeImporter {
 public:
  TreeImporter(FileSystem& fs, std::string source, const ImportOptions& options)
      : sink_(fs, options),
        source_(std::move(source)),
        replace_(options.replace),
        pool_(options.threads, 2 * size_t{options.threads}) {}

  Status Run(Ino into);
  ImportStats stats() const { return sink_.stats(); }

 private:
  // A regular file opened by the walk, imported by a pool thread.
  struct FileJob {
    Ino dir;
    std::string name;
    std::string path;
    struct stat st = {};
    UniqueFd fd;
  };
  struct DirTimes {
    Ino dir;
    NodeAttrs times;
    std::string path;
  };

  // Imports the entries of the open directory `dirfd` into `dir`. Errors
  // come back already naming the entry (ImportSink::Failed). `compare`:
  // replacing into a directory that was there before (one the import just
  // made holds nothing to compare with, so it is not listed).
  Status ImportDirectory(int dirfd, Ino dir, const std::string& path, bool compare);
  // `there`: replacing, the container's entry of that name, if any.
  Status ImportDirectoryEntry(int dirfd, Ino dir, const std::string& name, const std::string& path,
                              const DirEntry* there);
  // Everything but directories; errors not yet wrapped.
  Status ImportLeaf(int dirfd, Ino dir, const std::string& name, const std::string& path,
                    const struct stat& st, const DirEntry* there);
  // Opens a regular file and queues it, or imports it now (several links:
  // the later names need its inode).
  Status StartFile(int dirfd, Ino dir, const std::string& name, const std::string& path,
                   const struct stat& st, const DirEntry* there);
  // Makes the directory, or replacing, keeps the container's (`there`).
  Result<Ino> MakeOrKeepDirectory(Ino dir, const std::string& name, const NodeAttrs& attrs,
                                  const DirEntry* there);
  // A later name of a host inode with several links, imported or kept as
  // `target` already: keeps `there` when it is that inode, else links.
  Status LinkAgain(Ino target, Ino dir, const std::string& name, const DirEntry* there);
  // Replacing, for a non-directory: keeps the container's entry `there`
  // (bringing its attributes up to date) when it matches the source's, and
  // returns true; else removes it and returns false, for the caller to
  // import the source's entry.
  Result<bool> KeepOrRemove(Ino dir, const std::string& name, const struct stat& st,
                            const NodeAttrs& attrs, std::string_view symlink_target,
                            const DirEntry& there);
  Result<Ino> ImportFile(FileJob& job);
  // Copies [begin, end) of `fd` into `file`; `*written_end` moves to where
  // the data stopped (earlier than `end` when the source shrank meanwhile).
  Status CopyRange(int fd, Ino file, uint64_t begin, uint64_t end, uint64_t* written_end);
  // The first `size` bytes of `fd` (fewer when the source shrank meanwhile),
  // in this thread's piece buffer. REQUIRES: size <= kPieceBytes.
  static Result<std::span<const char>> ReadWhole(int fd, uint64_t size);
  // The first failure of a pool thread, already naming its file.
  void Fail(Status st) {
    std::lock_guard lock(failure_mu_);
    if (failure_.ok()) failure_ = std::move(st);
    failed_.store(true, std::memory_order_relaxed);
  }

  ImportSink sink_;
  const std::string source_;
  const bool replace_;
  // Host inodes with several links seen so far -> the inode imported.
  std::map<HostInode, Ino> links_;
  // Replacing: container inodes kept for a host inode with several links,
  // which no other host inode may keep (walk thread only).
  std::map<Ino, HostInode> claimed_;
  // Directory times, set once every entry is in (pool threads may still be
  // adding entries after the walk has left a directory).
  std::vector<DirTimes> dir_times_;
  std::atomic<bool> failed_{false};
  std::mutex failure_mu_;
  Status failure_;  // guarded by failure_mu_
  TaskPool pool_;   // last: its threads stop before the members they use go
};

Status TreeImporter::Run(Ino into) {
  UniqueFd root(OpenNoAtime(AT_FDCWD, source_.c_str(), O_RDONLY | O_DIRECTORY));
  if (!root.valid()) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound("import source '" + source_ + "' does not exist");
    if (err == ENOTDIR) {
      return Status::NotDirectory("import source '" + source_ + "' is not a directory");
    }
    return FromErrno(err, "open import source '" + source_ + "'");
  }
  struct stat st = {};
  if (::fstat(root.get(), &st) != 0) return FromErrno(errno, "stat '" + source_ + "'");
  NodeAttrs attrs = AttrsOf(st);
  Status s = ReadXattrs(root.get(), source_, &attrs);
  if (s.ok())
    s = replace_ ? sink_.UpdateAttrs(into, attrs, /*times=*/false).status()
                 : sink_.UpdateDirectory(into, attrs);
  if (!s.ok()) return sink_.Failed(s, ".");
  s = ImportDirectory(root.get(), into, "", replace_);
  pool_.Wait();
  if (failed_.load()) {
    std::lock_guard lock(failure_mu_);
    return failure_;
  }
  HOODY_RETURN_IF_ERROR(s);
  for (const DirTimes& d : dir_times_) {
    s = sink_.FinishDirectory(d.dir, d.times);
    if (!s.ok()) return sink_.Failed(s, d.path);
  }
  s = sink_.FinishDirectory(into, attrs);
  if (!s.ok()) return sink_.Failed(s, ".");
  sink_.Imported(".");
  return Status::OK();
}

Status TreeImporter::ImportDirectory(int dirfd, Ino dir, const std::string& path, bool compare) {
  Result<std::vector<HostEntry>> entries = ListDirectory(dirfd);
  if (!entries.ok()) return sink_.Failed(entries.status(), path.empty() ? "." : path);
  // Replacing: the container's entries here; each the source has too is
  // taken out, and what is left at the end is not in the source.
  std::map<std::string, DirEntry, std::less<>> existing;
  if (compare) {
    auto listed = sink_.ListExisting(dir);
    if (!listed.ok()) return sink_.Failed(listed.status(), path.empty() ? "." : path);
    existing = std::move(*listed);
  }
  for (const HostEntry& e : *entries) {
    if (failed_.load(std::memory_order_relaxed)) return Status::OK();  // Run reports it
    const std::string child = path.empty() ? e.name : path + "/" + e.name;
    std::optional<DirEntry> there;
    if (auto it = existing.find(e.name); it != existing.end()) {
      there = std::move(it->second);
      existing.erase(it);
    }
    HOODY_RETURN_IF_ERROR(
        ImportDirectoryEntry(dirfd, dir, e.name, child, there ? &*there : nullptr));
  }
  for (const auto& [name, entry] : existing) {
    const std::string child = path.empty() ? name : path + "/" + name;
    Status s = sink_.RemoveTree(dir, name, entry);
    if (!s.ok()) return sink_.Failed(s, child);
  }
  return Status::OK();
}

Status TreeImporter::ImportDirectoryEntry(int dirfd, Ino dir, const std::string& name,
                                          const std::string& path, const DirEntry* there) {
  struct stat st = {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return sink_.Failed(FromErrno(errno, "stat"), path);
  }
  if (!S_ISDIR(st.st_mode)) {
    Status s = ImportLeaf(dirfd, dir, name, path, st, there);
    return s.ok() ? s : sink_.Failed(s, path);
  }
  UniqueFd fd(OpenNoAtime(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  if (!fd.valid()) return sink_.Failed(FromErrno(errno, "open directory"), path);
  NodeAttrs attrs = AttrsOf(st);
  Status s = ReadXattrs(fd.get(), path, &attrs);
  Result<Ino> child = s.ok() ? MakeOrKeepDirectory(dir, name, attrs, there) : Result<Ino>(s);
  if (!child.ok()) return sink_.Failed(child.status(), path);
  const bool kept = there != nullptr && there->type == DT_DIR;
  HOODY_RETURN_IF_ERROR(ImportDirectory(fd.get(), *child, path, replace_ && kept));
  attrs.xattrs.clear();  // set already; only the times wait
  dir_times_.push_back(DirTimes{*child, std::move(attrs), path});
  sink_.Imported(path);
  return Status::OK();
}

Status TreeImporter::ImportLeaf(int dirfd, Ino dir, const std::string& name,
                                const std::string& path, const struct stat& st,
                                const DirEntry* there) {
  if (S_ISREG(st.st_mode)) return StartFile(dirfd, dir, name, path, st, there);
  const bool linked = st.st_nlink > 1;
  if (linked) {
    auto it = links_.find({st.st_dev, st.st_ino});
    if (it != links_.end()) {
      HOODY_RETURN_IF_ERROR(LinkAgain(it->second, dir, name, there));
      sink_.Imported(path);
      return Status::OK();
    }
  }
  NodeAttrs attrs = AttrsOf(st);
  HOODY_RETURN_IF_ERROR(ReadXattrs(-1, source_ + "/" + path, &attrs));
  std::string target;
  if (S_ISLNK(st.st_mode)) {
    target.resize(PATH_MAX);
    const ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) return FromErrno(errno, "readlink");
    target.resize(static_cast<size_t>(n));
  }
  if (there != nullptr) {
    HOODY_ASSIGN_OR_RETURN(bool kept, KeepOrRemove(dir, name, st, attrs, target, *there));
    if (kept) {
      sink_.Imported(path);
      return Status::OK();
    }
  }
  HOODY_ASSIGN_OR_RETURN(Ino created, sink_.MakeSpecial(dir, name, attrs, target));
  if (linked) links_.emplace(std::make_pair(st.st_dev, st.st_ino), created);
  sink_.Imported(path);
  return Status::OK();
}

Status TreeImporter::StartFile(int dirfd, Ino dir, const std::string& name, const std::string& path,
                               const struct stat& st, const DirEntry* there) {
  const bool linked = st.st_nlink > 1;
  if (linked) {
    auto it = links_.find({st.st_dev, st.st_ino});
    if (it != links_.end()) {
      HOODY_RETURN_IF_ERROR(LinkAgain(it->second, dir, name, there));
      sink_.Imported(path);
      return Status::OK();
    }
  }
  if (there != nullptr) {
    // The xattrs by path: the file is opened only when its data is copied.
    NodeAttrs attrs = AttrsOf(st);
    HOODY_RETURN_IF_ERROR(ReadXattrs(-1, source_ + "/" + path, &attrs));
    HOODY_ASSIGN_OR_RETURN(bool kept, KeepOrRemove(dir, name, st, attrs, {}, *there));
    if (kept) {
      sink_.Imported(path);
      return Status::OK();
    }
  }
  // O_NONBLOCK: should the file have been replaced by a fifo since the
  // fstatat, the open must not wait for a writer.
  auto job = std::make_shared<FileJob>(
      FileJob{dir, name, path, st,
              UniqueFd(OpenNoAtime(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK))});
  if (!job->fd.valid()) return FromErrno(errno, "open");
  if (linked) {
    HOODY_ASSIGN_OR_RETURN(Ino created, ImportFile(*job));
    links_.emplace(std::make_pair(st.st_dev, st.st_ino), created);
    sink_.Imported(path);
    return Status::OK();
  }
  pool_.Submit([this, job] {
    if (failed_.load(std::memory_order_relaxed)) return;
    Result<Ino> created = ImportFile(*job);
    job->fd.Reset();
    if (!created.ok()) return Fail(sink_.Failed(created.status(), job->path));
    sink_.Imported(job->path);
  });
  return Status::OK();
}

Result<Ino> TreeImporter::MakeOrKeepDirectory(Ino dir, const std::string& name,
                                              const NodeAttrs& attrs, const DirEntry* there) {
  if (there != nullptr && there->type == DT_DIR) {
    // A directory stays a directory: its entries are compared one by one.
    HOODY_ASSIGN_OR_RETURN(bool changed, sink_.UpdateAttrs(there->ino, attrs, /*times=*/false));
    sink_.Kept(S_IFDIR, changed);
    return there->ino;
  }
  if (there != nullptr) HOODY_RETURN_IF_ERROR(sink_.RemoveTree(dir, name, *there));
  return sink_.MakeDirectory(dir, name, attrs);
}

Status TreeImporter::LinkAgain(Ino target, Ino dir, const std::string& name,
                               const DirEntry* there) {
  if (there != nullptr && there->ino == target) {
    sink_.Unchanged();
    return Status::OK();
  }
  if (there != nullptr) HOODY_RETURN_IF_ERROR(sink_.RemoveTree(dir, name, *there));
  return sink_.Link(target, dir, name);
}

Result<bool> TreeImporter::KeepOrRemove(Ino dir, const std::string& name, const struct stat& st,
                                        const NodeAttrs& attrs, std::string_view symlink_target,
                                        const DirEntry& there) {
  const HostInode host{st.st_dev, st.st_ino};
  auto claim = claimed_.find(there.ino);
  // An inode kept for one host inode cannot stand for another.
  bool keep = claim == claimed_.end() || claim->second == host;
  if (keep) {
    HOODY_ASSIGN_OR_RETURN(
        keep, sink_.SameContent(there.ino, attrs, static_cast<uint64_t>(st.st_size), st.st_nlink,
                                symlink_target));
  }
  if (!keep) {
    HOODY_RETURN_IF_ERROR(sink_.RemoveTree(dir, name, there));
    return false;
  }
  HOODY_ASSIGN_OR_RETURN(bool changed, sink_.UpdateAttrs(there.ino, attrs, /*times=*/true));
  sink_.Kept(st.st_mode, changed);
  if (st.st_nlink > 1) {
    links_.emplace(host, there.ino);
    claimed_.emplace(there.ino, host);
  }
  return true;
}

Result<Ino> TreeImporter::ImportFile(FileJob& job) {
  const int fd = job.fd.get();
  NodeAttrs attrs = AttrsOf(job.st);
  HOODY_RETURN_IF_ERROR(ReadXattrs(fd, job.path, &attrs));
  const uint64_t size = static_cast<uint64_t>(job.st.st_size);
  const bool dense = static_cast<uint64_t>(job.st.st_blocks) * 512 >= size;
  if (dense && size <= kWholeFileMaxDataBytes) {
    // Small and without holes: read whole, made in one engine call. A
    // source that shrank meanwhile ends in a hole up to the size it had.
    HOODY_ASSIGN_OR_RETURN(std::span<const char> data, ReadWhole(fd, size));
    return sink_.MakeFile(job.dir, job.name, attrs, data, size);
  }
  HOODY_ASSIGN_OR_RETURN(Ino file, sink_.CreateFile(job.dir, job.name, attrs));
  uint64_t written_end = 0;
  if (dense) {
    HOODY_RETURN_IF_ERROR(CopyRange(fd, file, 0, size, &written_end));
  } else {
    // Fewer blocks than bytes: maybe holes. Copy only the data regions.
    for (uint64_t at = 0; at < size;) {
      const off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
      if (data < 0 && errno == ENXIO) break;  // only a hole from `at` on
      if (data < 0) return FromErrno(errno, "lseek SEEK_DATA");
      const off_t hole = ::lseek(fd, data, SEEK_HOLE);
      if (hole < 0) return FromErrno(errno, "lseek SEEK_HOLE");
      const uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
      HOODY_RETURN_IF_ERROR(CopyRange(fd, file, static_cast<uint64_t>(data), end, &written_end));
      if (written_end < end) break;  // the source shrank
      at = end;
    }
  }
  HOODY_RETURN_IF_ERROR(sink_.FinishFile(file, written_end, size, attrs));
  return file;
}

Result<std::span<const char>> TreeImporter::ReadWhole(int fd, uint64_t size) {
  std::vector<char>& buf = PieceBuffer();
  HOODY_ASSERT(size <= buf.size(), "a whole read larger than the buffer");
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, buf.data() + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "read");
    if (n == 0) break;  // the source shrank
    got += static_cast<size_t>(n);
  }
  return std::span<const char>(buf.data(), got);
}

Status TreeImporter::CopyRange(int fd, Ino file, uint64_t begin, uint64_t end,
                               uint64_t* written_end) {
  std::vector<char>& buf = PieceBuffer();
  for (uint64_t at = begin; at < end;) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(end - at, kPieceBytes - at % kPieceBytes));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "read");
    if (n == 0) return Status::OK();
    HOODY_RETURN_IF_ERROR(sink_.Write(file, at, {buf.data(), static_cast<size_t>(n)}));
    at += static_cast<uint64_t>(n);
    *written_end = at;
  }
  return Status::OK();
}

}  // namespace

Result<ImportStats> ImportTree(FileSystem& fs, const std::string& source_dir,
                               const ImportOptions& options) {
  if (fs.read_only()) return Status::ReadOnly("cannot import into a frozen generation");
  TreeImporter importer(fs, source_dir, options);
  HOODY_RETURN_IF_ERROR(importer.Run(options.into));
  return importer.stats();
}

}  // namespace hoodyfs::snapshotter
