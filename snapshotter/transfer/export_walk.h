// ExportWalk: the container side of an export, shared by ExportTree and
// ExportTar. A depth-first walk of a FileSystem tree that hands each node,
// with its attributes, xattrs and hard-link identity, to a visitor: the
// host directory writer or the tar writer.
//
// A directory is listed in batches of at most kBatchEntries (readdir
// cookies carry the walk across batches), so memory stays bounded in huge
// directories and no read scope is held while the visitor works.
//
// Internal to snapshotter/transfer/. Thread-safety: one walk, one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/transfer/tree_export.h"

namespace hoodyfs::snapshotter {

struct ExportNode {
  std::string_view path;  // relative to the top; "" for the top itself
  std::string_view name;  // the last component of `path`
  Ino ino;
  Attr attr;
  std::vector<std::pair<std::string, std::string>> xattrs;  // (name, value), name order
  // Set for the second and later names of an inode with several links: the
  // path the inode was first exported at. The visitor then makes a link.
  const std::string* link_to = nullptr;
};

class ExportVisitor {
 public:
  virtual ~ExportVisitor() = default;
  // A directory, before its entries (the top one with path "").
  virtual Status EnterDirectory(const ExportNode& dir) = 0;
  // The same directory, after its entries.
  virtual Status LeaveDirectory(const ExportNode& dir) = 0;
  // Anything else. Returns false when the visitor left it out (counted as
  // skipped).
  virtual Result<bool> Leaf(const ExportNode& node) = 0;
};

class ExportWalk {
 public:
  static constexpr size_t kBatchEntries = 1024;

  ExportWalk(FileSystem& fs, const ExportOptions& options) : fs_(fs), options_(options) {}

  // Walks the tree under options.from. Errors name the path that failed and
  // say what was exported before it stays.
  Status Run(ExportVisitor& visitor);
  // Counts file data written by the visitor.
  void AddBytes(uint64_t n) { stats_.bytes += n; }
  // Reads file data for the visitor, as FileSystem::Read, except that a
  // block that fails its checksum (kCorruption) reads as zeros and the file
  // is named in ExportStats::damaged_files: one rotten block must not cost
  // the rest of the tree (fsck --data lists such blocks).
  Result<size_t> ReadData(const ExportNode& node, uint64_t offset, std::span<char> out);
  const ExportStats& stats() const { return stats_; }

 private:
  Status WalkDirectory(ExportVisitor& visitor, ExportNode& dir, std::string& path);
  Status VisitEntry(ExportVisitor& visitor, const DirEntry& entry, std::string& path);
  Status LoadXattrs(ExportNode* node);
  Status Failed(const Status& st, std::string_view path) const;
  void Exported(std::string_view path) {
    ++completed_;
    if (options_.progress) options_.progress(ExportProgress{stats_, path});
  }

  FileSystem& fs_;
  const ExportOptions& options_;
  ExportStats stats_;
  uint64_t completed_ = 0;  // entries written whole (Exported)
  // Inodes with several links exported so far -> the path of the first.
  std::unordered_map<Ino, std::string> links_;
};

}  // namespace hoodyfs::snapshotter
