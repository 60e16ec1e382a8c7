#include "tests/model/fs_model.h"

#include <sys/stat.h>

#include "base/coding.h"

namespace hoodyfs::testing {

ModelFs::ModelFs() {
  ModelNode root;
  root.mode = S_IFDIR | 0755;
  root.nlink = 2;
  nodes_.emplace(1, root);
}

bool ModelFs::IsDir(uint64_t ino) const { return S_ISDIR(nodes_.at(ino).mode); }

std::optional<uint64_t> ModelFs::ParentOf(uint64_t dir) const {
  for (const auto& [ino, n] : nodes_) {
    if (!S_ISDIR(n.mode)) continue;
    for (const auto& [name, child] : n.children) {
      if (child == dir) return ino;
    }
  }
  return std::nullopt;
}

bool ModelFs::IsBelow(uint64_t dir, uint64_t maybe_ancestor) const {
  for (std::optional<uint64_t> up = dir; up; up = ParentOf(*up)) {
    if (*up == maybe_ancestor) return true;
  }
  return false;
}

Code ModelFs::CheckCreate(uint64_t parent, const std::string& name) const {
  if (!Exists(parent)) return Code::kNotFound;
  if (!IsDir(parent)) return Code::kNotDirectory;
  return nodes_.at(parent).children.count(name) ? Code::kExists : Code::kOk;
}

void ModelFs::ApplyCreate(uint64_t parent, const std::string& name, uint64_t ino, uint32_t mode,
                          uint64_t rdev, const std::string& target) {
  ModelNode n;
  n.mode = mode;
  n.rdev = rdev;
  n.target = target;
  n.nlink = S_ISDIR(mode) ? 2 : 1;
  nodes_.emplace(ino, n);
  nodes_.at(parent).children[name] = ino;
  if (S_ISDIR(mode)) ++nodes_.at(parent).nlink;
}

Code ModelFs::CheckLink(uint64_t ino, uint64_t parent, const std::string& name) const {
  if (!Exists(ino)) return Code::kNotFound;
  if (IsDir(ino)) return Code::kPermission;
  return CheckCreate(parent, name);
}

void ModelFs::ApplyLink(uint64_t ino, uint64_t parent, const std::string& name) {
  nodes_.at(parent).children[name] = ino;
  ++nodes_.at(ino).nlink;
}

Code ModelFs::CheckUnlink(uint64_t parent, const std::string& name) const {
  if (!IsDir(parent)) return Code::kNotDirectory;
  auto it = nodes_.at(parent).children.find(name);
  if (it == nodes_.at(parent).children.end()) return Code::kNotFound;
  return IsDir(it->second) ? Code::kIsDirectory : Code::kOk;
}

Code ModelFs::CheckRmdir(uint64_t parent, const std::string& name) const {
  if (!IsDir(parent)) return Code::kNotDirectory;
  auto it = nodes_.at(parent).children.find(name);
  if (it == nodes_.at(parent).children.end()) return Code::kNotFound;
  if (!IsDir(it->second)) return Code::kNotDirectory;
  return nodes_.at(it->second).children.empty() ? Code::kOk : Code::kNotEmpty;
}

void ModelFs::Drop(uint64_t ino) {
  ModelNode& n = nodes_.at(ino);
  if (S_ISDIR(n.mode) || n.nlink == 0) nodes_.erase(ino);
}

void ModelFs::ApplyRemove(uint64_t parent, const std::string& name) {
  ModelNode& dir = nodes_.at(parent);
  const uint64_t ino = dir.children.at(name);
  dir.children.erase(name);
  if (IsDir(ino)) {
    --dir.nlink;
    nodes_.erase(ino);
    return;
  }
  --nodes_.at(ino).nlink;
  Drop(ino);
}

Code ModelFs::CheckRename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, int flags) const {
  if ((flags & 2) && flags != 2) return Code::kInvalidArgument;  // before anything else
  if (!IsDir(parent) || !IsDir(new_parent)) return Code::kNotDirectory;
  auto src = nodes_.at(parent).children.find(name);
  if (src == nodes_.at(parent).children.end()) return Code::kNotFound;
  auto& to = nodes_.at(new_parent).children;
  auto dst = to.find(new_name);
  if (dst != to.end() && (flags & 1)) return Code::kExists;
  if (dst == to.end() && flags == 2) return Code::kNotFound;
  if (parent == new_parent && name == new_name) return Code::kOk;
  if (IsDir(src->second) && IsBelow(new_parent, src->second)) return Code::kInvalidArgument;
  if (flags == 2) {
    if (IsDir(dst->second) && IsBelow(parent, dst->second)) return Code::kInvalidArgument;
    return Code::kOk;
  }
  if (dst == to.end() || dst->second == src->second) return Code::kOk;
  if (IsDir(src->second)) {
    if (!IsDir(dst->second)) return Code::kNotDirectory;
    if (!nodes_.at(dst->second).children.empty()) return Code::kNotEmpty;
  } else if (IsDir(dst->second)) {
    return Code::kIsDirectory;
  }
  return Code::kOk;
}

bool ModelFs::RenameMakesWhiteout(uint64_t parent, const std::string& name, uint64_t new_parent,
                                  const std::string& new_name, int flags) const {
  if (!(flags & 4) || (parent == new_parent && name == new_name)) return false;
  const auto& to = nodes_.at(new_parent).children;
  auto dst = to.find(new_name);
  return dst == to.end() || dst->second != nodes_.at(parent).children.at(name);
}

bool ModelFs::ApplyRename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, int flags, uint64_t whiteout_ino) {
  const bool whiteout = RenameMakesWhiteout(parent, name, new_parent, new_name, flags);
  if (parent == new_parent && name == new_name) return false;
  auto& from = nodes_.at(parent).children;
  auto& to = nodes_.at(new_parent).children;
  const uint64_t moved = from.at(name);
  if (flags == 2) {
    const uint64_t other = to.at(new_name);
    from[name] = other;
    to[new_name] = moved;
    if (parent != new_parent && IsDir(moved) != IsDir(other)) {
      const int d = IsDir(moved) ? 1 : -1;
      nodes_.at(new_parent).nlink += d;
      nodes_.at(parent).nlink -= d;
    }
    return false;
  }
  auto dst = to.find(new_name);
  if (dst != to.end()) {
    if (dst->second == moved) return false;  // two links to one inode: nothing happens
    const uint64_t victim = dst->second;
    to.erase(dst);
    if (IsDir(victim)) {
      --nodes_.at(new_parent).nlink;
      nodes_.erase(victim);
    } else {
      --nodes_.at(victim).nlink;
      Drop(victim);
    }
  }
  nodes_.at(parent).children.erase(name);
  nodes_.at(new_parent).children[new_name] = moved;
  if (IsDir(moved) && parent != new_parent) {
    --nodes_.at(parent).nlink;
    ++nodes_.at(new_parent).nlink;
  }
  if (whiteout) ApplyCreate(parent, name, whiteout_ino, S_IFCHR, 0);
  return whiteout;
}

void ModelFs::Write(uint64_t ino, uint64_t offset, const std::string& data) {
  std::string& d = nodes_.at(ino).data;
  if (d.size() < offset + data.size()) d.resize(offset + data.size(), '\0');
  d.replace(offset, data.size(), data);
}

void ModelFs::Truncate(uint64_t ino, uint64_t size) { nodes_.at(ino).data.resize(size, '\0'); }

namespace {
void PutString(std::string* out, std::string_view s) {
  PutLe64(out, s.size());
  out->append(s);
}
}  // namespace

std::string ModelFs::Encode() const {
  std::string out;
  PutLe64(&out, nodes_.size());
  for (const auto& [ino, n] : nodes_) {
    PutLe64(&out, ino);
    PutLe32(&out, n.mode);
    PutLe32(&out, n.uid);
    PutLe32(&out, n.gid);
    PutLe64(&out, n.rdev);
    PutLe32(&out, n.nlink);
    PutString(&out, n.data);
    PutString(&out, n.target);
    PutLe64(&out, n.xattrs.size());
    for (const auto& [k, v] : n.xattrs) {
      PutString(&out, k);
      PutString(&out, v);
    }
    PutLe64(&out, n.children.size());
    for (const auto& [name, child] : n.children) {
      PutString(&out, name);
      PutLe64(&out, child);
    }
  }
  return out;
}

std::optional<ModelFs> ModelFs::Decode(std::string_view bytes) {
  Decoder d(bytes);
  auto str = [&d]() { return std::string(d.Bytes(d.Le64())); };
  ModelFs model;
  model.nodes_.clear();
  const uint64_t count = d.Le64();
  for (uint64_t i = 0; i < count && d.ok(); ++i) {
    const uint64_t ino = d.Le64();
    ModelNode n;
    n.mode = d.Le32();
    n.uid = d.Le32();
    n.gid = d.Le32();
    n.rdev = d.Le64();
    n.nlink = d.Le32();
    n.data = str();
    n.target = str();
    const uint64_t xattrs = d.Le64();
    for (uint64_t k = 0; k < xattrs && d.ok(); ++k) {
      std::string name = str();
      n.xattrs[name] = str();
    }
    const uint64_t children = d.Le64();
    for (uint64_t k = 0; k < children && d.ok(); ++k) {
      std::string name = str();
      n.children[name] = d.Le64();
    }
    model.nodes_.emplace(ino, std::move(n));
  }
  if (!d.done() || !model.Exists(1)) return std::nullopt;
  return model;
}

}  // namespace hoodyfs::testing
