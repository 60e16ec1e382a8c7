#include "index/generation_tree.h"

#include <algorithm>

namespace hoodyfs::index {

const GenerationTree::Node& GenerationTree::At(GenId gen) const {
  HOODY_ASSERT(Contains(gen), "unknown generation");
  return nodes_[gen.value];
}

bool GenerationTree::Contains(GenId gen) const {
  return gen.value < nodes_.size() && nodes_[gen.value].present;
}

void GenerationTree::Add(GenId gen, GenId parent) {
  HOODY_ASSERT(gen.valid() && !Contains(gen), "generation added twice");
  HOODY_ASSERT(!parent.valid() || (Contains(parent) && parent < gen),
               "parent must exist and be older");
  if (nodes_.size() <= gen.value) nodes_.resize(gen.value + 1);
  Node& n = nodes_[gen.value];
  n = Node();
  n.present = true;
  n.parent = parent;
  Link(gen);
  if (parent.valid()) nodes_[parent.value].children.push_back(gen);
  ++count_;
}

void GenerationTree::Link(GenId gen) {
  Node& n = nodes_[gen.value];
  if (!n.parent.valid()) {
    n.depth = 0;
    n.jump = gen;
    return;
  }
  const Node& p = At(n.parent);
  n.depth = p.depth + 1;
  const Node& pj = At(p.jump);
  // Skew-binary rule: jump twice as far when the parent's two jumps are
  // equally long, otherwise jump to the parent. A root jumps to itself.
  const bool equal = p.depth - pj.depth == pj.depth - At(pj.jump).depth;
  n.jump = equal ? pj.jump : n.parent;
}

void GenerationTree::DetachFromParent(GenId gen) {
  const GenId parent = At(gen).parent;
  if (!parent.valid()) return;
  std::vector<GenId>& siblings = nodes_[parent.value].children;
  siblings.erase(std::find(siblings.begin(), siblings.end(), gen));
}

void GenerationTree::Remove(GenId gen) {
  HOODY_ASSERT(Contains(gen), "removing an unknown generation");
  HOODY_ASSERT(At(gen).children.empty(), "removing a generation that has children");
  DetachFromParent(gen);
  nodes_[gen.value] = Node();
  --count_;
}

void GenerationTree::Splice(GenId gen) {
  HOODY_ASSERT(Contains(gen) && At(gen).children.size() == 1,
               "splicing a generation without exactly one child");
  const GenId child = At(gen).children.front();
  const GenId parent = At(gen).parent;
  DetachFromParent(gen);
  nodes_[gen.value] = Node();
  --count_;
  nodes_[child.value].parent = parent;
  if (parent.valid()) nodes_[parent.value].children.push_back(child);
  // Parents before children: every node's parent is final when it is linked.
  std::vector<GenId> pending{child};
  while (!pending.empty()) {
    const GenId g = pending.back();
    pending.pop_back();
    Link(g);
    const std::vector<GenId>& kids = nodes_[g.value].children;
    pending.insert(pending.end(), kids.begin(), kids.end());
  }
}

const std::vector<GenId>& GenerationTree::Children(GenId gen) const { return At(gen).children; }

GenId GenerationTree::Parent(GenId gen) const { return At(gen).parent; }
uint32_t GenerationTree::Depth(GenId gen) const { return At(gen).depth; }

GenId GenerationTree::AncestorAtDepth(GenId gen, uint32_t depth) const {
  GenId x = gen;
  while (At(x).depth > depth) {
    const Node& n = At(x);
    x = At(n.jump).depth >= depth ? n.jump : n.parent;
  }
  return x;
}

bool GenerationTree::IsAncestorOrSelf(GenId ancestor, GenId gen) const {
  if (ancestor == gen) return true;
  // Ids grow from parent to child: a younger generation is never an ancestor.
  if (!Contains(ancestor) || ancestor > gen) return false;
  const uint32_t d = At(ancestor).depth;
  if (d >= At(gen).depth) return false;
  return AncestorAtDepth(gen, d) == ancestor;
}

GenId GenerationTree::NewestAncestorAtOrBelow(GenId gen, GenId bound) const {
  GenId x = gen;
  while (x > bound) {
    const Node& n = At(x);
    if (!n.parent.valid()) return GenId();
    // A jump that still lands above the bound skips only nodes above it
    // too (ids shrink going up); otherwise step to the parent.
    x = n.jump != x && n.jump > bound ? n.jump : n.parent;
  }
  return x;
}

}  // namespace hoodyfs::index
