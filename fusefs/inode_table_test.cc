#include "fusefs/inode_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "fusefs/limits.h"

namespace hoodyfs::fusefs {
namespace {

using Names = std::vector<std::pair<Ino, std::string>>;

bool HasName(const InodeTable& t, uint64_t parent, const std::string& name) {
  const Names names = t.Snapshot().names;
  return std::find(names.begin(), names.end(), std::make_pair(Ino(parent), name)) != names.end();
}

TEST(InodeTableTest, CountsLookupsPerPersistentInode) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "hard", Ino(7));
  EXPECT_EQ(t.LookupCount(Ino(7)), 3u);
  EXPECT_TRUE(t.Forget(Ino(7), 2));
  EXPECT_EQ(t.LookupCount(Ino(7)), 1u);
  EXPECT_TRUE(HasName(t, 1, "a"));
  EXPECT_TRUE(t.Forget(Ino(7), 1));
  EXPECT_EQ(t.LookupCount(Ino(7)), 0u);
  EXPECT_EQ(t.inode_count(), 0u);
  EXPECT_TRUE(t.Snapshot().names.empty());
}

// "." and ".." lookups (file handles) hand out inodes under no name: they
// count, and InvalidateAll still finds the inode, but no dentry is listed.
TEST(InodeTableTest, InodesHandedOutWithoutANameAreCounted) {
  InodeTable t(10);
  t.RememberInode(Ino(7));
  t.Remember(Ino(1), "a", Ino(7));
  EXPECT_EQ(t.LookupCount(Ino(7)), 2u);
  const InodeTable::Known known = t.Snapshot();
  EXPECT_EQ(known.inodes, std::vector<Ino>{Ino(7)});
  EXPECT_EQ(known.names.size(), 1u);
  EXPECT_TRUE(t.Forget(Ino(7), 2));
  EXPECT_EQ(t.inode_count(), 0u);
}

TEST(InodeTableTest, ForgettingTooMuchIsReportedAndClamped) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  EXPECT_FALSE(t.Forget(Ino(7), 5));
  EXPECT_EQ(t.LookupCount(Ino(7)), 0u);
  EXPECT_FALSE(t.Forget(Ino(8), 1));
  EXPECT_TRUE(t.Forget(Ino(8), 0));
}

TEST(InodeTableTest, NegativeEntriesAreBoundedAndReplaced) {
  InodeTable t(2);
  EXPECT_TRUE(t.RememberNegative(Ino(1), "x"));
  EXPECT_TRUE(t.RememberNegative(Ino(1), "x"));
  EXPECT_TRUE(t.RememberNegative(Ino(1), "y"));
  EXPECT_FALSE(t.RememberNegative(Ino(1), "z"));
  EXPECT_EQ(t.negative_count(), 2u);
  // A name that appears replaces its negative entry.
  t.Remember(Ino(1), "x", Ino(9));
  EXPECT_EQ(t.negative_count(), 1u);
  EXPECT_TRUE(t.RememberNegative(Ino(1), "z"));
  EXPECT_EQ(t.Snapshot().names.size(), 3u);
}

TEST(InodeTableTest, ForgettingADirectoryDropsNamesUnderIt) {
  InodeTable t(10);
  t.Remember(Ino(1), "d", Ino(5));
  EXPECT_TRUE(t.RememberNegative(Ino(5), "missing"));
  t.Remember(Ino(5), "f", Ino(6));
  EXPECT_TRUE(t.Forget(Ino(5), 1));
  EXPECT_FALSE(HasName(t, 5, "missing"));
  EXPECT_FALSE(HasName(t, 5, "f"));
  EXPECT_FALSE(HasName(t, 1, "d"));
  EXPECT_EQ(t.negative_count(), 0u);
  EXPECT_EQ(t.LookupCount(Ino(6)), 1u);  // the file's own count is its own
}

TEST(InodeTableTest, RenameAndRemoveFollowTheDentries) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "b", Ino(8));
  t.Renamed(Ino(1), "a", Ino(1), "b", /*exchange=*/true);
  EXPECT_TRUE(HasName(t, 1, "a"));
  EXPECT_TRUE(HasName(t, 1, "b"));
  t.Renamed(Ino(1), "a", Ino(2), "c", /*exchange=*/false);
  EXPECT_FALSE(HasName(t, 1, "a"));
  EXPECT_TRUE(HasName(t, 2, "c"));
  t.Removed(Ino(2), "c");
  EXPECT_FALSE(HasName(t, 2, "c"));
  EXPECT_EQ(t.LookupCount(Ino(8)), 1u);  // removal of a name keeps the count
  const auto known = t.Snapshot();
  EXPECT_EQ(known.inodes.size(), 2u);
}

TEST(InodeTableTest, ReplaceBumpsOneInodesGenerationAndReturnsItsNames) {
  InodeTable t(10);
  EXPECT_EQ(t.Remember(Ino(1), "a", Ino(7)), 0u);
  t.Remember(Ino(1), "hard", Ino(7));
  t.Remember(Ino(1), "other", Ino(8));
  EXPECT_TRUE(t.Holds(Ino(7)));
  EXPECT_FALSE(t.Holds(Ino(9)));
  const auto names = t.Replace(Ino(7));
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(t.Generation(Ino(7)), 1u);
  EXPECT_EQ(t.Generation(Ino(8)), 0u);             // left alone
  EXPECT_EQ(t.Remember(Ino(1), "a", Ino(7)), 1u);  // later replies carry it
  EXPECT_TRUE(t.Replace(Ino(9)).empty());          // not held: nothing to replace
  t.ReplaceAll();
  EXPECT_EQ(t.Generation(Ino(7)), 2u);
  EXPECT_EQ(t.Generation(Ino(8)), 1u);
  // Forgotten by the kernel: a new inode starts over.
  EXPECT_TRUE(t.Forget(Ino(8), 1));
  EXPECT_EQ(t.Remember(Ino(1), "other", Ino(8)), 0u);
  EXPECT_EQ(t.name_count(), 3u);
}

// Names of every length the engine allows keep their bytes, and an inode
// keeps at most kMaxNamesPerInode of them.
TEST(InodeTableTest, NamesOfEveryLengthAndTheLimitPerInode) {
  InodeTable t(10);
  std::vector<std::string> names;
  for (size_t n = 0; n <= kNameMax; n += 17) names.push_back(std::string(n, 'a' + n % 26));
  names.push_back(std::string(kNameMax, 'z'));
  for (const std::string& name : names) t.Remember(Ino(1), name, Ino(7));
  EXPECT_EQ(t.LookupCount(Ino(7)), names.size());
  EXPECT_EQ(t.name_count(), kMaxNamesPerInode);
  for (const auto& [parent, name] : t.Replace(Ino(7))) {
    EXPECT_EQ(parent, Ino(1));
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name.size();
  }
  EXPECT_TRUE(t.Forget(Ino(7), names.size()));
  EXPECT_EQ(t.name_count(), 0u);
}

// The reference the table is checked against: every name in one map, every
// count in another, each operation written out the obvious way.
class ReferenceTable {
 public:
  explicit ReferenceTable(size_t max_negative) : max_negative_(max_negative) {}

  uint64_t Remember(uint64_t parent, const std::string& name, uint64_t ino) {
    ++lookups_[ino];
    Link({parent, name}, ino);
    return generations_[ino];
  }
  uint64_t RememberInode(uint64_t ino) {
    ++lookups_[ino];
    return generations_[ino];
  }
  bool RememberNegative(uint64_t parent, const std::string& name) {
    const Key key{parent, name};
    auto it = names_.find(key);
    if (it != names_.end() && it->second == 0) return true;
    if (Negatives() >= max_negative_) {
      names_.erase(key);
      return false;
    }
    Link(key, 0);
    return true;
  }
  bool Forget(uint64_t ino, uint64_t nlookup) {
    auto it = lookups_.find(ino);
    if (it == lookups_.end()) return nlookup == 0;
    const bool ok = it->second >= nlookup;
    it->second -= std::min(it->second, nlookup);
    if (it->second > 0) return ok;
    lookups_.erase(it);
    generations_.erase(ino);
    std::erase_if(names_, [&](const auto& e) { return e.second == ino || e.first.first == ino; });
    return ok;
  }
  void Removed(uint64_t parent, const std::string& name) { names_.erase({parent, name}); }
  void Renamed(uint64_t parent, const std::string& name, uint64_t new_parent,
               const std::string& new_name, bool exchange) {
    const Key from{parent, name};
    const Key to{new_parent, new_name};
    auto lookup = [&](const Key& k) { return names_.count(k) > 0 ? names_[k] : 0; };
    const uint64_t moved = lookup(from);
    const uint64_t other = lookup(to);
    names_.erase(from);
    names_.erase(to);
    if (moved != 0) Link(to, moved);
    if (exchange && other != 0) Link(from, other);
  }
  std::set<std::pair<Ino, std::string>> Replace(uint64_t ino) {
    std::set<std::pair<Ino, std::string>> out;
    if (lookups_.count(ino) == 0) return out;
    ++generations_[ino];
    for (const auto& [key, i] : names_) {
      if (i == ino) out.emplace(Ino(key.first), key.second);
    }
    return out;
  }
  void ReplaceAll() {
    for (auto& [ino, lookups] : lookups_) ++generations_[ino];
  }

  Names SortedNames() const {
    Names out;
    for (const auto& [key, ino] : names_) out.emplace_back(Ino(key.first), key.second);
    return out;
  }
  std::vector<Ino> SortedInodes() const {
    std::vector<Ino> out;
    for (const auto& [ino, lookups] : lookups_) out.push_back(Ino(ino));
    return out;
  }
  uint64_t LookupCount(uint64_t ino) const {
    auto it = lookups_.find(ino);
    return it == lookups_.end() ? 0 : it->second;
  }
  uint64_t Generation(uint64_t ino) const {
    auto it = generations_.find(ino);
    return it == generations_.end() ? 0 : it->second;
  }
  size_t Negatives() const {
    return std::count_if(names_.begin(), names_.end(), [](const auto& e) { return e.second == 0; });
  }

 private:
  using Key = std::pair<uint64_t, std::string>;
  void Link(const Key& key, uint64_t ino) {
    names_.erase(key);
    if (ino != 0) {
      if (lookups_.count(ino) == 0) return;
      const auto held = std::count_if(names_.begin(), names_.end(),
                                      [&](const auto& e) { return e.second == ino; });
      if (static_cast<size_t>(held) >= kMaxNamesPerInode) return;
    }
    names_[key] = ino;
  }

  const size_t max_negative_;
  std::map<Key, uint64_t> names_;  // 0: negative
  std::map<uint64_t, uint64_t> lookups_;
  std::map<uint64_t, uint64_t> generations_;
};

// Random operations on small sets of inodes, parents and names (so names
// collide, directories holding names are forgotten, hard links reach the
// limit and negative entries the bound), the table checked against the
// reference after every one.
TEST(InodeTableTest, RandomOperationsMatchTheReference) {
  constexpr size_t kMaxNegative = 6;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](uint64_t lo, uint64_t hi) {
      return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
    };
    std::vector<std::string> pool;
    for (int i = 0; i < 24; ++i) {
      // Short names (inline in the old layout) and long ones, up to kNameMax.
      const size_t size = i % 4 == 3 ? 16 + pick(0, kNameMax - 16) : 1 + pick(0, 14);
      pool.push_back(std::string(size, static_cast<char>('a' + i)));
    }
    auto name = [&] { return pool[pick(0, pool.size() - 1)]; };
    // Parents are among the inodes, so forgetting one drops names under it.
    // Odd seeds use two inodes only, so they gather names past
    // kMaxNamesPerInode.
    const uint64_t max_ino = seed % 2 == 1 ? 3 : 12;
    auto ino = [&] { return pick(2, max_ino); };
    auto parent = [&] { return pick(1, 5); };

    InodeTable t(kMaxNegative);
    ReferenceTable ref(kMaxNegative);
    for (int step = 0; step < 3000; ++step) {
      const uint64_t op = pick(0, 99);
      std::string what;
      if (op < 30) {
        const uint64_t p = parent(), i = ino();
        const std::string n = name();
        what = "Remember";
        ASSERT_EQ(t.Remember(Ino(p), n, Ino(i)), ref.Remember(p, n, i)) << step;
      } else if (op < 33) {
        const uint64_t i = ino();
        what = "RememberInode";
        ASSERT_EQ(t.RememberInode(Ino(i)), ref.RememberInode(i)) << step;
      } else if (op < 48) {
        const uint64_t p = parent();
        const std::string n = name();
        what = "RememberNegative";
        ASSERT_EQ(t.RememberNegative(Ino(p), n), ref.RememberNegative(p, n)) << step;
      } else if (op < 70) {
        const uint64_t i = pick(1, max_ino + 1), k = pick(0, 3);
        what = "Forget";
        ASSERT_EQ(t.Forget(Ino(i), k), ref.Forget(i, k)) << step;
      } else if (op < 78) {
        const uint64_t p = parent();
        const std::string n = name();
        what = "Removed";
        t.Removed(Ino(p), n);
        ref.Removed(p, n);
      } else if (op < 92) {
        const uint64_t p = parent(), q = parent();
        const std::string n = name(), m = name();
        const bool exchange = pick(0, 1) == 1;
        what = "Renamed";
        t.Renamed(Ino(p), n, Ino(q), m, exchange);
        ref.Renamed(p, n, q, m, exchange);
      } else if (op < 98) {
        const uint64_t i = ino();
        what = "Replace";
        const auto got = t.Replace(Ino(i));
        const std::set<std::pair<Ino, std::string>> got_set(got.begin(), got.end());
        ASSERT_EQ(got.size(), got_set.size()) << step;
        ASSERT_EQ(got_set, ref.Replace(i)) << step;
      } else {
        what = "ReplaceAll";
        t.ReplaceAll();
        ref.ReplaceAll();
      }
      SCOPED_TRACE("step " + std::to_string(step) + ": " + what);
      const InodeTable::Known known = t.Snapshot();
      ASSERT_EQ(known.names, ref.SortedNames());  // ordered by (parent, name)
      std::vector<Ino> inodes = known.inodes;
      std::sort(inodes.begin(), inodes.end());
      ASSERT_EQ(inodes, ref.SortedInodes());
      ASSERT_EQ(t.inode_count(), inodes.size());
      ASSERT_EQ(t.name_count(), known.names.size());
      ASSERT_EQ(t.negative_count(), ref.Negatives());
      for (uint64_t i = 1; i <= 13; ++i) {
        ASSERT_EQ(t.LookupCount(Ino(i)), ref.LookupCount(i)) << i;
        ASSERT_EQ(t.Holds(Ino(i)), ref.LookupCount(i) > 0) << i;
        ASSERT_EQ(t.Generation(Ino(i)), ref.Generation(i)) << i;
      }
    }
  }
}

// Threads that each remember and forget inodes of their own, under shared
// parents, leave nothing behind (and give the sanitizer passes a race to
// find if the table had one).
TEST(InodeTableTest, ConcurrentRememberAndForgetBalanceOut) {
  InodeTable t(1000);
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) {
    threads.emplace_back([&t, id] {
      const uint64_t base = 100 + uint64_t(id) * kPerThread;
      for (uint64_t i = 0; i < kPerThread; ++i) {
        const std::string name = "file-with-a-long-name-" + std::to_string(i);
        t.Remember(Ino(1 + i % 3), name, Ino(base + i));
        t.Remember(Ino(1 + i % 3), name, Ino(base + i));
        t.RememberNegative(Ino(base + i), "missing");
        if (i % 256 == 0) {
          EXPECT_GE(t.Snapshot().names.size(), 1u);
        }
      }
      for (uint64_t i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(t.Forget(Ino(base + i), 2));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(t.inode_count(), 0u);
  EXPECT_EQ(t.name_count(), 0u);
  EXPECT_EQ(t.negative_count(), 0u);
}

}  // namespace
}  // namespace hoodyfs::fusefs
