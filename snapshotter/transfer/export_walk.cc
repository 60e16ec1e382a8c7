#include "snapshotter/transfer/export_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <tuple>

namespace hoodyfs::snapshotter {
namespace {
void SetPath(ExportNode* node, const std::string& path) {
  node->path = path;
  const size_t slash = path.find_last_of('/');
  node->name = slash == std::string::npos ? node->path : node->path.substr(slash + 1);
}

// The path as errors show it: the top is ".".
std::string_view Shown(const std::string& path) {
  return path.empty() ? std::string_view(".") : std::string_view(path);
}
}  // namespace

Status ExportWalk::Run(ExportVisitor& visitor) {
  ExportNode top;
  top.ino = options_.from;
  Result<Attr> attr = fs_.GetAttr(top.ino);
  if (!attr.ok()) return Failed(attr.status(), ".");
  if (!S_ISDIR(attr->mode)) {
    return Failed(Status::NotDirectory("the export's top is not a directory"), ".");
  }
  top.attr = *attr;
  if (Status s = LoadXattrs(&top); !s.ok()) return Failed(s, ".");
  std::string path;
  HOODY_RETURN_IF_ERROR(WalkDirectory(visitor, top, path));
  Exported(".");
  return Status::OK();
}

Status ExportWalk::WalkDirectory(ExportVisitor& visitor, ExportNode& dir, std::string& path) {
  if (Status s = visitor.EnterDirectory(dir); !s.ok()) return Failed(s, Shown(path));
  uint64_t cookie = 2;  // after "." and ".."
  std::vector<DirEntry> batch;
  for (;;) {
    batch.clear();
    Status s = fs_.ReadDir(dir.ino, cookie, [&](const DirEntry& e) {
      batch.push_back(e);
      return batch.size() < kBatchEntries;
    });
    if (!s.ok()) return Failed(s, Shown(path));
    for (const DirEntry& e : batch) HOODY_RETURN_IF_ERROR(VisitEntry(visitor, e, path));
    if (batch.size() < kBatchEntries) break;
    cookie = batch.back().cookie;
  }
  // `path` may have moved while the entries used it: point into it again.
  SetPath(&dir, path);
  if (Status s = visitor.LeaveDirectory(dir); !s.ok()) return Failed(s, Shown(path));
  return Status::OK();
}

Status ExportWalk::VisitEntry(ExportVisitor& visitor, const DirEntry& entry, std::string& path) {
  const size_t parent_length = path.size();
  if (!path.empty()) path += '/';
  path += entry.name;
  ExportNode node;
  node.ino = entry.ino;
  SetPath(&node, path);
  Result<Attr> attr = fs_.GetAttr(entry.ino);
  if (!attr.ok()) return Failed(attr.status(), path);
  node.attr = *attr;
  if (S_ISDIR(node.attr.mode)) {
    if (Status s = LoadXattrs(&node); !s.ok()) return Failed(s, path);
    ++stats_.directories;
    HOODY_RETURN_IF_ERROR(WalkDirectory(visitor, node, path));
  } else {
    auto link = links_.end();
    if (node.attr.nlink > 1) {
      bool first;
      std::tie(link, first) = links_.try_emplace(node.ino, path);
      if (!first) node.link_to = &link->second;
    }
    // A further name needs no xattrs: they are the inode's, written already.
    if (node.link_to == nullptr) {
      if (Status s = LoadXattrs(&node); !s.ok()) return Failed(s, path);
    }
    Result<bool> written = visitor.Leaf(node);
    if (!written.ok()) return Failed(written.status(), path);
    if (!*written) {
      ++stats_.skipped;
      if (link != links_.end() && node.link_to == nullptr) links_.erase(link);
    } else if (node.link_to != nullptr) {
      ++stats_.hardlinks;
    } else if (S_ISREG(node.attr.mode)) {
      ++stats_.files;
    } else if (S_ISLNK(node.attr.mode)) {
      ++stats_.symlinks;
    } else {
      ++stats_.specials;
    }
  }
  Exported(path);
  path.resize(parent_length);
  return Status::OK();
}

Status ExportWalk::LoadXattrs(ExportNode* node) {
  HOODY_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListXattr(node->ino));
  std::sort(names.begin(), names.end());
  node->xattrs.clear();
  for (std::string& name : names) {
    Result<std::string> value = fs_.GetXattr(node->ino, name);
    if (!value.ok()) return value.status().WithContext("xattr " + name);
    node->xattrs.emplace_back(std::move(name), std::move(value).value());
  }
  return Status::OK();
}

Status ExportWalk::Failed(const Status& st, std::string_view path) const {
  return st.WithContext("export stopped at '" + std::string(path) + "' (" +
                        std::to_string(completed_) + " entries exported before it)");
}

Result<size_t> ExportWalk::ReadData(const ExportNode& node, uint64_t offset, std::span<char> out) {
  Result<size_t> whole = fs_.Read(node.ino, offset, out);
  if (whole.ok() || whole.status().code() != Code::kCorruption) return whole;
  // Again block by block, to keep every block that is sound.
  size_t done = 0;
  bool damaged = false;
  while (done < out.size()) {
    const uint64_t at = offset + done;
    const size_t n = std::min<size_t>(out.size() - done, kBlockSize - at % kBlockSize);
    std::span<char> piece = out.subspan(done, n);
    Result<size_t> got = fs_.Read(node.ino, at, piece);
    if (got.ok()) {
      if (*got == 0) break;  // end of file
      done += *got;
      continue;
    }
    if (got.status().code() != Code::kCorruption) return got;
    std::fill(piece.begin(), piece.end(), '\0');
    damaged = true;
    done += n;
  }
  if (damaged && (stats_.damaged_files.empty() || stats_.damaged_files.back() != node.path)) {
    stats_.damaged_files.emplace_back(node.path);
  }
  return done;
}

}  // namespace hoodyfs::snapshotter
