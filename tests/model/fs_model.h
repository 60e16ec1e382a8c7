// ModelFs: an in-memory reference filesystem with the semantics FileSystem
// promises, used by the model-based randomized tests. Every operation
// returns the Status code the engine must return, and changes the model
// only when it succeeds. Inode numbers come from the engine (the model
// records what the engine assigned), so trees compare ino by ino.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::testing {

struct ModelNode {
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint32_t nlink = 0;
  std::string data;    // regular files
  std::string target;  // symlinks
  std::map<std::string, std::string> xattrs;
  std::map<std::string, uint64_t> children;  // directories
};

class ModelFs {
 public:
  ModelFs();

  bool Exists(uint64_t ino) const { return nodes_.count(ino) > 0; }
  const ModelNode& Node(uint64_t ino) const { return nodes_.at(ino); }
  const std::map<uint64_t, ModelNode>& nodes() const { return nodes_; }

  // Each Check* returns the code the operation must produce; Apply* then
  // performs it (only call Apply when Check said kOk).
  Code CheckCreate(uint64_t parent, const std::string& name) const;
  void ApplyCreate(uint64_t parent, const std::string& name, uint64_t ino, uint32_t mode,
                   uint64_t rdev, const std::string& target = "");
  Code CheckLink(uint64_t ino, uint64_t parent, const std::string& name) const;
  void ApplyLink(uint64_t ino, uint64_t parent, const std::string& name);
  Code CheckUnlink(uint64_t parent, const std::string& name) const;
  Code CheckRmdir(uint64_t parent, const std::string& name) const;
  void ApplyRemove(uint64_t parent, const std::string& name);
  // flags: RenameFlags' bits: 1 (noreplace), 2 (exchange), 4 (whiteout),
  // 5 (noreplace | whiteout).
  Code CheckRename(uint64_t parent, const std::string& name, uint64_t new_parent,
                   const std::string& new_name, int flags) const;
  // With flag 4, when the rename moves something, the source name is left
  // holding a whiteout (a character device 0/0, mode 0, owned by 0:0) with
  // inode `whiteout_ino` (the engine's). Returns true when it made one.
  bool ApplyRename(uint64_t parent, const std::string& name, uint64_t new_parent,
                   const std::string& new_name, int flags, uint64_t whiteout_ino = 0);
  // Whether a successful rename with these arguments leaves a whiteout
  // (flag 4 and something moves).
  bool RenameMakesWhiteout(uint64_t parent, const std::string& name, uint64_t new_parent,
                           const std::string& new_name, int flags) const;
  void Write(uint64_t ino, uint64_t offset, const std::string& data);
  void Truncate(uint64_t ino, uint64_t size);
  ModelNode& Mutable(uint64_t ino) { return nodes_.at(ino); }

  // A byte string holding every node, and back: how a crash test's child
  // process hands its model to the parent. Decode returns nullopt on input
  // Encode did not produce.
  std::string Encode() const;
  static std::optional<ModelFs> Decode(std::string_view bytes);

 private:
  bool IsDir(uint64_t ino) const;
  bool IsBelow(uint64_t dir, uint64_t maybe_ancestor) const;
  std::optional<uint64_t> ParentOf(uint64_t dir) const;
  void Drop(uint64_t ino);
  std::map<uint64_t, ModelNode> nodes_;
};

}  // namespace hoodyfs::testing
