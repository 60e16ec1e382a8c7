#include "index/versioned.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "index/keys.h"
#include "index/records.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::OpenStore;
using testutil::TempDir;

constexpr Table kTable = Table::kXattrs;

// What ForEach reported, or what the model says it should: (logical key,
// payload, writing generation) in key order.
using Visits = std::vector<std::tuple<std::string, std::string, uint64_t>>;

class VersionedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("meta.lmdb");
    ASSERT_NO_FATAL_FAILURE(OpenStore(path_, &store_));
  }
  void FlushAndReopen() {
    Status s = store_->Flush();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NO_FATAL_FAILURE(OpenStore(path_, &store_));
  }

  Status Put(std::string_view logical, GenId gen, std::string_view payload) {
    WriteScope w(*store_);
    Status s = table_.Put(w, logical, gen, payload);
    if (s.ok()) w.Commit();
    return s;
  }
  Status Erase(std::string_view logical, GenId gen) {
    WriteScope w(*store_);
    Status s = table_.Erase(w, logical, gen);
    if (s.ok()) w.Commit();
    return s;
  }
  // "<absent>" or "payload@gen".
  std::string Get(std::string_view logical, GenId gen) {
    ReadScope r(*store_);
    auto v = table_.Get(r, logical, gen);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return "<error>";
    if (!v->has_value()) return "<absent>";
    return std::string((*v)->data) + "@" + std::to_string((*v)->gen.value);
  }
  // The raw record gen wrote for logical: "<none>", "<whiteout>" or the payload.
  std::string RawRecord(std::string_view logical, GenId gen) {
    ReadScope r(*store_);
    auto v = r.Get(kTable, VersionedKey(logical, gen));
    EXPECT_TRUE(v.ok());
    if (!v.ok()) return "<error>";
    if (!v->has_value()) return "<none>";
    if (**v == WhiteoutValue()) return "<whiteout>";
    EXPECT_EQ((**v)[0], kLiveTag);
    return std::string((**v).substr(1));
  }
  bool InChangeLog(std::string_view logical, GenId gen) {
    ReadScope r(*store_);
    auto v = r.Get(Table::kChangeLog, ChangeLogKey(gen, kTable, logical));
    EXPECT_TRUE(v.ok());
    return v.ok() && v->has_value();
  }
  Visits ForEach(std::string_view prefix, std::string_view start, GenId gen,
                 size_t stop_after = SIZE_MAX) {
    ReadScope r(*store_);
    Visits out;
    Status s =
        table_.ForEach(r, prefix, start, gen,
                       [&](std::string_view logical, const VisibleVersion& v) -> Result<bool> {
                         out.emplace_back(std::string(logical), std::string(v.data), v.gen.value);
                         return out.size() < stop_after;
                       });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<KvStore> store_;
  GenerationTree tree_;
  VersionedTable table_{kTable, tree_};
};

// ---- Targeted cases ----

TEST_F(VersionedTest, ChildInheritsAndOverridesWithoutTouchingParent) {
  const std::string k = XattrLogical(Ino(5), "user.a");
  tree_.Add(GenId(1), GenId());
  ASSERT_TRUE(Put(k, GenId(1), "v1").ok());
  tree_.Add(GenId(2), GenId(1));  // freeze 1, head 2
  EXPECT_EQ(Get(k, GenId(2)), "v1@1");
  ASSERT_TRUE(Put(k, GenId(2), "v2").ok());
  EXPECT_EQ(Get(k, GenId(2)), "v2@2");
  EXPECT_EQ(Get(k, GenId(1)), "v1@1");
  ASSERT_TRUE(Put(k, GenId(2), "v2b").ok());  // in place: one record per generation
  EXPECT_EQ(RawRecord(k, GenId(2)), "v2b");
  EXPECT_EQ(RawRecord(k, GenId(1)), "v1");
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  EXPECT_EQ(Get(k, GenId(2)), "v2b@2");
  EXPECT_EQ(Get(k, GenId(1)), "v1@1");
}

TEST_F(VersionedTest, EraseOfInheritedKeyWritesWhiteout) {
  const std::string k = XattrLogical(Ino(5), "user.a");
  tree_.Add(GenId(1), GenId());
  ASSERT_TRUE(Put(k, GenId(1), "v1").ok());
  tree_.Add(GenId(2), GenId(1));
  ASSERT_TRUE(Erase(k, GenId(2)).ok());
  EXPECT_EQ(Get(k, GenId(1)), "v1@1");  // the ancestor still sees it
  EXPECT_EQ(Get(k, GenId(2)), "<absent>");
  EXPECT_EQ(RawRecord(k, GenId(2)), "<whiteout>");
  EXPECT_TRUE(InChangeLog(k, GenId(2)));
  EXPECT_TRUE(ForEach("", "", GenId(2)).empty());
  // A descendant of the whiteout does not see the key either.
  tree_.Add(GenId(3), GenId(2));
  EXPECT_EQ(Get(k, GenId(3)), "<absent>");
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  EXPECT_EQ(Get(k, GenId(1)), "v1@1");
  EXPECT_EQ(Get(k, GenId(2)), "<absent>");
  EXPECT_EQ(RawRecord(k, GenId(2)), "<whiteout>");
}

TEST_F(VersionedTest, EraseOfOverriddenInheritedKeyStillWritesWhiteout) {
  // The head wrote its own version of a key an ancestor also has: dropping
  // the head's version alone would resurrect the ancestor's.
  const std::string k = XattrLogical(Ino(5), "user.a");
  tree_.Add(GenId(1), GenId());
  ASSERT_TRUE(Put(k, GenId(1), "v1").ok());
  tree_.Add(GenId(2), GenId(1));
  ASSERT_TRUE(Put(k, GenId(2), "v2").ok());
  ASSERT_TRUE(Erase(k, GenId(2)).ok());
  EXPECT_EQ(Get(k, GenId(2)), "<absent>");
  EXPECT_EQ(RawRecord(k, GenId(2)), "<whiteout>");
  EXPECT_TRUE(InChangeLog(k, GenId(2)));
  EXPECT_EQ(Get(k, GenId(1)), "v1@1");
}

TEST_F(VersionedTest, EraseOfHeadOnlyKeyLeavesNoRecordAndNoChangeLogEntry) {
  const std::string k = XattrLogical(Ino(5), "user.new");
  tree_.Add(GenId(1), GenId());
  tree_.Add(GenId(2), GenId(1));
  ASSERT_TRUE(Put(k, GenId(2), "mine").ok());
  EXPECT_TRUE(InChangeLog(k, GenId(2)));
  ASSERT_TRUE(Erase(k, GenId(2)).ok());
  EXPECT_EQ(Get(k, GenId(2)), "<absent>");
  EXPECT_EQ(RawRecord(k, GenId(2)), "<none>");
  EXPECT_FALSE(InChangeLog(k, GenId(2)));
  // Same after the changes reach LMDB, and in a flushed-then-erased order.
  ASSERT_TRUE(Put(k, GenId(2), "again").ok());
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  EXPECT_TRUE(InChangeLog(k, GenId(2)));
  ASSERT_TRUE(Erase(k, GenId(2)).ok());
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  EXPECT_EQ(RawRecord(k, GenId(2)), "<none>");
  EXPECT_FALSE(InChangeLog(k, GenId(2)));
  // A root has no ancestor to hide: erasing its key leaves nothing either.
  const std::string root_key = XattrLogical(Ino(6), "user.root");
  ASSERT_TRUE(Put(root_key, GenId(1), "r").ok());
  ASSERT_TRUE(Erase(root_key, GenId(1)).ok());
  EXPECT_EQ(RawRecord(root_key, GenId(1)), "<none>");
  EXPECT_FALSE(InChangeLog(root_key, GenId(1)));
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  ReadScope r(*store_);
  for (Table t : {kTable, Table::kChangeLog}) {
    auto it = r.NewIterator(t);
    ASSERT_TRUE(it.ok());
    it->Seek("");
    EXPECT_FALSE(it->Valid()) << "a record survived in table " << static_cast<int>(t);
  }
}

TEST_F(VersionedTest, SiblingVersionsBetweenSeekAndAncestorAreSkipped) {
  // 100 copies of one snapshot each write the key: from a copy that did not,
  // the seek lands among the siblings' versions and must reach the root's.
  const std::string k = XattrLogical(Ino(9), "k");
  tree_.Add(GenId(1), GenId());
  ASSERT_TRUE(Put(k, GenId(1), "root").ok());
  for (uint64_t g = 2; g <= 101; ++g) {
    tree_.Add(GenId(g), GenId(1));
    ASSERT_TRUE(Put(k, GenId(g), "copy" + std::to_string(g)).ok());
  }
  tree_.Add(GenId(102), GenId(1));   // a copy that never wrote it
  tree_.Add(GenId(103), GenId(50));  // a child of a copy that did
  EXPECT_EQ(Get(k, GenId(102)), "root@1");
  EXPECT_EQ(Get(k, GenId(103)), "copy50@50");
  EXPECT_EQ(Get(k, GenId(77)), "copy77@77");
  EXPECT_EQ(ForEach("", "", GenId(102)), (Visits{{k, "root", 1}}));
  EXPECT_EQ(ForEach("", "", GenId(103)), (Visits{{k, "copy50", 50}}));
}

TEST_F(VersionedTest, ManyOlderAndCousinVersionsAreSkippedInEveryDirection) {
  // A chain of 60 snapshots, each rewriting a and erasing or rewriting b
  // (one version of each per generation), with a branch off every tenth
  // that rewrites both: from any generation, each key is decided once
  // however many older, sibling and cousin versions sort around it.
  const std::string a = XattrLogical(Ino(5), "a"), b = XattrLogical(Ino(5), "b"),
                    c = XattrLogical(Ino(5), "c");
  std::vector<GenId> chain;
  std::map<uint64_t, Visits> want;
  uint64_t next = 1;
  GenId parent;
  for (int i = 0; i < 60; ++i) {
    const GenId g(next++);
    tree_.Add(g, parent);
    chain.push_back(g);
    ASSERT_TRUE(Put(a, g, "a" + std::to_string(i)).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(Put(b, g, "b" + std::to_string(i)).ok());
    } else {
      ASSERT_TRUE(Erase(b, g).ok());
    }
    if (i == 0) {
      ASSERT_TRUE(Put(c, g, "c0").ok());
    }
    want[g.value] = {{a, "a" + std::to_string(i), g.value}};
    if (i % 2 == 0) want[g.value].push_back({b, "b" + std::to_string(i), g.value});
    want[g.value].push_back({c, "c0", chain.front().value});
    if (i % 10 == 9) {
      const GenId side(next++);
      tree_.Add(side, g);
      ASSERT_TRUE(Put(a, side, "side").ok());
      ASSERT_TRUE(Put(b, side, "side").ok());
      want[side.value] = {{a, "side", side.value}, {b, "side", side.value}, {c, "c0", 1}};
    }
    parent = g;
  }
  const GenId fresh(next++);  // a branch of the 30th, which wrote nothing
  tree_.Add(fresh, chain[29]);
  want[fresh.value] = want[chain[29].value];
  for (const auto& [gen, visits] : want) {
    SCOPED_TRACE("generation " + std::to_string(gen));
    EXPECT_EQ(ForEach("", "", GenId(gen)), visits);
    EXPECT_EQ(ForEach(InoPrefix(Ino(5)), b, GenId(gen)), Visits(visits.begin() + 1, visits.end()));
    EXPECT_EQ(Get(a, GenId(gen)),
              std::get<1>(visits[0]) + "@" + std::to_string(std::get<2>(visits[0])));
  }
}

TEST_F(VersionedTest, ForEachStartBeforePrefixStillListsThePrefix) {
  tree_.Add(GenId(1), GenId());
  ASSERT_TRUE(Put(XattrLogical(Ino(1), "a"), GenId(1), "1a").ok());
  ASSERT_TRUE(Put(XattrLogical(Ino(2), "a"), GenId(1), "2a").ok());
  ASSERT_TRUE(Put(XattrLogical(Ino(2), "b"), GenId(1), "2b").ok());
  ASSERT_TRUE(Put(XattrLogical(Ino(3), "a"), GenId(1), "3a").ok());
  const Visits ino2 = {{XattrLogical(Ino(2), "a"), "2a", 1}, {XattrLogical(Ino(2), "b"), "2b", 1}};
  // Every key under prefix ino 2 is >= a start inside ino 1's range.
  EXPECT_EQ(ForEach(InoPrefix(Ino(2)), XattrLogical(Ino(1), "a"), GenId(1)), ino2);
  EXPECT_EQ(ForEach(InoPrefix(Ino(2)), "", GenId(1)), ino2);
  EXPECT_EQ(ForEach(InoPrefix(Ino(2)), XattrLogical(Ino(2), "b"), GenId(1)),
            Visits(ino2.begin() + 1, ino2.end()));
  EXPECT_TRUE(ForEach(InoPrefix(Ino(2)), XattrLogical(Ino(3), ""), GenId(1)).empty());
}

// ---- Model-based randomized test ----

struct ModelVersion {
  std::string payload;
  uint64_t writer;
  bool operator==(const ModelVersion&) const = default;
};

class VersionedModelTest : public VersionedTest {
 protected:
  void SetUp() override {
    VersionedTest::SetUp();
    for (uint64_t ino : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{1} << 40}) {
      inos_.push_back(Ino(ino));
      for (const char* name : {"", "a", "ab", "b", "user.x", "\x01", "\xff"}) {
        keys_.push_back(XattrLogical(Ino(ino), name));
      }
    }
  }

  GenId NewGen(GenId parent) {
    const GenId g(next_gen_++);
    tree_.Add(g, parent);
    gens_.push_back(g);
    visible_[g.value] =
        parent.valid() ? visible_[parent.value] : std::map<std::string, ModelVersion>();
    own_[g.value];
    heads_.insert(g.value);
    return g;
  }

  Visits ModelForEach(std::string_view prefix, std::string_view start, GenId gen,
                      size_t stop_after) const {
    Visits out;
    for (const auto& [k, v] : visible_.at(gen.value)) {
      if (out.size() >= stop_after) break;
      if (!std::string_view(k).starts_with(prefix) || k < start) continue;
      out.emplace_back(k, v.payload, v.writer);
    }
    return out;
  }

  std::string RandomPrefix(std::mt19937& rng) const {
    const Ino ino = inos_[rng() % inos_.size()];
    switch (rng() % 5) {
      case 0:
        return "";
      case 1:
        return InoPrefix(ino) + "a";  // names starting with "a"
      case 2:
        return XattrLogical(ino, "ab");  // one whole logical key
      default:
        return InoPrefix(ino);
    }
  }
  std::string RandomStart(std::mt19937& rng) const {
    switch (rng() % 5) {
      case 0:
        return "";
      case 1:
        return InoPrefix(inos_[rng() % inos_.size()]) + "b";  // not a key
      case 2:
        return std::string(1, '\xff');  // after everything
      default:
        return keys_[rng() % keys_.size()];  // may sort before the prefix
    }
  }

  void CheckAll(std::mt19937& rng) {
    ReadScope r(*store_);
    for (GenId g : gens_) {
      SCOPED_TRACE("generation " + std::to_string(g.value));
      const auto& vis = visible_.at(g.value);
      for (const std::string& k : keys_) {
        auto v = table_.Get(r, k, g);
        ASSERT_TRUE(v.ok()) << v.status().ToString();
        auto m = vis.find(k);
        ASSERT_EQ(v->has_value(), m != vis.end()) << "key #" << (&k - keys_.data());
        if (m != vis.end()) {
          ASSERT_EQ((*v)->data, m->second.payload) << "key #" << (&k - keys_.data());
          ASSERT_EQ((*v)->gen.value, m->second.writer) << "key #" << (&k - keys_.data());
        }
      }
      for (int i = 0; i < 4; ++i) {
        const std::string prefix = i == 0 ? "" : RandomPrefix(rng);
        const std::string start = i == 0 ? "" : RandomStart(rng);
        const size_t stop_after = rng() % 3 == 0 ? 1 + rng() % 4 : SIZE_MAX;
        Visits got;
        Status s = table_.ForEach(
            r, prefix, start, g,
            [&](std::string_view logical, const VisibleVersion& v) -> Result<bool> {
              got.emplace_back(std::string(logical), std::string(v.data), v.gen.value);
              return got.size() < stop_after;
            });
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(got, ModelForEach(prefix, start, g, stop_after))
            << "prefix size " << prefix.size() << " start size " << start.size();
      }
      // The change log lists exactly the keys this generation holds a record for.
      std::set<std::string> logged;
      auto it = r.NewIterator(Table::kChangeLog);
      ASSERT_TRUE(it.ok());
      const std::string cl_prefix = ChangeLogPrefix(g);
      for (it->Seek(cl_prefix); it->Valid() && it->key().starts_with(cl_prefix); it->Next()) {
        ASSERT_EQ(it->key()[cl_prefix.size()], static_cast<char>(kTable));
        logged.emplace(it->key().substr(cl_prefix.size() + 1));
      }
      ASSERT_EQ(logged, own_.at(g.value));
    }
    // Every raw record is a version some generation owns: live with the
    // payload it sees, or a whiteout where it sees nothing.
    size_t records = 0;
    auto it = r.NewIterator(kTable);
    ASSERT_TRUE(it.ok());
    for (it->Seek(""); it->Valid(); it->Next(), ++records) {
      const std::string logical(LogicalPart(it->key()));
      const uint64_t g = GenOfKey(it->key()).value;
      ASSERT_TRUE(own_.at(g).contains(logical)) << "stray record of generation " << g;
      const auto& vis = visible_.at(g);
      auto m = vis.find(logical);
      if (m == vis.end()) {
        ASSERT_EQ(it->value(), WhiteoutValue()) << "generation " << g;
      } else {
        ASSERT_EQ(it->value(), LiveValue(m->second.payload)) << "generation " << g;
      }
    }
    ASSERT_TRUE(it->status().ok());
    size_t owned = 0;
    for (const auto& [g, keys] : own_) owned += keys.size();
    ASSERT_EQ(records, owned);
  }

  std::vector<Ino> inos_;
  std::vector<std::string> keys_;
  uint64_t next_gen_ = 1;
  std::vector<GenId> gens_;
  std::set<uint64_t> heads_;
  std::map<uint64_t, std::map<std::string, ModelVersion>> visible_;
  std::map<uint64_t, std::set<std::string>> own_;  // keys with a record at gen
};

TEST_F(VersionedModelTest, RandomHistoryMatchesModel) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  NewGen(GenId());  // two containers
  NewGen(GenId());
  auto random_head = [&] {
    auto it = heads_.begin();
    std::advance(it, rng() % heads_.size());
    return GenId(*it);
  };
  int whiteouts = 0, dropped = 0, branches = 0;
  for (int op = 0; op < 1500; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const int pick = static_cast<int>(rng() % 100);
    if (pick < 45) {  // write in a head
      const GenId h = random_head();
      const std::string& k = keys_[rng() % keys_.size()];
      const std::string payload = "p" + std::to_string(op) + std::string(rng() % 5, '.');
      ASSERT_TRUE(Put(k, h, payload).ok());
      visible_[h.value][k] = ModelVersion{payload, h.value};
      own_[h.value].insert(k);
    } else if (pick < 75) {  // erase in a head, mostly keys it sees
      const GenId h = random_head();
      const auto& vis = visible_[h.value];
      std::string k = keys_[rng() % keys_.size()];
      if (!vis.empty() && rng() % 4 != 0) {
        auto it = vis.begin();
        std::advance(it, rng() % vis.size());
        k = it->first;
      }
      const GenId parent = tree_.Parent(h);
      const bool inherited = parent.valid() && visible_[parent.value].contains(k);
      ASSERT_TRUE(Erase(k, h).ok());
      visible_[h.value].erase(k);
      if (inherited) {
        own_[h.value].insert(k);
        ++whiteouts;
      } else {
        dropped += own_[h.value].erase(k);
      }
    } else if (pick < 85) {  // snapshot: freeze a head, continue in a child
      const GenId h = random_head();
      NewGen(h);
      heads_.erase(h.value);
    } else if (pick < 92) {  // restore or copy: a new head under a frozen generation
      std::vector<GenId> frozen;
      for (GenId g : gens_) {
        if (!heads_.contains(g.value)) frozen.push_back(g);
      }
      if (frozen.empty()) continue;
      NewGen(frozen[rng() % frozen.size()]);
      ++branches;
    } else if (pick < 97) {
      ASSERT_TRUE(store_->Flush().ok());
    } else {
      ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
    }
    if (op % 50 == 49) {
      ASSERT_NO_FATAL_FAILURE(CheckAll(rng));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAll(rng));
  ASSERT_NO_FATAL_FAILURE(FlushAndReopen());
  ASSERT_NO_FATAL_FAILURE(CheckAll(rng));
  // The history exercised every kind of step.
  EXPECT_GT(whiteouts, 0);
  EXPECT_GT(dropped, 0);
  EXPECT_GT(branches, 0);
  EXPECT_GT(gens_.size(), 10u);
}

}  // namespace
}  // namespace hoodyfs::index
