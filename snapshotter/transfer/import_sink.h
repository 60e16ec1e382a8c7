// ImportSink: the container side of an import, shared by ImportTree (host
// directories) and ImportTar (tar streams). The sources decide what to
// create and in which order; the sink turns each node into the fewest
// FileSystem calls that reproduce it and keeps the statistics.
//
// The calls a node costs: a regular file whose data fits one engine write
// is one MakeWholeFile (MakeFile); a larger one is Mknod (type, permission
// bits and owner in one go), its data, one SetAttr (atime, mtime, and the
// size when the file ends in a hole) and one SetXattr per xattr. Times go last
// because writing data moves mtime; xattrs change only ctime. A directory's
// times go on in FinishDirectory, after its entries exist, because adding
// an entry moves the directory's mtime.
//
// Internal to snapshotter/transfer/. Thread-safety: every method may be
// called from several threads at once (ImportTree imports files in
// parallel); the statistics and the progress callback are serialized by one
// mutex.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/records.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/transfer/tree_import.h"

namespace hoodyfs::snapshotter {

// The attributes of one source node.
struct NodeAttrs {
  uint32_t mode = 0;  // type and permission bits, as st_mode
  Owner owner;
  uint64_t rdev = 0;  // devices
  index::Timespec atime, mtime;
  std::vector<std::pair<std::string, std::string>> xattrs;  // (name, value)
  // Receive only: the inode number the new node gets (CreateOptions::ino).
  std::optional<Ino> ino;
};

class ImportSink {
 public:
  ImportSink(FileSystem& fs, const ImportOptions& options) : fs_(fs), options_(options) {}

  // A directory with its mode, owner and xattrs; its times come with
  // FinishDirectory.
  Result<Ino> MakeDirectory(Ino parent, std::string_view name, const NodeAttrs& attrs);
  // Gives an existing directory (the import's top, or one a tar stream
  // implied before listing it) the mode, owner and xattrs of `attrs`.
  Status UpdateDirectory(Ino dir, const NodeAttrs& attrs);
  // Sets a directory's times: call once its entries are all in.
  Status FinishDirectory(Ino dir, const NodeAttrs& attrs);

  // A regular file made whole in one engine call (FileSystem::MakeWholeFile):
  // `data` from offset 0 (at most kWholeFileMaxDataBytes), then a hole up to
  // `size`, with every attribute of `attrs`. Cheaper than CreateFile, Write
  // and FinishFile, which remain for larger files and for holes inside.
  Result<Ino> MakeFile(Ino parent, std::string_view name, const NodeAttrs& attrs,
                       std::span<const char> data, uint64_t size);
  // MakeFile in two halves (FileSystem::StartWholeFile): the data's write
  // runs while the caller reads the next file; `staging` as there.
  Result<StartedWholeFile> StartFile(const NodeAttrs& attrs, std::span<const char> data,
                                     uint64_t size, blockstore::AlignedBuffer* staging);
  Result<Ino> FinishStartedFile(Ino parent, std::string_view name, StartedWholeFile started);
  // A regular file, empty: fill it with Write, then FinishFile.
  Result<Ino> CreateFile(Ino parent, std::string_view name, const NodeAttrs& attrs);
  // Writes all of `data` at `offset`: pieces that stay within one 1 MiB
  // block of the file are the cheapest (one block-store write each).
  Status Write(Ino file, uint64_t offset, std::span<const char> data);
  // Sets the size (when data ended before it: a trailing hole), the times
  // and the xattrs.
  Status FinishFile(Ino file, uint64_t written_end, uint64_t size, const NodeAttrs& attrs);

  // A symlink, fifo, socket or device, complete with its attributes.
  // Errors: kNotSupported for any other type.
  Result<Ino> MakeSpecial(Ino parent, std::string_view name, const NodeAttrs& attrs,
                          std::string_view symlink_target);
  // Another name for an inode imported already.
  Status Link(Ino target, Ino parent, std::string_view name);

  // Replacing imports (ImportOptions::replace; import_replace.cc).
  // The entries of the container directory `dir` by name, "." and ".." left out.
  Result<std::map<std::string, DirEntry, std::less<>>> ListExisting(Ino dir);
  // Whether the existing node `ino` has the source node's type and content:
  // for a regular file `size` and the mtime (rsync's quick check), for a
  // symlink `symlink_target`, for a device the number. Also false for a
  // non-directory with several links when the source's `nlink` is 1.
  Result<bool> SameContent(Ino ino, const NodeAttrs& attrs, uint64_t size, uint64_t nlink,
                           std::string_view symlink_target);
  // Sets what differs of mode, owner and xattrs (and, with `times`, atime and
  // mtime when the mtime differs) of an existing node to the source's.
  // Returns whether it changed anything.
  Result<bool> UpdateAttrs(Ino ino, const NodeAttrs& attrs, bool times);
  // Removes `name` from `parent`, a directory with everything below it.
  Status RemoveTree(Ino parent, std::string_view name, const DirEntry& existing);
  // Counts an entry kept as it was.
  void Unchanged() { Count(&ImportStats::unchanged); }
  // Counts an existing entry of type `mode` that was kept: unchanged, or
  // (`changed`, its attributes set) under its type.
  void Kept(uint32_t mode, bool changed);

  // Runs ImportOptions::before_first_change once, before the first call
  // that changes the container (every later call gets its result).
  Status BeforeChange();

  // Counts the entry just imported and reports it to the progress callback.
  void Imported(std::string_view path);
  ImportStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  FileSystem& fs() { return fs_; }

  // The error of an import that stopped at `path`: names the entry and says
  // that what was imported before it stays (the entry itself may be there,
  // incomplete: a file with part of its data, a directory with part of its
  // entries).
  Status Failed(const Status& st, std::string_view path) const;

 private:
  Status SetXattrs(Ino ino, const NodeAttrs& attrs);
  // RemoveTree's walk, uncounted.
  Status RemoveSubtree(Ino parent, std::string_view name, const DirEntry& existing);
  // SetAttr of the times (and of `size` when set).
  Status SetTimes(Ino ino, const NodeAttrs& attrs, std::optional<uint64_t> size);

  // Adds to one counter of stats_.
  void Count(uint64_t ImportStats::*counter, uint64_t n = 1) {
    std::lock_guard lock(mu_);
    stats_.*counter += n;
  }

  FileSystem& fs_;
  const ImportOptions& options_;
  mutable std::mutex mu_;
  ImportStats stats_;       // guarded by mu_
  uint64_t completed_ = 0;  // guarded by mu_: entries whose import is complete
  std::mutex first_change_mu_;
  std::optional<Status> first_change_;  // GUARDED_BY(first_change_mu_)
};

}  // namespace hoodyfs::snapshotter
