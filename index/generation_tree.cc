#include "index/generation_tree.h"

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
  Node n;
  n.present = true;
  n.parent = parent;
  if (!parent.valid()) {
    n.depth = 0;
    n.jump = gen;
  } else {
    const Node& p = At(parent);
    n.depth = p.depth + 1;
    const Node& pj = At(p.jump);
    // Skew-binary rule: jump twice as far when the parent's two jumps are
    // equally long, otherwise jump to the parent. A root jumps to itself.
    const bool equal = p.depth - pj.depth == pj.depth - At(pj.jump).depth;
    n.jump = equal ? pj.jump : parent;
  }
  nodes_[gen.value] = n;
  ++count_;
}

void GenerationTree::Remove(GenId gen) {
  HOODY_ASSERT(Contains(gen), "removing an unknown generation");
  nodes_[gen.value].present = false;
  --count_;
}

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

}  // namespace hoodyfs::index
