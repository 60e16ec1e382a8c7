// GenerationTree: the in-memory shape of the store's generation forest, for
// the visibility rule "from G, a record version written by G or by G's
// nearest ancestor is visible".
//
// Each node keeps its parent, depth and one skew-binary jump pointer
// (Myers 1983): AncestorAtDepth is O(log depth) with O(1) memory per node,
// so IsAncestorOrSelf stays cheap at the end of a 1000-deep chain without
// per-node ancestor bitsets.
//
// Thread-safety: none of its own. The engine mutates it only under the
// KvStore state lock held exclusively and reads it under the lock held
// shared, so every reader sees one immutable tree for its operation.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "base/types.h"

namespace hoodyfs::index {

class GenerationTree {
 public:
  // Adds generation `gen` under `parent` (0: a root). Generations must be
  // added parents first; ids are dense and increasing.
  // REQUIRES: gen not present; parent present or 0; gen > parent.
  void Add(GenId gen, GenId parent);
  // Drops a generation that has no children left.
  // REQUIRES: gen present with no children.
  void Remove(GenId gen);
  // Takes out a generation that has exactly one child: the child moves up
  // under gen's parent (a root's only child becomes a root), and the depths
  // and jump pointers of the child's subtree are recomputed: O(subtree).
  // Garbage collection calls it once it has merged gen's records into the
  // child. REQUIRES: gen present with exactly one child.
  void Splice(GenId gen);

  bool Contains(GenId gen) const;
  GenId Parent(GenId gen) const;
  uint32_t Depth(GenId gen) const;
  // The generations whose parent is `gen`, in the order they were added.
  const std::vector<GenId>& Children(GenId gen) const;
  // True when `ancestor` is `gen` or one of its ancestors.
  bool IsAncestorOrSelf(GenId ancestor, GenId gen) const;
  // The deepest ancestor-or-self of `gen` whose id is <= `bound`, or an
  // invalid id when none is. Ids shrink from child to parent, so this is
  // where a reader skipping a sibling's version (id `bound`, not an
  // ancestor) can seek next: no version between can be visible from `gen`.
  // O(log depth): the jump pointers search the monotone "id <= bound".
  GenId NewestAncestorAtOrBelow(GenId gen, GenId bound) const;
  // Number of generations present.
  size_t size() const { return count_; }

 private:
  struct Node {
    GenId parent;
    GenId jump;
    uint32_t depth = 0;
    bool present = false;
    std::vector<GenId> children;
  };
  const Node& At(GenId gen) const;
  // Sets depth and jump of `gen` from its parent's (already final) ones.
  void Link(GenId gen);
  void DetachFromParent(GenId gen);
  GenId AncestorAtDepth(GenId gen, uint32_t depth) const;
  std::vector<Node> nodes_;  // indexed by gen id
  size_t count_ = 0;
};

}  // namespace hoodyfs::index
