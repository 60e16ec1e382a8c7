// Real process death (design invariant 5): a forked child opens the store
// (the real data file, through the default OpenDataFile), runs a seeded
// sequence of random calls with durability points (RandomOps: flush, fsync,
// freeze, branch, reopen), and SIGKILLs itself at the Nth firing of a named
// test hook (base/test_hook.h):
//   kv.before_commit            the LMDB transaction is written, not committed
//   kv.after_commit             committed, but the flush has not returned
//   store.freeze.before_flush   a freeze is recorded in memory, not flushed
//   wal.before_sync             an fsync's log record is written, not synced
//   wal.after_sync              the log record is synced, the fsync not returned
// Before each durability point the child writes the state it will make
// durable ("pending"); once the call returns it renames that to "done". Kills
// happen only inside durability points, so after the death the parent knows
// exactly what the store must hold: "pending" when the commit happened
// (after_commit) or the fsync's log record was written (kill -9 keeps the
// page cache, so a written record is read back even unsynced; power loss is
// power_loss_test's), else "done". It reopens the store with no repair step and
// checks the head, every frozen generation (a freeze interrupted by the kill
// is either fully there or not at all) and the consistency checker, then
// makes one more durable change.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/test_hook.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/crash/crash_util.h"
#include "tests/model/random_ops.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::Store;

constexpr const char* kHooks[] = {"kv.before_commit", "kv.after_commit",
                                  "store.freeze.before_flush", "wal.before_sync", "wal.after_sync"};

// Exit codes of a child that was not killed.
constexpr int kChildAssertionFailed = 2;
constexpr int kChildNeverKilled = 3;
constexpr int kChildSetupFailed = 4;
constexpr int kMaxChildSteps = 5000;

// The child's hook: SIGKILL at the Nth firing of one hook. Globals, because
// the hook is a plain function pointer; set only in the forked child.
std::string_view g_kill_hook;
int g_kill_at = 0;
int g_fired = 0;

void KillAtHook(std::string_view name) {
  if (name == g_kill_hook && ++g_fired == g_kill_at) ::kill(::getpid(), SIGKILL);
}

snapshotter::StoreOptions Options() {
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 0;  // no commit but the driver's durability points
  options.flush_pending_bytes = SIZE_MAX;
  options.grow_step_bytes = 16 << 20;
  return options;
}

[[noreturn]] void ChildFail(int code, const std::string& why) {
  std::fprintf(stderr, "kill test child: %s\n", why.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

void WriteFileOrDie(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) ChildFail(kChildSetupFailed, "create " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) ChildFail(kChildSetupFailed, "write " + path);
}

// The forked child: runs until the hook kills it.
[[noreturn]] void RunChild(const std::string& store_dir, const std::string& state_dir,
                           uint64_t seed, std::string_view hook, int kill_at) {
  g_kill_hook = hook;
  g_kill_at = kill_at;
  g_fired = 0;
  SetTestHook(&KillAtHook);
  std::unique_ptr<Store> store;
  RandomOps* driver = nullptr;
  auto open = [&] {
    store.reset();  // a reopen: the close flushes (and may be killed there)
    auto s = Store::Open(store_dir, Options());
    if (!s.ok()) ChildFail(kChildSetupFailed, "open: " + s.status().ToString());
    store = std::move(s).value();
  };
  SyncHooks hooks;
  const std::string pending = state_dir + "/pending", done = state_dir + "/done";
  hooks.before_sync = [&](SyncKind kind, const ModelState& if_ok) {
    WriteFileOrDie(pending, std::string(1, static_cast<char>(kind)) + if_ok.Encode());
  };
  hooks.after_sync = [&](SyncKind) {
    if (std::rename(pending.c_str(), done.c_str()) != 0) {
      ChildFail(kChildSetupFailed, std::string("rename: ") + std::strerror(errno));
    }
  };
  hooks.reopen = [&] {
    open();
    driver->Attach(store.get());
  };
  OpMix mix;
  mix.sync = 4;
  mix.freeze = 4;
  mix.branch = 2;
  mix.reopen = 1;
  mix.max_write_bytes = 64 * 1024;
  mix.max_write_offset = 256 * 1024;
  mix.max_truncate_bytes = 300 * 1024;
  RandomOps ops(seed, "c", mix, hooks);
  driver = &ops;
  open();
  ops.Attach(store.get());
  for (int i = 0; i < kMaxChildSteps; ++i) {
    ops.Step();
    if (::testing::Test::HasFailure()) {
      ChildFail(kChildAssertionFailed, "step " + std::to_string(i) + " failed (see above)");
    }
  }
  ChildFail(kChildNeverKilled, "hook " + std::string(hook) + " fired only " +
                                   std::to_string(g_fired) + " times, wanted " +
                                   std::to_string(kill_at));
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class KillTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(KillTest, StoreReopensWithEverySyncedChange) {
  if (!TestHooksEnabled()) {
    GTEST_SKIP() << "\n*** CRASH TESTS NOT RUN: this build has no test hooks "
                    "(HOODYFS_TEST_HOOKS undefined), so no process can be killed at a chosen "
                    "point. Build with HOODYFS_BUILD_TESTS=ON. ***";
  }
  const auto [hook_index, run] = GetParam();
  const std::string_view hook = kHooks[hook_index];
  const bool freeze_hook = hook == "store.freeze.before_flush";
  const uint64_t seed = CrashSeed(hook_index * 100 + run);
  const int kill_at = 1 + static_cast<int>(seed % (freeze_hook ? 5 : 16));
  SCOPED_TRACE(SeedTrace(seed) + ", killed at firing " + std::to_string(kill_at) + " of " +
               std::string(hook));

  TempDir dir = TempDir::Create().value();
  const std::string store_dir = dir.File("store"), state_dir = dir.File("state");
  ASSERT_EQ(::mkdir(state_dir.c_str(), 0700), 0) << std::strerror(errno);
  ASSERT_OK(Store::Init(store_dir));
  {
    auto store = Store::Open(store_dir, Options());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_OK((*store)->CreateContainer("c"));
  }

  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) RunChild(store_dir, state_dir, seed, hook, kill_at);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid) << std::strerror(errno);
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case kChildAssertionFailed:
        FAIL() << "the child failed a check before the kill (its output is above)";
      case kChildNeverKilled:
        FAIL() << "the child ran " << kMaxChildSteps << " steps without reaching the hook";
      default:
        FAIL() << "the child exited with " << WEXITSTATUS(status) << " (its output is above)";
    }
  }
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended with status " << status;

  // What the store must hold.
  const std::optional<std::string> pending_bytes = ReadFile(state_dir + "/pending");
  ASSERT_TRUE(pending_bytes && !pending_bytes->empty())
      << "killed at a hook, yet no durability point was under way";
  const SyncKind kind = static_cast<SyncKind>((*pending_bytes)[0]);
  std::optional<ModelState> pending = ModelState::Decode(pending_bytes->substr(1));
  ASSERT_TRUE(pending.has_value()) << "unreadable pending state";
  ModelState done;  // nothing synced yet: an empty container
  if (auto bytes = ReadFile(state_dir + "/done")) {
    auto decoded = ModelState::Decode(bytes->substr(1));
    ASSERT_TRUE(decoded.has_value()) << "unreadable done state";
    done = std::move(*decoded);
  }
  SCOPED_TRACE(std::string("killed during a ") + SyncKindName(kind));
  if (freeze_hook) {
    ASSERT_EQ(kind, SyncKind::kFreeze);
  }
  const bool log_hook = hook.starts_with("wal.");
  if (log_hook) {
    ASSERT_EQ(kind, SyncKind::kFsync) << "only an fsync appends to the log";
  }
  const bool committed = hook == "kv.after_commit" || log_hook;
  const ModelState& expected = committed ? *pending : done;

  auto store = Store::Open(store_dir, Options());
  ASSERT_TRUE(store.ok()) << "no repair step: the store must open: " << store.status().ToString();
  ExpectStoreHolds(**store, "c", expected);
  if (pending->frozen.size() > done.frozen.size()) {  // killed in a freeze: all or nothing
    const GenId gen = pending->frozen.back().first;
    auto head = (*store)->HeadOf("c");
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    auto info = (*store)->Generation(gen);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    if (committed) {
      EXPECT_EQ(info->state, index::GenState::kFrozen);
      EXPECT_EQ((*store)->Generation(*head).value().parent, gen)
          << "the frozen generation is not the head's parent";
    } else {
      EXPECT_EQ(info->state, index::GenState::kHead) << "half a freeze survived the kill";
      EXPECT_EQ(*head, gen);
    }
  }
  // And the store goes on.
  auto fs = (*store)->Head("c").value();
  auto e = fs.Mknod(kRootIno, "after-the-kill", S_IFREG | 0644, 0, {});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string data = Bytes(20000, 'k');
  ASSERT_TRUE(fs.Write(e->ino, 0, data).ok());
  ASSERT_OK(fs.Fsync(e->ino));
  auto g = (*store)->Freeze("c");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_OK((*store)->CheckInvariants());
}

// A reservation is metadata like any other: one that an fsync made durable
// is there after kill -9, with the same room and blocks, and nothing else
// (the one made after the fsync is gone).
TEST(KillReservationTest, AReservationFsyncedBeforeAKillSurvivesIt) {
  TempDir dir = TempDir::Create().value();
  const std::string store_dir = dir.File("store");
  ASSERT_OK(Store::Init(store_dir));
  Ino kept, lost;
  {
    auto store = Store::Open(store_dir, Options());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_OK((*store)->CreateContainer("c"));
    auto fs = (*store)->Head("c").value();
    kept = fs.Mknod(kRootIno, "kept", S_IFREG | 0644, 0, {}).value().ino;
    lost = fs.Mknod(kRootIno, "lost", S_IFREG | 0644, 0, {}).value().ino;
    ASSERT_OK((*store)->Flush());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    auto store = Store::Open(store_dir, Options());
    if (!store.ok()) ChildFail(kChildSetupFailed, store.status().ToString());
    auto fs = (*store)->Head("c").value();
    Status s = fs.Fallocate(kept, FALLOC_FL_KEEP_SIZE, 0, 1 << 20);
    if (s.ok()) s = fs.Fallocate(kept, 0, 2 << 20, 1 << 20);
    if (s.ok()) s = fs.Fsync(kept);
    if (s.ok()) s = fs.Fallocate(lost, 0, 0, 1 << 20);
    if (!s.ok()) ChildFail(kChildAssertionFailed, s.ToString());
    ::kill(::getpid(), SIGKILL);
    ChildFail(kChildNeverKilled, "survived SIGKILL");
  }
  ASSERT_NO_FATAL_FAILURE(ExpectKilledChild(pid));

  auto store = Store::Open(store_dir, Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->reserved_blocks(), 512u);
  auto fs = (*store)->Head("c").value();
  EXPECT_EQ(fs.GetAttr(kept)->blocks_512, uint64_t{2 << 20} / 512);
  EXPECT_EQ(fs.GetAttr(kept)->size, uint64_t{3 << 20});
  EXPECT_EQ(fs.GetAttr(lost)->blocks_512, 0u);
  EXPECT_EQ(fs.GetAttr(lost)->size, 0u);
  EXPECT_OK((*store)->CheckInvariants());
}

INSTANTIATE_TEST_SUITE_P(Hooks, KillTest,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Range(0, 6)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& param) {
                           std::string name = kHooks[std::get<0>(param.param)];
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name + "_" + std::to_string(std::get<1>(param.param));
                         });

}  // namespace
}  // namespace hoodyfs::testing
