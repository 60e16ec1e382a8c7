#include "fusefs/inode_table.h"

#include <algorithm>

#include "fusefs/limits.h"

namespace hoodyfs::fusefs {

InodeTable::InodeTable(size_t max_negative_entries) : max_negative_entries_(max_negative_entries) {}

void InodeTable::EraseName(const Key& key) {
  auto it = names_.find(key);
  if (it == names_.end()) return;
  if (it->second == 0) {
    --negatives_;
  } else if (auto node = nodes_.find(it->second); node != nodes_.end()) {
    auto& names = node->second.names;
    names.erase(std::remove(names.begin(), names.end(), key), names.end());
  }
  names_.erase(it);
}

void InodeTable::Link(const Key& key, uint64_t ino) {
  EraseName(key);
  if (ino == 0) {
    names_.emplace(key, 0);
    ++negatives_;
    return;
  }
  // The inode must be known; a name of an inode that the kernel no longer
  // holds is not worth remembering.
  auto node = nodes_.find(ino);
  if (node == nodes_.end()) return;
  if (node->second.names.size() >= kMaxNamesPerInode) return;
  names_.emplace(key, ino);
  node->second.names.push_back(key);
}

uint64_t InodeTable::Remember(Ino parent, std::string_view name, Ino ino) {
  std::lock_guard l(mu_);
  Node& node = nodes_[ino.value];
  ++node.lookups;
  const uint64_t generation = node.generation;
  Link(Key(parent.value, std::string(name)), ino.value);
  return generation;
}

uint64_t InodeTable::RememberInode(Ino ino) {
  std::lock_guard l(mu_);
  Node& node = nodes_[ino.value];
  ++node.lookups;
  return node.generation;
}

bool InodeTable::RememberNegative(Ino parent, std::string_view name) {
  std::lock_guard l(mu_);
  Key key(parent.value, std::string(name));
  auto it = names_.find(key);
  if (it != names_.end() && it->second == 0) return true;
  if (negatives_ >= max_negative_entries_) {
    EraseName(key);
    return false;
  }
  Link(key, 0);
  return true;
}

bool InodeTable::Forget(Ino ino, uint64_t nlookup) {
  std::lock_guard l(mu_);
  auto it = nodes_.find(ino.value);
  if (it == nodes_.end()) return nlookup == 0;
  bool ok = true;
  if (it->second.lookups < nlookup) {
    ok = false;
    nlookup = it->second.lookups;
  }
  it->second.lookups -= nlookup;
  if (it->second.lookups > 0) return ok;
  for (const Key& key : it->second.names) names_.erase(key);
  nodes_.erase(it);
  // A cached child dentry pins its parent, so none is left under a
  // forgotten directory: drop what the table still lists there.
  auto child = names_.lower_bound(Key(ino.value, std::string()));
  while (child != names_.end() && child->first.first == ino.value) {
    const Key key = child->first;
    ++child;
    EraseName(key);
  }
  return ok;
}

void InodeTable::Removed(Ino parent, std::string_view name) {
  std::lock_guard l(mu_);
  EraseName(Key(parent.value, std::string(name)));
}

void InodeTable::Renamed(Ino parent, std::string_view name, Ino new_parent,
                         std::string_view new_name, bool exchange) {
  std::lock_guard l(mu_);
  const Key from(parent.value, std::string(name));
  const Key to(new_parent.value, std::string(new_name));
  auto lookup = [&](const Key& key) -> uint64_t {
    auto it = names_.find(key);
    return it == names_.end() ? 0 : it->second;
  };
  const uint64_t moved = lookup(from);
  const uint64_t other = lookup(to);
  EraseName(from);
  EraseName(to);
  if (moved != 0) Link(to, moved);
  if (exchange && other != 0) Link(from, other);
}

uint64_t InodeTable::LookupCount(Ino ino) const {
  std::lock_guard l(mu_);
  auto it = nodes_.find(ino.value);
  return it == nodes_.end() ? 0 : it->second.lookups;
}

uint64_t InodeTable::Generation(Ino ino) const {
  std::lock_guard l(mu_);
  auto it = nodes_.find(ino.value);
  return it == nodes_.end() ? 0 : it->second.generation;
}

bool InodeTable::Holds(Ino ino) const {
  std::lock_guard l(mu_);
  return nodes_.count(ino.value) > 0;
}

std::vector<std::pair<Ino, std::string>> InodeTable::Replace(Ino ino) {
  std::lock_guard l(mu_);
  std::vector<std::pair<Ino, std::string>> out;
  auto it = nodes_.find(ino.value);
  if (it == nodes_.end()) return out;
  ++it->second.generation;
  out.reserve(it->second.names.size());
  for (const Key& key : it->second.names) out.emplace_back(Ino(key.first), key.second);
  return out;
}

void InodeTable::ReplaceAll() {
  std::lock_guard l(mu_);
  for (auto& [ino, node] : nodes_) ++node.generation;
}

InodeTable::Known InodeTable::Snapshot() const {
  std::lock_guard l(mu_);
  Known out;
  out.names.reserve(names_.size());
  for (const auto& [key, ino] : names_) out.names.emplace_back(Ino(key.first), key.second);
  out.inodes.reserve(nodes_.size());
  for (const auto& [ino, node] : nodes_) out.inodes.push_back(Ino(ino));
  return out;
}

size_t InodeTable::inode_count() const {
  std::lock_guard l(mu_);
  return nodes_.size();
}

size_t InodeTable::name_count() const {
  std::lock_guard l(mu_);
  return names_.size();
}

size_t InodeTable::negative_count() const {
  std::lock_guard l(mu_);
  return negatives_;
}

}  // namespace hoodyfs::fusefs
