#include "index/generation_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

// The obviously correct model: parent pointers, walked one step at a time.
class NaiveForest {
 public:
  void Add(GenId gen, GenId parent) {
    parent_[gen.value] = parent.value;
    ids_.push_back(gen);
  }
  void Remove(GenId gen) {
    parent_.erase(gen.value);
    std::erase(ids_, gen);
  }
  // gen's only child takes its place under gen's parent.
  void Splice(GenId gen) {
    const std::vector<GenId> kids = Children(gen);
    ASSERT_EQ(kids.size(), 1u);
    parent_[kids[0].value] = parent_.at(gen.value);
    Remove(gen);
  }
  std::vector<GenId> Children(GenId gen) const {
    std::vector<GenId> out;
    for (GenId g : ids_) {
      if (parent_.at(g.value) == gen.value) out.push_back(g);
    }
    return out;
  }
  bool IsAncestorOrSelf(GenId a, GenId g) const {
    for (uint64_t x = g.value; x != 0; x = parent_.at(x)) {
      if (x == a.value) return true;
    }
    return false;
  }
  uint32_t Depth(GenId g) const {
    uint32_t d = 0;
    for (uint64_t x = parent_.at(g.value); x != 0; x = parent_.at(x)) ++d;
    return d;
  }
  GenId Parent(GenId g) const { return GenId(parent_.at(g.value)); }
  GenId NewestAncestorAtOrBelow(GenId g, GenId bound) const {
    for (uint64_t x = g.value; x != 0; x = parent_.at(x)) {
      if (x <= bound.value) return GenId(x);
    }
    return GenId();
  }
  const std::vector<GenId>& ids() const { return ids_; }

 private:
  std::unordered_map<uint64_t, uint64_t> parent_;
  std::vector<GenId> ids_;
};

struct Forest {
  GenerationTree tree;
  NaiveForest naive;
  uint64_t next_id = 1;

  GenId Add(GenId parent, uint64_t id_gap = 1) {
    const GenId g(next_id);
    next_id += id_gap;
    tree.Add(g, parent);
    naive.Add(g, parent);
    return g;
  }
};

void CheckShape(const Forest& f) {
  ASSERT_EQ(f.tree.size(), f.naive.ids().size());
  for (GenId g : f.naive.ids()) {
    ASSERT_TRUE(f.tree.Contains(g)) << g.value;
    ASSERT_EQ(f.tree.Depth(g), f.naive.Depth(g)) << g.value;
    ASSERT_EQ(f.tree.Parent(g), f.naive.Parent(g)) << g.value;
    std::vector<GenId> kids = f.tree.Children(g);
    std::sort(kids.begin(), kids.end());
    ASSERT_EQ(kids, f.naive.Children(g)) << g.value;
  }
}

void CheckAllPairs(const Forest& f) {
  for (GenId a : f.naive.ids()) {
    for (GenId g : f.naive.ids()) {
      ASSERT_EQ(f.tree.IsAncestorOrSelf(a, g), f.naive.IsAncestorOrSelf(a, g))
          << "ancestor " << a.value << " gen " << g.value;
      ASSERT_EQ(f.tree.NewestAncestorAtOrBelow(g, a), f.naive.NewestAncestorAtOrBelow(g, a))
          << "bound " << a.value << " gen " << g.value;
    }
  }
}

// Random pairs, biased towards pairs on one root-to-leaf path (the
// interesting "true" answers and near misses by one level).
void CheckRandomPairs(const Forest& f, std::mt19937_64& rng, int pairs) {
  const auto& ids = f.naive.ids();
  for (int i = 0; i < pairs; ++i) {
    const GenId g = ids[rng() % ids.size()];
    GenId a = ids[rng() % ids.size()];
    if (rng() % 2) {
      // An ancestor of g at a random height, or its sibling-ish neighbour.
      GenId x = g;
      for (uint64_t steps = rng() % (f.naive.Depth(g) + 1); steps > 0; --steps) {
        x = f.naive.Parent(x);
      }
      a = x;
      if (rng() % 4 == 0 && a.value + 1 < f.next_id && f.tree.Contains(GenId(a.value + 1))) {
        a = GenId(a.value + 1);
      }
    }
    ASSERT_EQ(f.tree.IsAncestorOrSelf(a, g), f.naive.IsAncestorOrSelf(a, g))
        << "ancestor " << a.value << " gen " << g.value;
    // `a` as the id of a version met while reading from g: where to go next.
    ASSERT_EQ(f.tree.NewestAncestorAtOrBelow(g, a), f.naive.NewestAncestorAtOrBelow(g, a))
        << "bound " << a.value << " gen " << g.value;
    const GenId between(rng() % f.next_id);
    ASSERT_EQ(f.tree.NewestAncestorAtOrBelow(g, between),
              f.naive.NewestAncestorAtOrBelow(g, between))
        << "bound " << between.value << " gen " << g.value;
  }
}

TEST(GenerationTreeTest, SingleRootAndChild) {
  GenerationTree t;
  t.Add(GenId(1), GenId());
  t.Add(GenId(2), GenId(1));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Depth(GenId(1)), 0u);
  EXPECT_EQ(t.Depth(GenId(2)), 1u);
  EXPECT_FALSE(t.Parent(GenId(1)).valid());
  EXPECT_EQ(t.Parent(GenId(2)), GenId(1));
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(1), GenId(2)));
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(2), GenId(2)));
  EXPECT_FALSE(t.IsAncestorOrSelf(GenId(2), GenId(1)));
  EXPECT_FALSE(t.Contains(GenId(3)));
  EXPECT_FALSE(t.Contains(GenId()));
  EXPECT_FALSE(t.IsAncestorOrSelf(GenId(7), GenId(2)));  // unknown ancestor
}

TEST(GenerationTreeTest, LongChain) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937_64 rng(seed);
  Forest f;
  GenId tip = f.Add(GenId());
  for (int i = 0; i < 2000; ++i) tip = f.Add(tip);
  ASSERT_NO_FATAL_FAILURE(CheckShape(f));
  EXPECT_EQ(f.tree.Depth(tip), 2000u);
  // Every generation against the deepest one, and the deepest against all.
  for (GenId g : f.naive.ids()) {
    ASSERT_TRUE(f.tree.IsAncestorOrSelf(g, tip)) << g.value;
    ASSERT_EQ(f.tree.IsAncestorOrSelf(tip, g), g == tip) << g.value;
  }
  ASSERT_NO_FATAL_FAILURE(CheckRandomPairs(f, rng, 20000));
}

TEST(GenerationTreeTest, WideTrees) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937_64 rng(seed);
  Forest f;
  // A root with 150 children, each with a short chain of its own, plus a
  // second wide level under one child: siblings never see each other.
  const GenId root = f.Add(GenId());
  std::vector<GenId> kids;
  for (int i = 0; i < 150; ++i) kids.push_back(f.Add(root));
  for (GenId k : kids) {
    GenId x = k;
    for (uint64_t d = rng() % 4; d > 0; --d) x = f.Add(x);
  }
  for (int i = 0; i < 120; ++i) f.Add(kids[rng() % kids.size()]);
  ASSERT_NO_FATAL_FAILURE(CheckShape(f));
  ASSERT_NO_FATAL_FAILURE(CheckAllPairs(f));
}

TEST(GenerationTreeTest, RandomForests) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Forest f;
    std::vector<GenId> all{f.Add(GenId())};
    const int n = 50 + static_cast<int>(rng() % 1500);
    for (int i = 0; i < n; ++i) {
      const uint64_t pick = rng() % 100;
      GenId parent;
      if (pick < 3) {
        parent = GenId();  // another root
      } else if (pick < 60) {
        parent = all.back();  // extend the newest: deep chains
      } else if (pick < 80) {
        parent = all[all.size() - 1 - rng() % std::min<size_t>(all.size(), 10)];  // recent
      } else {
        parent = all[rng() % all.size()];  // anywhere: siblings and cousins
      }
      // Sparse ids too: the tree only needs them increasing.
      all.push_back(f.Add(parent, rng() % 8 == 0 ? 1 + rng() % 5 : 1));
    }
    ASSERT_NO_FATAL_FAILURE(CheckShape(f));
    if (n < 400) {
      ASSERT_NO_FATAL_FAILURE(CheckAllPairs(f));
    } else {
      ASSERT_NO_FATAL_FAILURE(CheckRandomPairs(f, rng, 30000));
    }
  }
}

TEST(GenerationTreeTest, RemoveLeaves) {
  GenerationTree t;
  // 1 -> 2 -> 3, 2 -> 4, 1 -> 5
  t.Add(GenId(1), GenId());
  t.Add(GenId(2), GenId(1));
  t.Add(GenId(3), GenId(2));
  t.Add(GenId(4), GenId(2));
  t.Add(GenId(5), GenId(1));
  t.Remove(GenId(3));
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(t.Contains(GenId(3)));
  EXPECT_FALSE(t.IsAncestorOrSelf(GenId(3), GenId(4)));
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(2), GenId(4)));
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(1), GenId(5)));
  EXPECT_FALSE(t.IsAncestorOrSelf(GenId(2), GenId(5)));
  // New generations keep working after a removal.
  t.Add(GenId(6), GenId(4));
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(1), GenId(6)));
  EXPECT_EQ(t.Depth(GenId(6)), 3u);
}

TEST(GenerationTreeTest, SpliceMovesTheOnlyChildUp) {
  GenerationTree t;
  // 1 -> 2 -> 3 -> 4, 3 -> 5: splicing 2 puts 3 (and its subtree) under 1.
  t.Add(GenId(1), GenId());
  t.Add(GenId(2), GenId(1));
  t.Add(GenId(3), GenId(2));
  t.Add(GenId(4), GenId(3));
  t.Add(GenId(5), GenId(3));
  t.Splice(GenId(2));
  EXPECT_FALSE(t.Contains(GenId(2)));
  EXPECT_EQ(t.Parent(GenId(3)), GenId(1));
  EXPECT_EQ(t.Depth(GenId(4)), 2u);
  EXPECT_EQ(t.Children(GenId(1)), std::vector<GenId>{GenId(3)});
  EXPECT_TRUE(t.IsAncestorOrSelf(GenId(1), GenId(5)));
  // A root's only child becomes a root.
  t.Remove(GenId(4));
  t.Remove(GenId(5));
  t.Splice(GenId(1));
  EXPECT_FALSE(t.Parent(GenId(3)).valid());
  EXPECT_EQ(t.Depth(GenId(3)), 0u);
  EXPECT_EQ(t.size(), 1u);
}

// Garbage collection removes leaves and splices one-child generations out of
// long chains while new generations keep arriving: the jump pointers of every
// moved subtree must stay right.
TEST(GenerationTreeTest, RandomRemovesAndSplices) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Forest f;
    f.Add(GenId());
    for (int step = 0; step < 1500; ++step) {
      const std::vector<GenId>& ids = f.naive.ids();
      const uint64_t pick = rng() % 100;
      if (pick < 60 || ids.size() < 3) {
        // Mostly extend recent generations: long chains with a few branches.
        const GenId parent =
            ids.empty() ? GenId() : ids[ids.size() - 1 - rng() % std::min<size_t>(ids.size(), 4)];
        f.Add(parent);
        continue;
      }
      const GenId g = ids[rng() % ids.size()];
      const size_t kids = f.naive.Children(g).size();
      if (kids == 0) {
        f.tree.Remove(g);
        f.naive.Remove(g);
      } else if (kids == 1) {
        f.tree.Splice(g);
        ASSERT_NO_FATAL_FAILURE(f.naive.Splice(g));
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckShape(f));
    ASSERT_NO_FATAL_FAILURE(CheckRandomPairs(f, rng, 20000));
  }
}

}  // namespace
}  // namespace hoodyfs::index
