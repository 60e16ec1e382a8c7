#include "fusefs/inode_table.h"

#include <cstring>

#include "base/assert.h"
#include "base/heap_trim.h"
#include "fusefs/limits.h"

namespace hoodyfs::fusefs {

static_assert(kNameMax <= UINT8_MAX, "a name's size is stored in one byte");

namespace {
// What forgetting one inode and its name frees, roughly (a hash node and
// bucket, a set node, a name block): for the heap trimmer, which only
// needs the order of magnitude.
constexpr size_t kApproximateBytesPerInode = 170;
}  // namespace

InodeTable::Name::Name(uint64_t parent, std::string_view bytes, uint64_t ino)
    : parent_(parent), ino_(ino), block_(new char[kBytesOffset + bytes.size()]) {
  HOODY_ASSERT(bytes.size() <= kNameMax, "a cached name is at most kNameMax bytes");
  set_next(nullptr);
  block_[kSizeOffset] = static_cast<char>(static_cast<uint8_t>(bytes.size()));
  std::memcpy(block_.get() + kBytesOffset, bytes.data(), bytes.size());
}

std::string_view InodeTable::Name::name() const {
  return std::string_view(block_.get() + kBytesOffset, static_cast<uint8_t>(block_[kSizeOffset]));
}

const InodeTable::Name* InodeTable::Name::next() const {
  const Name* link;
  std::memcpy(&link, block_.get() + kNextOffset, sizeof link);
  return link;
}

void InodeTable::Name::set_next(const Name* link) const {
  std::memcpy(block_.get() + kNextOffset, &link, sizeof link);
}

InodeTable::InodeTable(size_t max_negative_entries) : max_negative_entries_(max_negative_entries) {}

InodeTable::Names::iterator InodeTable::EraseAt(Names::iterator it) {
  const Name& name = *it;
  if (name.ino() == 0) {
    --negatives_;
  } else if (auto node = nodes_.find(name.ino()); node != nodes_.end()) {
    const Name* prev = nullptr;
    for (const Name* n = node->second.names; n != nullptr; prev = n, n = n->next()) {
      if (n != &name) continue;
      if (prev == nullptr) {
        node->second.names = n->next();
      } else {
        prev->set_next(n->next());
      }
      break;
    }
  }
  return names_.erase(it);
}

void InodeTable::EraseName(NameKey key) {
  auto it = names_.find(key);
  if (it != names_.end()) EraseAt(it);
}

uint64_t InodeTable::InoOf(NameKey key) const {
  auto it = names_.find(key);
  return it == names_.end() ? 0 : it->ino();
}

void InodeTable::Link(NameKey key, uint64_t ino) {
  EraseName(key);
  if (ino == 0) {
    names_.emplace(key.parent, key.name, 0);
    ++negatives_;
    return;
  }
  // The inode must be known; a name of an inode that the kernel no longer
  // holds is not worth remembering.
  auto node = nodes_.find(ino);
  if (node == nodes_.end()) return;
  size_t count = 0;
  for (const Name* n = node->second.names; n != nullptr; n = n->next()) ++count;
  if (count >= kMaxNamesPerInode) return;
  const Name& name = *names_.emplace(key.parent, key.name, ino).first;
  name.set_next(node->second.names);
  node->second.names = &name;
}

uint64_t InodeTable::Remember(Ino parent, std::string_view name, Ino ino) {
  MutexLock l(mu_);
  Node& node = nodes_[ino.value];
  ++node.lookups;
  const uint64_t generation = node.generation;
  Link(NameKey{parent.value, name}, ino.value);
  return generation;
}

uint64_t InodeTable::RememberInode(Ino ino) {
  MutexLock l(mu_);
  Node& node = nodes_[ino.value];
  ++node.lookups;
  return node.generation;
}

bool InodeTable::RememberNegative(Ino parent, std::string_view name) {
  MutexLock l(mu_);
  const NameKey key{parent.value, name};
  auto it = names_.find(key);
  if (it != names_.end() && it->ino() == 0) return true;
  if (negatives_ >= max_negative_entries_) {
    if (it != names_.end()) EraseAt(it);
    return false;
  }
  Link(key, 0);
  return true;
}

bool InodeTable::Forget(Ino ino, uint64_t nlookup) {
  size_t freed = 0;
  bool ok = true;
  {
    MutexLock l(mu_);
    auto it = nodes_.find(ino.value);
    if (it == nodes_.end()) return nlookup == 0;
    if (it->second.lookups < nlookup) {
      ok = false;
      nlookup = it->second.lookups;
    }
    it->second.lookups -= nlookup;
    if (it->second.lookups > 0) return ok;
    for (const Name* n = it->second.names; n != nullptr;) {
      const Name* next = n->next();
      names_.erase(names_.find(n->key()));
      n = next;
    }
    nodes_.erase(it);
    // The hash table keeps its bucket array at its largest (8 bytes per
    // inode ever held at once): shrink it when a quarter is in use, which
    // costs O(1) per forgotten inode over time.
    if (nodes_.bucket_count() > 1024 && nodes_.size() * 4 < nodes_.bucket_count()) {
      nodes_.rehash(0);
    }
    // A cached child dentry pins its parent, so none is left under a
    // forgotten directory: drop what the table still lists there.
    auto child = names_.lower_bound(NameKey{ino.value, std::string_view()});
    while (child != names_.end() && child->parent() == ino.value) child = EraseAt(child);
    freed = kApproximateBytesPerInode;
  }
  NoteHeapFreed(freed);
  return ok;
}

void InodeTable::Removed(Ino parent, std::string_view name) {
  MutexLock l(mu_);
  EraseName(NameKey{parent.value, name});
}

void InodeTable::Renamed(Ino parent, std::string_view name, Ino new_parent,
                         std::string_view new_name, bool exchange) {
  MutexLock l(mu_);
  const NameKey from{parent.value, name};
  const NameKey to{new_parent.value, new_name};
  const uint64_t moved = InoOf(from);
  const uint64_t other = InoOf(to);
  EraseName(from);
  EraseName(to);
  if (moved != 0) Link(to, moved);
  if (exchange && other != 0) Link(from, other);
}

uint64_t InodeTable::LookupCount(Ino ino) const {
  MutexLock l(mu_);
  auto it = nodes_.find(ino.value);
  return it == nodes_.end() ? 0 : it->second.lookups;
}

uint64_t InodeTable::Generation(Ino ino) const {
  MutexLock l(mu_);
  auto it = nodes_.find(ino.value);
  return it == nodes_.end() ? 0 : it->second.generation;
}

bool InodeTable::Holds(Ino ino) const {
  MutexLock l(mu_);
  return nodes_.count(ino.value) > 0;
}

std::vector<std::pair<Ino, std::string>> InodeTable::Replace(Ino ino) {
  MutexLock l(mu_);
  std::vector<std::pair<Ino, std::string>> out;
  auto it = nodes_.find(ino.value);
  if (it == nodes_.end()) return out;
  ++it->second.generation;
  for (const Name* n = it->second.names; n != nullptr; n = n->next()) {
    out.emplace_back(Ino(n->parent()), std::string(n->name()));
  }
  return out;
}

void InodeTable::ReplaceAll() {
  MutexLock l(mu_);
  for (auto& [ino, node] : nodes_) ++node.generation;
}

InodeTable::Known InodeTable::Snapshot() const {
  MutexLock l(mu_);
  Known out;
  out.names.reserve(names_.size());
  for (const Name& n : names_) out.names.emplace_back(Ino(n.parent()), std::string(n.name()));
  out.inodes.reserve(nodes_.size());
  for (const auto& [ino, node] : nodes_) out.inodes.push_back(Ino(ino));
  return out;
}

size_t InodeTable::inode_count() const {
  MutexLock l(mu_);
  return nodes_.size();
}

size_t InodeTable::name_count() const {
  MutexLock l(mu_);
  return names_.size();
}

size_t InodeTable::negative_count() const {
  MutexLock l(mu_);
  return negatives_;
}

}  // namespace hoodyfs::fusefs
