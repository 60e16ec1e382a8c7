#include "index/kv_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::OpenStore;
using testutil::TempDir;

using Pairs = std::vector<std::pair<std::string, std::string>>;
using TableModel = std::map<std::string, std::string>;

// Everything the iterator yields from `start` (all of it, or up to `limit`
// entries), with the iterator's final status checked.
Pairs Scan(const KvScope& scope, Table t, std::string_view start, size_t limit = SIZE_MAX) {
  Pairs out;
  auto it = scope.NewIterator(t);
  EXPECT_TRUE(it.ok()) << it.status().ToString();
  if (!it.ok()) return out;
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    out.emplace_back(it->key(), it->value());
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

Pairs ModelScan(const TableModel& m, std::string_view start, size_t limit = SIZE_MAX) {
  Pairs out;
  for (auto it = m.lower_bound(std::string(start)); it != m.end() && out.size() < limit; ++it) {
    out.push_back(*it);
  }
  return out;
}

// "<absent>" or the value, so a mismatch prints both sides.
std::string GetOrAbsent(const KvScope& scope, Table t, std::string_view key) {
  auto v = scope.Get(t, key);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok()) return "<error>";
  return v->has_value() ? std::string(**v) : "<absent>";
}

std::string ModelGet(const TableModel& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "<absent>" : it->second;
}

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("meta.lmdb");
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  // Closes and reopens the store, reinstalling the hooks that let a test
  // make the next flushes fail before they commit.
  void Reopen() {
    if (store_) log_appends_before_reopens_ += store_->LogAppendCount();
    ASSERT_NO_FATAL_FAILURE(OpenStore(path_, &store_));
    FlushHooks hooks;
    hooks.before_commit = [this]() -> Status {
      ++before_commit_calls_;
      if (fail_flushes_ > 0) {
        --fail_flushes_;
        return Status::IoError("injected before_commit failure");
      }
      return Status::OK();
    };
    hooks.after_commit = [this](uint64_t epoch) { committed_epochs_.push_back(epoch); };
    store_->SetFlushHooks(std::move(hooks));
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<KvStore> store_;
  int fail_flushes_ = 0;
  int before_commit_calls_ = 0;
  std::vector<uint64_t> committed_epochs_;
  uint64_t log_appends_before_reopens_ = 0;
};

// ---- Model-based randomized test ----

constexpr std::array<Table, 3> kModelTables = {Table::kMeta, Table::kInodes, Table::kBlocks};
using Model = std::array<TableModel, kModelTables.size()>;

// Keys from a small alphabet (with NUL and 0xff bytes) so operations collide.
std::string RandomKey(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'\0', '\x01', 'a', 'b', '\xff'};
  std::string k;
  const int len = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < len; ++i) k.push_back(kAlphabet[rng() % sizeof(kAlphabet)]);
  return k;
}

// Seek targets: keys, the empty string, and keys that are never written.
std::string RandomTarget(std::mt19937& rng) {
  switch (rng() % 4) {
    case 0:
      return "";
    case 1:
      return std::string(1 + rng() % 5, static_cast<char>(rng() % 256));
    default:
      return RandomKey(rng);
  }
}

std::string RandomValue(std::mt19937& rng, int op) {
  // Sometimes empty: an empty value is a value, not a deletion.
  if (rng() % 10 == 0) return "";
  return "v" + std::to_string(op) + std::string(rng() % 40, 'x');
}

void ExpectStoreEquals(const KvScope& scope, const Model& model) {
  for (size_t i = 0; i < kModelTables.size(); ++i) {
    SCOPED_TRACE("table " + std::to_string(static_cast<int>(kModelTables[i])));
    ASSERT_EQ(Scan(scope, kModelTables[i], ""), ModelScan(model[i], ""));
  }
}

TEST_F(KvStoreTest, RandomOperationsMatchModel) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  Model model;    // what every reader must see now
  Model flushed;  // what a reopen must find: the model at the last successful Flush or Sync
  int flushes = 0, failed_flushes = 0, syncs = 0, failed_syncs = 0, reopens = 0;

  for (int op = 0; op < 4000; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const size_t ti = rng() % kModelTables.size();
    const Table t = kModelTables[ti];
    const int pick = static_cast<int>(rng() % 100);
    if (pick < 30) {  // put
      WriteScope w(*store_);
      const std::string k = RandomKey(rng), v = RandomValue(rng, op);
      w.Put(t, k, v);
      model[ti][k] = v;
      w.Commit();
    } else if (pick < 45) {  // delete (often of a key that exists)
      WriteScope w(*store_);
      std::string k = RandomKey(rng);
      if (!model[ti].empty() && rng() % 2) {
        auto it = model[ti].lower_bound(k);
        if (it != model[ti].end()) k = it->first;
      }
      w.Delete(t, k);
      model[ti].erase(k);
      w.Commit();
    } else if (pick < 52) {  // one scope, several changes, read back inside it
      WriteScope w(*store_);
      for (int n = 1 + static_cast<int>(rng() % 6); n > 0; --n) {
        const size_t tj = rng() % kModelTables.size();
        const std::string k = RandomKey(rng);
        if (rng() % 3 == 0) {
          w.Delete(kModelTables[tj], k);
          model[tj].erase(k);
        } else {
          const std::string v = RandomValue(rng, op);
          w.Put(kModelTables[tj], k, v);
          model[tj][k] = v;
        }
        ASSERT_EQ(GetOrAbsent(w, kModelTables[tj], k), ModelGet(model[tj], k));
      }
      const std::string target = RandomTarget(rng);
      ASSERT_EQ(Scan(w, t, target), ModelScan(model[ti], target)) << "in a WriteScope";
      w.Commit();
    } else if (pick < 67) {  // point reads
      ReadScope r(*store_);
      for (int n = 0; n < 5; ++n) {
        const std::string k = RandomKey(rng);
        ASSERT_EQ(GetOrAbsent(r, t, k), ModelGet(model[ti], k)) << "key size " << k.size();
      }
    } else if (pick < 85) {  // range scans from random targets, some bounded
      ReadScope r(*store_);
      const std::string target = RandomTarget(rng);
      const size_t limit = rng() % 2 ? SIZE_MAX : 1 + rng() % 20;
      ASSERT_EQ(Scan(r, t, target, limit), ModelScan(model[ti], target, limit));
      // Re-seeking one iterator works like a fresh one.
      auto it = r.NewIterator(t);
      ASSERT_TRUE(it.ok());
      for (int n = 0; n < 3; ++n) {
        const std::string again = RandomTarget(rng);
        it->Seek(again);
        auto expect = model[ti].lower_bound(again);
        ASSERT_EQ(it->Valid(), expect != model[ti].end());
        if (it->Valid()) {
          ASSERT_EQ(it->key(), expect->first);
          ASSERT_EQ(it->value(), expect->second);
        }
      }
    } else if (pick < 89) {  // group commit
      Status s = store_->Flush();
      ASSERT_TRUE(s.ok()) << s.ToString();
      flushed = model;
      ++flushes;
    } else if (pick < 93) {  // an fsync: a log record, or a commit after a failure
      Status s = store_->Sync();
      ASSERT_TRUE(s.ok()) << s.ToString();
      flushed = model;
      ++syncs;
    } else if (pick < 95) {  // an fsync whose log append (or fallback commit) fails
      fail_flushes_ = 1;
      Status s = store_->Sync();
      fail_flushes_ = 0;
      if (s.ok()) {
        flushed = model;  // nothing unlogged: no append was needed
      } else {
        ASSERT_EQ(s.code(), Code::kIoError) << s.ToString();
        ++failed_syncs;
      }
    } else if (pick < 98) {  // a flush that fails before commit: a sealed memtable stays
      // With nothing pending there is no commit to fail: the flush succeeds.
      const bool pending = store_->PendingBytes() > 0;
      fail_flushes_ = 1;
      Status s = store_->Flush();
      fail_flushes_ = 0;
      if (pending) {
        ASSERT_EQ(s.code(), Code::kIoError) << s.ToString();
        ++failed_flushes;
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        flushed = model;
      }
    } else {  // close and reopen: only what the last successful Flush or Sync covered
      ASSERT_NO_FATAL_FAILURE(Reopen());
      model = flushed;
      ++reopens;
      ReadScope r(*store_);
      ASSERT_NO_FATAL_FAILURE(ExpectStoreEquals(r, model));
    }
    if (op % 200 == 199) {
      ReadScope r(*store_);
      ASSERT_NO_FATAL_FAILURE(ExpectStoreEquals(r, model));
    }
  }
  // The mix must have exercised every path.
  EXPECT_GT(flushes, 0);
  EXPECT_GT(failed_flushes, 0);
  EXPECT_GT(syncs, 0);
  EXPECT_GT(failed_syncs, 0);
  EXPECT_GT(store_->LogAppendCount() + log_appends_before_reopens_, 0u)
      << "no Sync took the log path";
  EXPECT_GT(reopens, 0);

  // Unflushed changes vanish on reopen; flushed ones stay.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  {
    ReadScope r(*store_);
    ASSERT_NO_FATAL_FAILURE(ExpectStoreEquals(r, flushed));
  }
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "last", "x");
    flushed[0]["last"] = "x";
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  ASSERT_NO_FATAL_FAILURE(ExpectStoreEquals(r, flushed));
}

// ---- Targeted cases ----

// Three layers hold versions of the same keys: LMDB (flushed), a sealed
// memtable (left by a flush that failed before commit) and the active
// memtable. The newest layer wins, tombstones hide older layers.
TEST_F(KvStoreTest, SealedAndActiveMemtablesMergeOverLmdb) {
  const Table t = Table::kInodes;
  {
    WriteScope w(*store_);
    for (const char* k : {"a", "b", "c", "d", "e"}) w.Put(t, k, std::string("lmdb-") + k);
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  {
    WriteScope w(*store_);
    w.Put(t, "b", "sealed-b");
    w.Delete(t, "c");
    w.Put(t, "f", "sealed-f");
    w.Delete(t, "g");  // tombstone over nothing
    w.Put(t, "h", "sealed-h");
    w.Commit();
  }
  fail_flushes_ = 1;
  ASSERT_EQ(store_->Flush().code(), Code::kIoError);
  {
    WriteScope w(*store_);
    w.Put(t, "c", "active-c");  // resurrects a key the sealed layer deleted
    w.Delete(t, "d");           // deletes a key only LMDB holds
    w.Delete(t, "f");           // deletes a key only the sealed layer holds
    w.Put(t, "b", "active-b");  // overrides the sealed override
    w.Put(t, "0", "active-0");
    w.Commit();
  }
  const Pairs expected = {{"0", "active-0"}, {"a", "lmdb-a"}, {"b", "active-b"},
                          {"c", "active-c"}, {"e", "lmdb-e"}, {"h", "sealed-h"}};
  {
    ReadScope r(*store_);
    EXPECT_EQ(Scan(r, t, ""), expected);
    EXPECT_EQ(Scan(r, t, "c"), Pairs(expected.begin() + 3, expected.end()));
    EXPECT_EQ(Scan(r, t, "d"), Pairs(expected.begin() + 4, expected.end()));
    EXPECT_EQ(Scan(r, t, "f"), Pairs(expected.begin() + 5, expected.end()));
    EXPECT_EQ(GetOrAbsent(r, t, "d"), "<absent>");
    EXPECT_EQ(GetOrAbsent(r, t, "f"), "<absent>");
    EXPECT_EQ(GetOrAbsent(r, t, "g"), "<absent>");
    EXPECT_EQ(GetOrAbsent(r, t, "c"), "active-c");
    // Other tables are untouched.
    EXPECT_TRUE(Scan(r, Table::kMeta, "").empty());
  }
  // The retried flush commits both memtables, in order.
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, t, ""), expected);
}

TEST_F(KvStoreTest, FailedFlushReturnsErrorAndLosesNothing) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "one", "1");
    w.Commit();
  }
  const uint64_t durable_before = store_->DurableEpoch();
  fail_flushes_ = 1;
  Status s = store_->Flush();
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_NE(s.message().find("injected"), std::string::npos) << s.ToString();
  EXPECT_EQ(store_->DurableEpoch(), durable_before);
  EXPECT_TRUE(committed_epochs_.empty());
  EXPECT_GT(store_->PendingBytes(), 0u);
  {
    ReadScope r(*store_);
    EXPECT_EQ(GetOrAbsent(r, Table::kMeta, "one"), "1");  // still visible
  }
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "two", "2");
    w.Commit();
  }
  // Two failures in a row change nothing either.
  fail_flushes_ = 1;
  EXPECT_FALSE(store_->Flush().ok());
  s = store_->Flush();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store_->PendingBytes(), 0u);
  EXPECT_GE(store_->DurableEpoch(), store_->ActiveEpoch() - 1);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(GetOrAbsent(r, Table::kMeta, "one"), "1");
  EXPECT_EQ(GetOrAbsent(r, Table::kMeta, "two"), "2");
}

TEST_F(KvStoreTest, UnflushedChangesVanishOnReopen) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "kept", "1");
    w.Put(Table::kMeta, "overwritten", "old");
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "lost", "1");
    w.Put(Table::kMeta, "overwritten", "new");
    w.Delete(Table::kMeta, "kept");
    w.Commit();
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"kept", "1"}, {"overwritten", "old"}}));
}

TEST_F(KvStoreTest, EpochsTellWhenAChangeIsDurable) {
  EXPECT_LT(store_->DurableEpoch(), store_->ActiveEpoch());
  uint64_t e1;
  {
    WriteScope w(*store_);
    e1 = w.epoch();
    w.Put(Table::kMeta, "a", "1");
    w.Commit();
  }
  EXPECT_EQ(e1, store_->ActiveEpoch());
  EXPECT_LT(store_->DurableEpoch(), e1);  // visible, not yet durable
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_GE(store_->DurableEpoch(), e1);
  ASSERT_EQ(committed_epochs_.size(), 1u);
  EXPECT_GE(committed_epochs_.back(), e1);
  // Later changes land in a later epoch, not yet durable.
  uint64_t e2;
  {
    WriteScope w(*store_);
    e2 = w.epoch();
    w.Put(Table::kMeta, "b", "2");
    w.Commit();
  }
  EXPECT_GT(e2, e1);
  EXPECT_LT(store_->DurableEpoch(), e2);
  // A failed flush does not make anything durable.
  fail_flushes_ = 1;
  ASSERT_FALSE(store_->Flush().ok());
  EXPECT_LT(store_->DurableEpoch(), e2);
  // A change made while the failed flush's memtable is still sealed.
  uint64_t e3;
  {
    WriteScope w(*store_);
    e3 = w.epoch();
    w.Put(Table::kMeta, "c", "3");
    w.Commit();
  }
  EXPECT_GT(e3, e2);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_GE(store_->DurableEpoch(), e3);
  EXPECT_GE(committed_epochs_.back(), e3);
  // after_commit sees strictly increasing epochs.
  for (size_t i = 1; i < committed_epochs_.size(); ++i) {
    EXPECT_LT(committed_epochs_[i - 1], committed_epochs_[i]);
  }
  // A flush with nothing pending still covers everything before it.
  const uint64_t active = store_->ActiveEpoch();
  const size_t commits = committed_epochs_.size();
  const int hook_calls = before_commit_calls_;
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_GE(store_->DurableEpoch(), active);
  EXPECT_EQ(committed_epochs_.size(), commits);  // no LMDB commit was needed
  EXPECT_EQ(before_commit_calls_, hook_calls);
}

TEST_F(KvStoreTest, PendingBytesTrackTheMemtables) {
  EXPECT_EQ(store_->PendingBytes(), 0u);
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "k", std::string(1000, 'x'));
    w.Commit();
  }
  const size_t one = store_->PendingBytes();
  EXPECT_GE(one, 1000u);
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "k", "short");  // overwrite shrinks the estimate
    w.Commit();
  }
  EXPECT_LT(store_->PendingBytes(), one);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(store_->PendingBytes(), 0u);
}

TEST_F(KvStoreTest, AnAbandonedScopePutsBackEveryKeyItTouchedSeveralTimes) {
  // "a" committed to LMDB, "b" logged but not committed, "d" neither.
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "a", "1");
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "b", "2");
    w.Commit();
  }
  ASSERT_TRUE(store_->Sync().ok());
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "d", "4");
    w.Commit();
  }
  const size_t pending = store_->PendingBytes();
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "a", "x");
    w.Put(Table::kMeta, "a", "y");
    w.Delete(Table::kMeta, "a");
    w.Put(Table::kMeta, "b", "x");
    w.Delete(Table::kMeta, "b");
    w.Put(Table::kMeta, "b", "z");
    w.Put(Table::kMeta, "c", "x");  // created, deleted, created again
    w.Delete(Table::kMeta, "c");
    w.Put(Table::kMeta, "c", "w");
    w.Put(Table::kMeta, "c", "v");
    w.Delete(Table::kMeta, "d");
    w.Put(Table::kMeta, "d", "q");
  }  // abandoned
  const Pairs before{{"a", "1"}, {"b", "2"}, {"d", "4"}};
  {
    ReadScope r(*store_);
    EXPECT_EQ(Scan(r, Table::kMeta, ""), before);
  }
  // What the scope created and erased may stay in the arena, never less.
  EXPECT_GE(store_->PendingBytes(), pending);
  // The log gets "d" as it was (its unlogged mark came back with it), not
  // "b" again, and nothing of the scope.
  const uint64_t appends = store_->LogAppendCount();
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), appends + 1);
  store_->DropPendingForTest();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), before);
}

TEST_F(KvStoreTest, WhatRolledBackScopesLeftGoesWithTheNextFlush) {
  // Scopes that fail and roll back leave nothing to commit, but their keys
  // held memory in the memtable: it counts, and a flush lets it go.
  for (int i = 0; i < 100; ++i) {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "failed" + std::to_string(i), std::string(1000, 'x'));
  }
  EXPECT_GT(store_->PendingBytes(), 0u);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(store_->PendingBytes(), 0u);
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), Pairs{});
}

// ---- Concurrency ----

std::string SeqKey(uint32_t i) {
  std::string k = "k";
  PutBig64(&k, i);
  return k;
}

// The writer adds key i and bumps "count" to i+1 in one WriteScope, and in
// the same scope rewrites key i-1 from "fresh" to "final". A reader that
// sees count == c must see exactly keys 0..c-1, all "final" except the last
// one "fresh", whatever memtable is sealed or being committed meanwhile.
void CheckPrefixClosed(KvStore& store, uint32_t* last_count, int reader) {
  ReadScope r(store);
  auto count_value = r.Get(Table::kMeta, "count");
  ASSERT_TRUE(count_value.ok()) << count_value.status().ToString();
  const uint32_t c =
      count_value->has_value() ? static_cast<uint32_t>(std::stoul(std::string(**count_value))) : 0;
  ASSERT_GE(c, *last_count) << "reader " << reader << " went back in time";
  *last_count = c;
  auto it = r.NewIterator(Table::kInodes);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  uint32_t n = 0;
  for (it->Seek("k"); it->Valid() && it->key().starts_with("k"); it->Next(), ++n) {
    ASSERT_EQ(it->key(), SeqKey(n)) << "reader " << reader << " count " << c;
    const std::string want = (n + 1 == c ? "fresh-" : "final-") + std::to_string(n);
    ASSERT_EQ(it->value(), want) << "reader " << reader << " count " << c;
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  ASSERT_EQ(n, c) << "reader " << reader;
  // The tombstone-toggled key agrees with the count's parity.
  auto toggle = r.Get(Table::kInodes, "toggle");
  ASSERT_TRUE(toggle.ok());
  ASSERT_EQ(toggle->has_value(), c % 2 == 1) << "reader " << reader << " count " << c;
}

// Interleaving is forced with handshakes, not sleeps: every 50 writes the
// writer waits until the readers have finished 2 x kReaders more scans (so at
// least one scan ran entirely while the writer was paused) and two more
// flushes have completed; each flush, between sealing and committing, waits
// the same way for the readers, so some scans see a sealed memtable.
TEST_F(KvStoreTest, ConcurrentReadersSeeConsistentStateDuringWritesAndFlushes) {
  constexpr uint32_t kWrites = 1500;
  constexpr int kReaders = 4;
  std::atomic<bool> writer_done{false};
  std::atomic<bool> failed{false};
  std::atomic<int> reads{0};
  std::atomic<int> live_readers{kReaders};
  std::atomic<int> flushes{0};
  std::atomic<bool> saw_intermediate{false};
  auto wait_for_reads = [&](int n) {
    const int target = reads + n;
    while (reads < target && live_readers > 0 && !failed) std::this_thread::yield();
  };
  FlushHooks hooks;
  hooks.before_commit = [&]() -> Status {
    wait_for_reads(2 * kReaders);
    return Status::OK();
  };
  store_->SetFlushHooks(std::move(hooks));

  std::thread writer([&] {
    for (uint32_t i = 0; i < kWrites && !failed; ++i) {
      {
        WriteScope w(*store_);
        w.Put(Table::kInodes, SeqKey(i), "fresh-" + std::to_string(i));
        if (i > 0) w.Put(Table::kInodes, SeqKey(i - 1), "final-" + std::to_string(i - 1));
        w.Put(Table::kMeta, "count", std::to_string(i + 1));
        if ((i + 1) % 2 == 1) {
          w.Put(Table::kInodes, "toggle", "on");
        } else {
          w.Delete(Table::kInodes, "toggle");
        }
        w.Commit();
      }
      if (i % 50 == 49) {
        const int target_flushes = flushes + 2;
        wait_for_reads(2 * kReaders);
        while (flushes < target_flushes && !failed) std::this_thread::yield();
      }
    }
    writer_done = true;
  });
  std::thread flusher([&] {
    while (!writer_done && !failed) {
      Status s = store_->Flush();
      if (!s.ok()) {
        ADD_FAILURE() << "Flush: " << s.ToString();
        failed = true;
      }
      ++flushes;
    }
  });
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      uint32_t last = 0;
      do {
        CheckPrefixClosed(*store_, &last, i);
        if (::testing::Test::HasFailure()) failed = true;
        if (last > 0 && last < kWrites) saw_intermediate = true;
        ++reads;
      } while (!writer_done && !failed);
      --live_readers;
    });
  }
  writer.join();
  flusher.join();
  for (auto& t : readers) t.join();
  ASSERT_FALSE(failed);
  EXPECT_TRUE(saw_intermediate);
  EXPECT_GE(flushes.load(), static_cast<int>(2 * (kWrites / 50)));

  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  uint32_t last = 0;
  ASSERT_NO_FATAL_FAILURE(CheckPrefixClosed(*store_, &last, -1));
  EXPECT_EQ(last, kWrites);
}

// Several threads each make a change and Flush: every Flush returns only
// once that thread's change is durable, whether it committed it or shared a
// concurrent caller's commit.
TEST_F(KvStoreTest, ConcurrentFlushersShareGroupCommits) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kPerThread; ++j) {
        uint64_t epoch;
        {
          WriteScope w(*store_);
          epoch = w.epoch();
          w.Put(Table::kMeta, std::to_string(t) + "/" + std::to_string(j), "x");
          w.Commit();
        }
        Status s = store_->Flush();
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_GE(store_->DurableEpoch(), epoch) << "thread " << t << " change " << j;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(committed_epochs_.size(), size_t{kThreads * kPerThread});
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, "").size(), size_t{kThreads * kPerThread});
}

// ---- Sync: the write-ahead log ----

TEST_F(KvStoreTest, SyncedChangesSurviveACrashWithoutAnLmdbCommit) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "in-lmdb", "1");
    w.Put(Table::kMeta, "deleted-later", "1");
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  const size_t commits_before = committed_epochs_.size();
  {
    WriteScope w(*store_);
    w.Put(Table::kInodes, "synced", "2");
    w.Delete(Table::kMeta, "deleted-later");
    w.Put(Table::kMeta, "in-lmdb", "overwritten");
    w.Commit();
  }
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 1u);
  EXPECT_EQ(committed_epochs_.size(), commits_before) << "a Sync must not commit to LMDB";
  {
    WriteScope w(*store_);
    w.Put(Table::kInodes, "after-the-sync", "3");
    w.Commit();
  }
  // The process dies: memtables gone, no final flush.
  store_->DropPendingForTest();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"in-lmdb", "overwritten"}}));
  EXPECT_EQ(Scan(r, Table::kInodes, ""), (Pairs{{"synced", "2"}}));
}

// Compact gives back the pages deletes freed, keeps every durable change
// (a synced one only in the log included: it is replayed first), and the
// store opens from the compacted file as before.
TEST_F(KvStoreTest, CompactShrinksTheFileAndKeepsEveryDurableChange) {
  const std::string big(2000, 'x');
  for (int batch = 0; batch < 10; ++batch) {
    WriteScope w(*store_);
    for (int i = 0; i < 1000; ++i) {
      w.Put(Table::kInodes, "k" + std::to_string(batch * 1000 + i), big);
    }
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  {
    WriteScope w(*store_);
    for (int i = 0; i < 10000; ++i) {
      if (i % 100 != 0) w.Delete(Table::kInodes, "k" + std::to_string(i));
    }
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "only-in-the-log", "1");
    w.Commit();
  }
  ASSERT_TRUE(store_->Sync().ok());
  store_->DropPendingForTest();
  store_.reset();

  auto compacted = KvStore::Compact(path_, EnvOptions());
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_GT(compacted->bytes_before, 20'000'000u);  // 10,000 values of 2 KB
  EXPECT_LT(compacted->bytes_after, compacted->bytes_before / 10);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), compacted->bytes_after);
  EXPECT_NE(::access((path_ + ".compact").c_str(), F_OK), 0) << "the copy was left behind";

  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"only-in-the-log", "1"}}));
  const Pairs inodes = Scan(r, Table::kInodes, "");
  ASSERT_EQ(inodes.size(), 100u);
  EXPECT_EQ(inodes.front(), (std::pair<std::string, std::string>{"k0", big}));
}

// A compaction killed before its rename leaves a stale copy: the next one
// replaces it rather than failing on it.
TEST_F(KvStoreTest, CompactReplacesTheCopyOfAKilledCompaction) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "a", "1");
    w.Commit();
  }
  ASSERT_TRUE(store_->Flush().ok());
  store_.reset();
  std::ofstream(path_ + ".compact") << "half a copy";
  ASSERT_TRUE(KvStore::Compact(path_, EnvOptions()).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"a", "1"}}));
}

// The owner's file data rides in the Sync's record (before_log) instead of a
// data sync (before_commit); Open hands it back, in order, before it commits
// the entries, and refuses a log holding data when nobody can write it back.
TEST_F(KvStoreTest, FileDataInASyncRecordIsReplayedBeforeItsEntries) {
  FlushHooks hooks;
  int before_commit_calls = 0;
  hooks.before_commit = [&]() -> Status {
    ++before_commit_calls;
    return Status::OK();
  };
  int round = 0;
  hooks.before_log = [&](WalPayload& record) -> Status {
    record.AddData(4096, std::string(4096, static_cast<char>('a' + round++)));
    return Status::OK();
  };
  store_->SetFlushHooks(std::move(hooks));
  for (int i = 0; i < 2; ++i) {
    {
      WriteScope w(*store_);
      w.Put(Table::kMeta, "k" + std::to_string(i), "v");
      w.Commit();
    }
    ASSERT_TRUE(store_->Sync().ok());
  }
  EXPECT_EQ(before_commit_calls, 0) << "the data rode in the records: no data sync";
  EXPECT_EQ(store_->LogAppendCount(), 2u);
  store_->DropPendingForTest();
  store_.reset();

  auto refused = KvStore::Open(path_, testutil::TestEnvOptions());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("file data"), std::string::npos)
      << refused.status().ToString();

  std::vector<WalData> replayed;
  auto reopened = KvStore::Open(path_, testutil::TestEnvOptions(),
                                [&](const std::vector<WalData>& data) -> Status {
                                  replayed = data;
                                  return Status::OK();
                                });
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(reopened).value();
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[0].offset, 4096u);
  EXPECT_EQ(replayed[0].bytes, std::string(4096, 'a'));
  EXPECT_EQ(replayed[1].bytes, std::string(4096, 'b')) << "the later write comes last";
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"k0", "v"}, {"k1", "v"}}));
}

// A replay that fails leaves the log live: nothing is committed, and the
// next open replays the same records.
TEST_F(KvStoreTest, AFailedDataReplayCommitsNothingAndTheNextOpenRetries) {
  FlushHooks hooks;
  hooks.before_log = [](WalPayload& record) -> Status {
    record.AddData(0, std::string(4096, 'x'));
    return Status::OK();
  };
  store_->SetFlushHooks(std::move(hooks));
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "k", "v");
    w.Commit();
  }
  ASSERT_TRUE(store_->Sync().ok());
  store_->DropPendingForTest();
  store_.reset();
  auto failed = KvStore::Open(path_, testutil::TestEnvOptions(), [](const std::vector<WalData>&) {
    return Status::IoError("injected write-back failure");
  });
  EXPECT_EQ(failed.status().code(), Code::kIoError) << failed.status().ToString();
  int calls = 0;
  auto reopened =
      KvStore::Open(path_, testutil::TestEnvOptions(), [&](const std::vector<WalData>& data) {
        calls += static_cast<int>(data.size());
        return Status::OK();
      });
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(reopened).value();
  EXPECT_EQ(calls, 1);
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"k", "v"}}));
}

TEST_F(KvStoreTest, EachSyncLogsOnlyWhatChangedSinceThePreviousOne) {
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 0u) << "nothing changed: nothing to log";
  for (int i = 0; i < 3; ++i) {
    {
      WriteScope w(*store_);
      w.Put(Table::kMeta, "round", std::to_string(i));
      w.Put(Table::kMeta, "key" + std::to_string(i), "x");
      w.Commit();
    }
    ASSERT_TRUE(store_->Sync().ok());
  }
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 3u);
  // A scope rolled back leaves nothing to log either.
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "round", "rolled back");
  }
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 3u);
  store_->DropPendingForTest();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""),
            (Pairs{{"key0", "x"}, {"key1", "x"}, {"key2", "x"}, {"round", "2"}}));
}

TEST_F(KvStoreTest, RepeatedCrashesReplayEachLogOnceAndEpochsKeepGrowing) {
  uint64_t last_active = 0;
  Pairs want;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_GT(store_->ActiveEpoch(), last_active) << "an epoch number came back after a reopen";
    last_active = store_->ActiveEpoch();
    {
      WriteScope w(*store_);
      w.Put(Table::kMeta, "round" + std::to_string(round), "synced");
      w.Commit();
    }
    want.emplace_back("round" + std::to_string(round), "synced");
    ASSERT_TRUE(store_->Sync().ok());
    if (round == 2) {  // one epoch committed normally
      ASSERT_TRUE(store_->Flush().ok());
    }
    {
      WriteScope w(*store_);
      w.Put(Table::kMeta, "unsynced", std::to_string(round));
      w.Commit();
    }
    store_->DropPendingForTest();
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ReadScope r(*store_);
    ASSERT_EQ(Scan(r, Table::kMeta, ""), want);
  }
}

TEST_F(KvStoreTest, SyncCommitsInsteadWhileAFailedFlushIsPending) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "sealed", "1");
    w.Commit();
  }
  fail_flushes_ = 1;
  ASSERT_EQ(store_->Flush().code(), Code::kIoError);
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "active", "2");
    w.Commit();
  }
  // A record of the active epoch would replay over an LMDB that lacks the
  // sealed one: Sync commits both instead.
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 0u);
  EXPECT_FALSE(committed_epochs_.empty());
  EXPECT_EQ(store_->DurableEpoch() + 1, store_->ActiveEpoch());
  store_->DropPendingForTest();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"active", "2"}, {"sealed", "1"}}));
}

TEST_F(KvStoreTest, AfterAFailedAppendTheEpochIsCommittedNotLoggedAgain) {
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "first", "1");
    w.Commit();
  }
  fail_flushes_ = 1;  // the data sync before the append fails
  ASSERT_EQ(store_->Sync().code(), Code::kIoError);
  EXPECT_EQ(store_->LogAppendCount(), 0u);
  {
    WriteScope w(*store_);
    w.Put(Table::kMeta, "second", "2");
    w.Commit();
  }
  // "first" is in no record; a record of "second" alone would replay a state
  // that never was. The next Sync commits the epoch.
  ASSERT_TRUE(store_->Sync().ok());
  EXPECT_EQ(store_->LogAppendCount(), 0u);
  EXPECT_FALSE(committed_epochs_.empty());
  store_->DropPendingForTest();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ReadScope r(*store_);
  EXPECT_EQ(Scan(r, Table::kMeta, ""), (Pairs{{"first", "1"}, {"second", "2"}}));
}

}  // namespace
}  // namespace hoodyfs::index
