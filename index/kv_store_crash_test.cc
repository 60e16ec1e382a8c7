// Crash tests of KvStore::Flush and KvStore::Sync.
//
// Flush: a forked child opens the store, makes and
// flushes one set of changes, makes a second set and SIGKILLs itself at a
// test hook inside the second Flush. The parent reopens the store and
// requires exactly one of the two committed states: the first flush's when
// the kill came before the LMDB commit, the second's when it came after.
// Nothing in between, and no repair step.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "base/test_hook.h"
#include "index/kv_store.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::TempDir;

constexpr std::array<Table, 2> kTables = {Table::kInodes, Table::kMeta};
using Model = std::array<std::map<std::string, std::string>, kTables.size()>;

// The hook the child installs: dies at the chosen point, as kill -9 would.
const char* g_kill_at = nullptr;
void KillAtHook(std::string_view name) {
  if (g_kill_at != nullptr && name == g_kill_at) ::kill(::getpid(), SIGKILL);
}

// Random changes on top of `base`: new keys, overwrites (some with large
// values, so the commit spans many pages) and deletions.
Model Mutate(const Model& base, std::mt19937& rng, int round) {
  Model m = base;
  for (size_t t = 0; t < kTables.size(); ++t) {
    for (int i = 0; i < 300; ++i) {
      const std::string key = "key" + std::to_string(rng() % 600);
      if (rng() % 4 == 0) {
        m[t].erase(key);
      } else {
        m[t][key] = "r" + std::to_string(round) + "-" + std::to_string(i) +
                    std::string(rng() % 8 == 0 ? 3000 : rng() % 100, 'v');
      }
    }
  }
  return m;
}

// Writes the difference between `from` and `to` through one WriteScope.
void Apply(KvStore& store, const Model& from, const Model& to) {
  WriteScope w(store);
  for (size_t t = 0; t < kTables.size(); ++t) {
    for (const auto& [k, v] : from[t]) {
      if (!to[t].contains(k)) w.Delete(kTables[t], k);
    }
    for (const auto& [k, v] : to[t]) {
      auto it = from[t].find(k);
      if (it == from[t].end() || it->second != v) w.Put(kTables[t], k, v);
    }
  }
  w.Commit();
}

// Child exit codes (the expected outcome is death by SIGKILL).
enum ChildExit {
  kOpenFailed = 10,
  kFirstFlushFailed = 11,
  kHookNeverFired = 12,
  kSecondFlushFailed = 13,
};

[[noreturn]] void RunChild(const std::string& path, const Model& start, const Model& first,
                           const Model& second, const char* kill_at) {
  auto store = KvStore::Open(path, testutil::TestEnvOptions());
  if (!store.ok()) ::_exit(kOpenFailed);
  Apply(**store, start, first);
  if (!(*store)->Flush().ok()) ::_exit(kFirstFlushFailed);
  Apply(**store, first, second);
  g_kill_at = kill_at;
  SetTestHook(&KillAtHook);
  const bool ok = (*store)->Flush().ok();
  ::_exit(ok ? kHookNeverFired : kSecondFlushFailed);
}

void ExpectStoreHolds(KvStore& store, const Model& want) {
  ReadScope r(store);
  for (size_t t = 0; t < kTables.size(); ++t) {
    std::map<std::string, std::string> got;
    auto it = r.NewIterator(kTables[t]);
    ASSERT_TRUE(it.ok()) << it.status().ToString();
    for (it->Seek(""); it->Valid(); it->Next()) got.emplace(it->key(), it->value());
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(got.size(), want[t].size()) << "table " << t;
    ASSERT_TRUE(got == want[t]) << "table " << t << " differs from the expected commit";
  }
}

std::string DescribeWait(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

class KvStoreCrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KvStoreCrashTest, KillInFlushLeavesExactlyOneCommittedState) {
  if (!TestHooksEnabled()) {
    GTEST_SKIP() << "SKIPPED LOUDLY: this build has no test hooks (HOODYFS_TEST_HOOKS undefined), "
                    "so Flush cannot be crashed at kv.before_commit / kv.after_commit";
  }
  const char* kill_at = GetParam();
  const bool after_commit = std::string_view(kill_at) == "kv.after_commit";
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  const std::string path = dir.File("meta.lmdb");

  // Several crashes in a row on one store: each reopen must recover the
  // dead writer's lock and reader slots, with no repair step.
  Model durable;  // empty store
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const Model first = Mutate(durable, rng, 2 * round);
    const Model second = Mutate(first, rng, 2 * round + 1);
    std::fflush(nullptr);  // no buffered output duplicated into the child
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) RunChild(path, durable, first, second, kill_at);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child " << DescribeWait(status) << " instead of dying at " << kill_at;

    durable = after_commit ? second : first;
    Result<std::unique_ptr<KvStore>> store = KvStore::Open(path, testutil::TestEnvOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_NO_FATAL_FAILURE(ExpectStoreHolds(**store, durable));
    // The recovered store takes writes and commits them.
    {
      WriteScope w(**store);
      w.Put(Table::kMeta, "after-crash", std::to_string(round));
      w.Commit();
    }
    ASSERT_TRUE((*store)->Flush().ok());
    durable[1]["after-crash"] = std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(ExpectStoreHolds(**store, durable));
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, KvStoreCrashTest,
                         ::testing::Values("kv.before_commit", "kv.after_commit"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return std::string(param.index == 0 ? "BeforeCommit" : "AfterCommit");
                         });

// ---- Sync: kill -9 around the log append ----
//
// The child makes its first state durable with Sync alone (a log record,
// never an LMDB commit), makes the second and dies inside the second Sync.
// The parent's reopen replays the log: the first state must come back
// whole, or the second once its record is synced. At wal.before_sync the
// record is written but not synced: kill -9 keeps the page cache, so either
// state is correct (a power loss would drop the record); a mix is not.

enum SyncChildExit {
  kSyncOpenFailed = 20,
  kFirstSyncFailed = 21,
  kFirstSyncNotLogged = 22,
  kSyncHookNeverFired = 23,
  kSecondSyncFailed = 24,
};

[[noreturn]] void RunSyncChild(const std::string& path, const Model& start, const Model& first,
                               const Model& second, const char* kill_at) {
  auto store = KvStore::Open(path, testutil::TestEnvOptions());
  if (!store.ok()) ::_exit(kSyncOpenFailed);
  Apply(**store, start, first);
  if (!(*store)->Sync().ok()) ::_exit(kFirstSyncFailed);
  if ((*store)->LogAppendCount() != 1) ::_exit(kFirstSyncNotLogged);
  Apply(**store, first, second);
  g_kill_at = kill_at;
  SetTestHook(&KillAtHook);
  const bool ok = (*store)->Sync().ok();
  ::_exit(ok ? kSyncHookNeverFired : kSecondSyncFailed);
}

// Which of `a` and `b` the store holds: 0, 1, or -1 for neither.
int StoreHoldsWhich(KvStore& store, const Model& a, const Model& b) {
  ReadScope r(store);
  Model got;
  for (size_t t = 0; t < kTables.size(); ++t) {
    auto it = r.NewIterator(kTables[t]);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    if (!it.ok()) return -1;
    for (it->Seek(""); it->Valid(); it->Next()) got[t].emplace(it->key(), it->value());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  if (got == a) return 0;
  if (got == b) return 1;
  return -1;
}

class KvStoreSyncCrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KvStoreSyncCrashTest, KillInSyncReplaysTheLastSyncedStateWhole) {
  if (!TestHooksEnabled()) {
    GTEST_SKIP() << "SKIPPED LOUDLY: this build has no test hooks (HOODYFS_TEST_HOOKS undefined), "
                    "so Sync cannot be crashed at wal.before_sync / wal.after_sync";
  }
  const char* kill_at = GetParam();
  const bool after_sync = std::string_view(kill_at) == "wal.after_sync";
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  const std::string path = dir.File("meta.lmdb");

  Model durable;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const Model first = Mutate(durable, rng, 2 * round);
    const Model second = Mutate(first, rng, 2 * round + 1);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) RunSyncChild(path, durable, first, second, kill_at);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child " << DescribeWait(status) << " instead of dying at " << kill_at;

    Result<std::unique_ptr<KvStore>> store = KvStore::Open(path, testutil::TestEnvOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const int which = StoreHoldsWhich(**store, first, second);
    ASSERT_NE(which, -1) << "the store holds neither synced state whole";
    if (after_sync) {
      ASSERT_EQ(which, 1) << "a synced record was lost";
    }
    durable = which == 0 ? first : second;
    // Replayed, then committed: a reopen without the log finds the same.
    store->reset();
    for (int i = 0; i < 2; ++i) {
      const std::string wal = path + "-wal" + std::to_string(i);
      ASSERT_EQ(::truncate(wal.c_str(), 0), 0) << wal;
    }
    store = KvStore::Open(path, testutil::TestEnvOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_NO_FATAL_FAILURE(ExpectStoreHolds(**store, durable));
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, KvStoreSyncCrashTest,
                         ::testing::Values("wal.before_sync", "wal.after_sync"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return std::string(param.index == 0 ? "BeforeSync" : "AfterSync");
                         });

}  // namespace
}  // namespace hoodyfs::index
