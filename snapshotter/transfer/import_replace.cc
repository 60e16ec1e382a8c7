// The container side of a replacing import (ImportOptions::replace): what
// is there already, whether it matches the source, and the smallest change
// that makes it match. Each call that changes the container runs
// BeforeChange first, so an import that finds nothing to change never takes
// its snapshot to go back to.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "snapshotter/transfer/import_sink.h"

namespace hoodyfs::snapshotter {
namespace {

bool SameTime(const index::Timespec& a, const index::Timespec& b) {
  return a.sec == b.sec && a.nsec == b.nsec;
}

// DT_* of a mode's type, as ReadDir reports entries.
uint8_t DirentType(uint32_t mode) { return static_cast<uint8_t>((mode & S_IFMT) >> 12); }

}  // namespace

Result<std::map<std::string, DirEntry, std::less<>>> ImportSink::ListExisting(Ino dir) {
  std::map<std::string, DirEntry, std::less<>> out;
  HOODY_RETURN_IF_ERROR(fs_.ReadDir(dir, 0, [&](const DirEntry& e) {
    if (e.name != "." && e.name != "..") out.emplace(e.name, e);
    return true;
  }));
  return out;
}

Result<bool> ImportSink::SameContent(Ino ino, const NodeAttrs& attrs, uint64_t size, uint64_t nlink,
                                     std::string_view symlink_target) {
  HOODY_ASSIGN_OR_RETURN(Attr attr, fs_.GetAttr(ino));
  if ((attr.mode & S_IFMT) != (attrs.mode & S_IFMT)) return false;
  // A kept single-link node must not stay linked to names elsewhere in the
  // container that the source has as other nodes.
  if (nlink == 1 && attr.nlink != 1 && !S_ISDIR(attr.mode)) return false;
  switch (attrs.mode & S_IFMT) {
    case S_IFREG:
      return attr.size == size && SameTime(attr.mtime, attrs.mtime);
    case S_IFLNK: {
      HOODY_ASSIGN_OR_RETURN(std::string target, fs_.ReadLink(ino));
      return target == symlink_target;
    }
    case S_IFCHR:
    case S_IFBLK:
      return attr.rdev == attrs.rdev;
    default:  // directories, fifos, sockets: the type is the content
      return true;
  }
}

Result<bool> ImportSink::UpdateAttrs(Ino ino, const NodeAttrs& attrs, bool times) {
  HOODY_ASSIGN_OR_RETURN(Attr attr, fs_.GetAttr(ino));
  bool changed = false;
  SetAttrRequest req;
  if ((attr.mode & 07777) != (attrs.mode & 07777)) req.mode = attrs.mode & 07777;
  if (attr.uid != attrs.owner.uid) req.uid = attrs.owner.uid;
  if (attr.gid != attrs.owner.gid) req.gid = attrs.owner.gid;
  if (req.mode || req.uid || req.gid) {
    HOODY_RETURN_IF_ERROR(BeforeChange());
    HOODY_RETURN_IF_ERROR(fs_.SetAttr(ino, req).status());
    changed = true;
  }

  HOODY_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListXattr(ino));
  for (const std::string& name : names) {
    const bool wanted = std::any_of(attrs.xattrs.begin(), attrs.xattrs.end(),
                                    [&](const auto& x) { return x.first == name; });
    if (wanted) continue;
    HOODY_RETURN_IF_ERROR(BeforeChange());
    HOODY_RETURN_IF_ERROR(fs_.RemoveXattr(ino, name).WithContext("xattr " + name));
    changed = true;
  }
  for (const auto& [name, value] : attrs.xattrs) {
    Result<std::string> now = fs_.GetXattr(ino, name);
    if (now.ok() && *now == value) continue;
    if (!now.ok() && now.status().code() != Code::kNoData) return now.status();
    HOODY_RETURN_IF_ERROR(BeforeChange());
    HOODY_RETURN_IF_ERROR(fs_.SetXattr(ino, name, value).WithContext("xattr " + name));
    changed = true;
  }

  if (times && !SameTime(attr.mtime, attrs.mtime)) {
    HOODY_RETURN_IF_ERROR(BeforeChange());
    HOODY_RETURN_IF_ERROR(SetTimes(ino, attrs, std::nullopt));
    changed = true;
  }
  return changed;
}

void ImportSink::Kept(uint32_t mode, bool changed) {
  if (!changed) return Unchanged();
  switch (mode & S_IFMT) {
    case S_IFREG:
      return Count(&ImportStats::files);
    case S_IFDIR:
      return Count(&ImportStats::directories);
    case S_IFLNK:
      return Count(&ImportStats::symlinks);
    default:
      return Count(&ImportStats::specials);
  }
}

Status ImportSink::RemoveTree(Ino parent, std::string_view name, const DirEntry& existing) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  HOODY_RETURN_IF_ERROR(RemoveSubtree(parent, name, existing));
  Count(&ImportStats::removed);
  return Status::OK();
}

Status ImportSink::RemoveSubtree(Ino parent, std::string_view name, const DirEntry& existing) {
  if (existing.type == DirentType(S_IFDIR)) {
    HOODY_ASSIGN_OR_RETURN(auto children, ListExisting(existing.ino));
    for (const auto& [child_name, child] : children) {
      HOODY_RETURN_IF_ERROR(RemoveSubtree(existing.ino, child_name, child));
    }
    HOODY_RETURN_IF_ERROR(fs_.Rmdir(parent, name));
  } else {
    HOODY_RETURN_IF_ERROR(fs_.Unlink(parent, name));
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
