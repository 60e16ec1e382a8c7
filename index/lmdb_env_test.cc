#include "index/lmdb_env.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/coding.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::TempDir;

// ---- FromMdb ----

TEST(FromMdbTest, SuccessIsOk) { EXPECT_TRUE(FromMdb(MDB_SUCCESS, "anything").ok()); }

TEST(FromMdbTest, MapsEveryCode) {
  struct Case {
    int rc;
    Code code;
  };
  const Case kCases[] = {
      {MDB_NOTFOUND, Code::kNotFound},
      {MDB_KEYEXIST, Code::kExists},
      {MDB_MAP_FULL, Code::kNoSpace},
      {MDB_CORRUPTED, Code::kCorruption},
      {MDB_PAGE_NOTFOUND, Code::kCorruption},
      {MDB_INVALID, Code::kCorruption},
      {MDB_PANIC, Code::kCorruption},
      {MDB_VERSION_MISMATCH, Code::kCorruption},
      // A transaction made unusable (finished, or failed earlier): an error of
      // the operation, not damage to the store.
      {MDB_BAD_TXN, Code::kIoError},
      {MDB_READERS_FULL, Code::kBusy},
      {MDB_TXN_FULL, Code::kBusy},
      {MDB_MAP_RESIZED, Code::kBusy},
      {ENOSPC, Code::kNoSpace},
      {EIO, Code::kIoError},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE("rc " + std::to_string(c.rc) + " (" + mdb_strerror(c.rc) + ")");
    const Status s = FromMdb(c.rc, "frobnicate");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    // The message names what failed.
    EXPECT_EQ(s.message().rfind("frobnicate: ", 0), 0u) << s.message();
  }
}

TEST(FromMdbTest, ErrnoAtThePosixBoundary) {
  EXPECT_EQ(FromMdb(MDB_MAP_FULL, "put").ErrnoValue(), ENOSPC);
  EXPECT_EQ(FromMdb(ENOSPC, "put").ErrnoValue(), ENOSPC);
  EXPECT_EQ(FromMdb(EIO, "put").ErrnoValue(), EIO);
  EXPECT_EQ(FromMdb(MDB_CORRUPTED, "get").ErrnoValue(), EIO);
}

TEST(FromMdbTest, UnknownLmdbCodeIsIoError) {
  // MDB_BAD_VALSIZE is not in the table: it must still be an error.
  const Status s = FromMdb(MDB_BAD_VALSIZE, "put");
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
}

// ---- Env, transactions, cursors ----

class LmdbEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenEnv(testutil::TestEnvOptions())); }

  void OpenEnv(const EnvOptions& options) {
    env_.reset();
    auto env = Env::Open(dir_.File("meta.lmdb"), options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(env).value();
    auto txn = WriteTxn::Begin(*env_);
    ASSERT_TRUE(txn.ok()) << txn.status().ToString();
    auto table = txn->OpenTable("t");
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = *table;
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }

  // The committed value of `key`, or "<absent>".
  std::string ReadCommitted(std::string_view key) {
    auto txn = ReadTxn::Begin(*env_);
    EXPECT_TRUE(txn.ok()) << txn.status().ToString();
    if (!txn.ok()) return "<error>";
    auto v = txn->Get(table_, key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return "<error>";
    return v->has_value() ? std::string(**v) : "<absent>";
  }

  TempDir dir_;
  std::unique_ptr<Env> env_;
  TableHandle table_;
};

TEST_F(LmdbEnvTest, OpensWithTheKernelsReadAroundAndSyncedCommits) {
  unsigned flags = 0;
  ASSERT_EQ(mdb_env_get_flags(env_->raw(), &flags), MDB_SUCCESS);
  EXPECT_EQ(flags & MDB_NORDAHEAD, 0u) << "a cold walk of the map would fault 4 KiB at a time";
  EXPECT_EQ(flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP), 0u);
  EXPECT_NE(flags & MDB_NOTLS, 0u);
}

TEST_F(LmdbEnvTest, PutGetDeleteCommitRoundTrip) {
  {
    auto txn = WriteTxn::Begin(*env_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(table_, "alpha", "one").ok());
    ASSERT_TRUE(txn->Put(table_, "beta", std::string("t\0o", 3)).ok());
    // A write transaction reads its own writes.
    auto v = txn->Get(table_, "alpha");
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ(**v, "one");
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  EXPECT_EQ(ReadCommitted("alpha"), "one");
  EXPECT_EQ(ReadCommitted("beta"), std::string("t\0o", 3));
  EXPECT_EQ(ReadCommitted("gamma"), "<absent>");
  {
    auto txn = WriteTxn::Begin(*env_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(table_, "alpha", "uno").ok());  // overwrite
    ASSERT_TRUE(txn->Delete(table_, "beta").ok());
    ASSERT_TRUE(txn->Delete(table_, "never-there").ok());  // absent: OK
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  EXPECT_EQ(ReadCommitted("alpha"), "uno");
  EXPECT_EQ(ReadCommitted("beta"), "<absent>");

  // Committed data survives closing and reopening the environment.
  ASSERT_NO_FATAL_FAILURE(OpenEnv(testutil::TestEnvOptions()));
  EXPECT_EQ(ReadCommitted("alpha"), "uno");
  EXPECT_EQ(ReadCommitted("beta"), "<absent>");
}

TEST_F(LmdbEnvTest, DestroyingUncommittedWriteTxnAborts) {
  {
    auto txn = WriteTxn::Begin(*env_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(table_, "k", "v").ok());
    EXPECT_TRUE(txn->active());
  }  // destroyed without Commit
  EXPECT_EQ(ReadCommitted("k"), "<absent>");
  // The writer lock was released: a new write transaction can begin.
  auto txn = WriteTxn::Begin(*env_);
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  ASSERT_TRUE(txn->Put(table_, "k", "v2").ok());
  ASSERT_TRUE(std::move(*txn).Commit().ok());
  EXPECT_EQ(ReadCommitted("k"), "v2");
}

TEST_F(LmdbEnvTest, MoveAssignAbortsTheOverwrittenTxn) {
  auto a = WriteTxn::Begin(*env_);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Put(table_, "moved", "x").ok());
  WriteTxn moved = std::move(*a);
  EXPECT_FALSE(a->active());
  EXPECT_TRUE(moved.active());
  ASSERT_TRUE(std::move(moved).Commit().ok());
  EXPECT_EQ(ReadCommitted("moved"), "x");

  auto r1 = ReadTxn::Begin(*env_);
  auto r2 = ReadTxn::Begin(*env_);
  ASSERT_TRUE(r1.ok() && r2.ok());
  *r1 = std::move(*r2);  // aborts r1's transaction, takes r2's
  EXPECT_TRUE(r1->active());
  EXPECT_FALSE(r2->active());
  auto v = r1->Get(table_, "moved");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->has_value());
}

TEST_F(LmdbEnvTest, ReadTxnSeesItsSnapshotUntilRenewed) {
  {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Put(table_, "k", "old").ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  auto r = ReadTxn::Begin(*env_);
  ASSERT_TRUE(r.ok());
  {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Put(table_, "k", "new").ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  auto v = r->Get(table_, "k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "old");
  r->Reset();
  // A reset transaction holds no snapshot: using it is an error, not a
  // crash, and not a report of a corrupt store.
  auto stale = r->Get(table_, "k");
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().code(), Code::kCorruption) << stale.status().ToString();
  ASSERT_TRUE(r->Renew().ok());
  v = r->Get(table_, "k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "new");
}

TEST_F(LmdbEnvTest, CursorSeeksAndIteratesInByteOrder) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  // Big-endian integers (byte order = numeric order) and byte strings with
  // NUL and 0xff bytes, written in random order.
  std::map<std::string, std::string> model;
  for (int i = 0; i < 300; ++i) {
    std::string k;
    if (rng() % 2) {
      PutBig64(&k, rng() % 100000);
    } else {
      const int len = 1 + static_cast<int>(rng() % 5);
      for (int j = 0; j < len; ++j)
        k.push_back(
            "\0\x01"
            "ab\xff"[rng() % 5]);
    }
    model[k] = "v" + std::to_string(i);
  }
  std::vector<std::pair<std::string, std::string>> shuffled(model.begin(), model.end());
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok());
    for (const auto& [k, v] : shuffled) ASSERT_TRUE(w->Put(table_, k, v).ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  auto r = ReadTxn::Begin(*env_);
  ASSERT_TRUE(r.ok());
  auto c = Cursor::Open(*r, table_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();

  // Full scan: exactly the model, in order.
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  Pairs seen;
  for (Result<bool> ok = c->First();; ok = c->Next()) {
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    if (!*ok) break;
    seen.emplace_back(c->key(), c->value());
  }
  EXPECT_EQ(seen, Pairs(model.begin(), model.end()));

  // Seeks land on the first key >= target; a few Next steps follow the model.
  for (int i = 0; i < 200; ++i) {
    std::string target;
    const int len = static_cast<int>(rng() % 9);
    for (int j = 0; j < len; ++j) target.push_back(static_cast<char>(rng() % 256));
    auto expect = model.lower_bound(target);
    Result<bool> ok = c->Seek(target);
    for (int step = 0; step < 3; ++step) {
      ASSERT_TRUE(ok.ok()) << ok.status().ToString();
      ASSERT_EQ(*ok, expect != model.end());
      if (!*ok) {
        EXPECT_TRUE(c->key().empty());
        break;
      }
      EXPECT_EQ(c->key(), expect->first);
      EXPECT_EQ(c->value(), expect->second);
      ++expect;
      ok = c->Next();
    }
  }
  // An empty seek key means "from the start".
  auto first = c->Seek("");
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ(c->key(), model.begin()->first);
  // Past the last key.
  auto past = c->Seek(std::string(9, '\xff'));
  ASSERT_TRUE(past.ok());
  EXPECT_FALSE(*past);
}

TEST_F(LmdbEnvTest, CursorOnEmptyTable) {
  auto r = ReadTxn::Begin(*env_);
  ASSERT_TRUE(r.ok());
  auto c = Cursor::Open(*r, table_);
  ASSERT_TRUE(c.ok());
  auto first = c->First();
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(*first);
  auto seek = c->Seek("a");
  ASSERT_TRUE(seek.ok());
  EXPECT_FALSE(*seek);
}

TEST_F(LmdbEnvTest, TinyMapFailsWithNoSpaceAndStaysUsable) {
  EnvOptions tiny = testutil::TestEnvOptions();
  tiny.map_size_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(OpenEnv(tiny));
  const std::string value(1000, 'x');
  int committed = 0;
  Status failure;
  for (int round = 0; round < 1000 && failure.ok(); ++round) {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (int i = 0; i < 4 && failure.ok(); ++i) {
      failure = w->Put(table_, "key" + std::to_string(round * 4 + i), value);
    }
    if (failure.ok()) {
      failure = std::move(*w).Commit();
      if (failure.ok()) committed = (round + 1) * 4;
    }
    // On a failed Put, the poisoned transaction is aborted by its destructor.
  }
  ASSERT_FALSE(failure.ok()) << "a 64 KiB map never filled up";
  EXPECT_EQ(failure.code(), Code::kNoSpace) << failure.ToString();
  EXPECT_EQ(failure.ErrnoValue(), ENOSPC);
  ASSERT_GT(committed, 0);

  // Everything committed before the failure reads back; nothing after it.
  for (int i = 0; i < committed; ++i) {
    ASSERT_EQ(ReadCommitted("key" + std::to_string(i)), value) << i;
  }
  EXPECT_EQ(ReadCommitted("key" + std::to_string(committed)), "<absent>");
  // The failed transaction released the writer lock: a new one begins (and
  // a write into the full map fails cleanly again rather than hanging).
  {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE(w->active());
    auto v = w->Get(table_, "key0");
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->has_value());
  }
  EXPECT_EQ(ReadCommitted("key1"), value);
  // Reopened with a larger map, the same environment accepts more data.
  ASSERT_NO_FATAL_FAILURE(OpenEnv(testutil::TestEnvOptions()));
  {
    auto w = WriteTxn::Begin(*env_);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 200; ++i) {
      Status s = w->Put(table_, "more" + std::to_string(i), value);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    Status s = std::move(*w).Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(ReadCommitted("more199"), value);
  EXPECT_EQ(ReadCommitted("key1"), value);
}

// After a failed Put, LMDB refuses every further use of the transaction
// with MDB_BAD_TXN. That is the operation failing, not a damaged store.
TEST_F(LmdbEnvTest, ReadThroughFailedWriteTxnIsNotCorruption) {
  EnvOptions tiny = testutil::TestEnvOptions();
  tiny.map_size_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(OpenEnv(tiny));
  auto w = WriteTxn::Begin(*env_);
  ASSERT_TRUE(w.ok());
  Status put;
  for (int i = 0; i < 1000 && put.ok(); ++i) {
    put = w->Put(table_, "key" + std::to_string(i), std::string(1000, 'x'));
  }
  ASSERT_EQ(put.code(), Code::kNoSpace) << put.ToString();
  auto v = w->Get(table_, "key0");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kIoError) << v.status().ToString();
  EXPECT_NE(v.status().message().find("MDB_BAD_TXN"), std::string::npos) << v.status().ToString();
}

TEST(LmdbEnvOpenTest, MissingDirectoryFails) {
  TempDir dir;
  auto env = Env::Open(dir.File("no/such/dir/meta.lmdb"), testutil::TestEnvOptions());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kNotFound) << env.status().ToString();
}

}  // namespace
}  // namespace hoodyfs::index
