// InodeTable: what the kernel holds of this mount, keyed by the engine's
// persistent inode number (never a pointer): the lookup count of every inode
// it was handed (each entry reply adds one, FORGET takes them back), and the
// names (parent, name) under which it cached them, positive or negative.
//
// The counts are the FUSE protocol's bookkeeping; the names exist for the
// invalidations after a restore replaced the tree (Session::InvalidateAll
// and InvalidateDifference): fuse_lowlevel_notify_inval_entry takes a
// parent and a name, and the kernel offers no way to list its dentries.
//
// Each inode also carries the generation its entry replies hand out (0
// until replaced). With the writeback cache the kernel keeps a regular
// file's size and times as its own, so a restore that changed the file
// replaces the kernel's inode instead: Replace bumps the generation, and
// the kernel drops the old inode when a lookup hands it the new one.
// Per inode, not per session, so inodes the restore left alone keep
// theirs, and with them their descriptors opened since.
//
// Memory is bounded by the kernel's own caches: an inode's record and names
// go when its count returns to zero, negative names when their parent goes,
// and at most kMaxNegativeEntries negative names are remembered (beyond that
// RememberNegative refuses, and the caller answers uncached). Each name is
// stored once, in names_; an inode reaches its names through a chain that
// runs through the names' own storage. About 170 bytes per inode with one
// name of 25 bytes (bench/inode_table_memory.cc; docs/design.md, "Memory").
// Forget tells the process heap trimmer what it freed (base/heap_trim.h).
//
// Thread-safety: every method may be called from any thread; one mutex,
// never held across a call out of the table.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "base/types.h"

namespace hoodyfs::fusefs {

class InodeTable {
 public:
  explicit InodeTable(size_t max_negative_entries);

  // An entry reply handed the kernel `ino` under (parent, name): one lookup.
  // Returns the generation the reply must carry.
  // REQUIRES: called before the reply is sent (a FORGET cannot overtake it).
  uint64_t Remember(Ino parent, std::string_view name, Ino ino);
  // An entry reply handed the kernel `ino` under no name it caches: a
  // lookup of "." or ".." (the export path, which resolves file handles).
  // Returns the generation, as Remember. REQUIRES: as Remember.
  uint64_t RememberInode(Ino ino);
  // A lookup found nothing and the kernel will cache that. False: the table
  // is full and the reply must not be cached.
  bool RememberNegative(Ino parent, std::string_view name);
  // FORGET: the kernel dropped `nlookup` references. Returns false when it
  // dropped more than it was given (a protocol error; the count stops at 0).
  bool Forget(Ino ino, uint64_t nlookup);

  // The name is gone (unlink, rmdir, the replaced target of a rename).
  void Removed(Ino parent, std::string_view name);
  // rename(2) moved a dentry; with `exchange` both names swap inodes.
  void Renamed(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
               bool exchange);

  uint64_t LookupCount(Ino ino) const;
  // The generation entry replies of `ino` carry (0 when not held).
  uint64_t Generation(Ino ino) const;
  // True when the kernel holds `ino` (a lookup count above 0).
  bool Holds(Ino ino) const;

  // The kernel's inode of `ino` must be replaced: bumps its generation and
  // returns the names it is cached under, which the caller expires so the
  // next path walk meets the new generation. Nothing when not held.
  std::vector<std::pair<Ino, std::string>> Replace(Ino ino);
  // Replace for every inode held.
  void ReplaceAll();

  struct Known {
    std::vector<std::pair<Ino, std::string>> names;  // positive and negative dentries
    std::vector<Ino> inodes;                         // lookup count > 0
  };
  // A copy of everything the kernel may cache, for invalidation.
  Known Snapshot() const;

  size_t inode_count() const;
  size_t name_count() const;  // positive and negative
  size_t negative_count() const;

 private:
  // (parent, name), what the kernel's dentries are keyed by.
  struct NameKey {
    uint64_t parent;
    std::string_view name;
  };

  // One name the kernel caches. Its bytes live in one heap block, which
  // also holds the link to the next name of the same inode (the chain
  // Node::names starts): the name is stored once, and an inode with one
  // name costs a set node of 64 bytes and a block of 32-48 bytes.
  class Name {
   public:
    // REQUIRES: name.size() <= kNameMax (the engine refuses longer ones).
    Name(uint64_t parent, std::string_view bytes, uint64_t ino);

    uint64_t parent() const { return parent_; }
    uint64_t ino() const { return ino_; }  // 0: a negative entry
    std::string_view name() const;
    NameKey key() const { return NameKey{parent_, name()}; }

    // The inode's next name in its chain. The link lives in the block, not
    // in the set's key, so it may change while the name is in the set.
    const Name* next() const;
    void set_next(const Name* link) const;

   private:
    // [const Name* next][uint8_t size][size bytes]
    static constexpr size_t kNextOffset = 0;
    static constexpr size_t kSizeOffset = sizeof(const Name*);
    static constexpr size_t kBytesOffset = kSizeOffset + 1;
    uint64_t parent_;
    uint64_t ino_;
    std::unique_ptr<char[]> block_;
  };

  struct ByParentThenName {
    using is_transparent = void;
    static NameKey KeyOf(const Name& n) { return n.key(); }
    static NameKey KeyOf(const NameKey& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      const NameKey x = KeyOf(a);
      const NameKey y = KeyOf(b);
      return x.parent != y.parent ? x.parent < y.parent : x.name < y.name;
    }
  };
  using Names = std::set<Name, ByParentThenName>;

  struct Node {
    uint64_t lookups = 0;
    uint64_t generation = 0;
    const Name* names = nullptr;  // chain through Name::next, at most kMaxNamesPerInode
  };

  // Takes the name out of its inode's chain (or the negative count), then
  // out of names_. Returns the name after it.
  Names::iterator EraseAt(Names::iterator it) REQUIRES(mu_);
  void EraseName(NameKey key) REQUIRES(mu_);
  // The inode `key` names; 0 when negative or not listed.
  uint64_t InoOf(NameKey key) const REQUIRES(mu_);
  // Lists `key` under `ino` (0: negative), replacing what it listed.
  // REQUIRES: key.name is the caller's, not a view into a Name of the table
  // (the name it replaces is freed first).
  void Link(NameKey key, uint64_t ino) REQUIRES(mu_);

  const size_t max_negative_entries_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_ GUARDED_BY(mu_);
  // Ordered so the names under one parent form a range.
  Names names_ GUARDED_BY(mu_);
  size_t negatives_ GUARDED_BY(mu_) = 0;
};

}  // namespace hoodyfs::fusefs
