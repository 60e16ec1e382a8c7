// The bound on the metadata staging area (issue 11): the memtables hold the
// changes not yet committed, and a background flusher commits them. A
// writer that outruns the flusher past flush_hard_pending_bytes waits for
// the flusher's commit in flight and then for its own changes to be
// committed (by itself, or by the flusher's next commit when that takes
// the lock first: a group commit), instead of letting the memtables grow:
// the writer slows, nothing fails, nothing is lost.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/test_hook.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

// What the hooks see. The hook handler is a plain function pointer, so its
// state is a global, set up and torn down by the test.
struct HookState {
  std::mutex mu;
  std::condition_variable cv;
  pthread_t writer{};
  // The flusher's first commit is held until the writer, past the hard
  // limit, is about to wait for it.
  enum class Flusher { kFree, kHeld, kReleased } flusher = Flusher::kFree;
  int writer_waited_for_held_flusher = 0;
};
HookState* g_hooks = nullptr;

void OnHook(std::string_view name) {
  HookState& st = *g_hooks;
  const bool on_writer = pthread_equal(pthread_self(), st.writer) != 0;
  std::unique_lock<std::mutex> l(st.mu);
  if (name == "kv.before_commit") {
    if (!on_writer && st.flusher == HookState::Flusher::kFree) {
      st.flusher = HookState::Flusher::kHeld;
      st.cv.wait(l, [&] { return st.flusher == HookState::Flusher::kReleased; });
    }
  } else if (name == "kv.flush.before_lock" && on_writer &&
             st.flusher == HookState::Flusher::kHeld) {
    ++st.writer_waited_for_held_flusher;
    st.flusher = HookState::Flusher::kReleased;
    st.cv.notify_all();
  }
}

TEST(StoreBackpressureTest, AWriterPastTheHardLimitWaitsForTheCommitsAndLosesNothing) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "this build has no test hooks";
  testing::TempDir dir = testing::TempDir::Create().value();
  const std::string path = dir.File("store");
  ASSERT_TRUE(Store::Init(path).ok());
  constexpr size_t kSoft = 16 << 10;
  constexpr size_t kHard = 128 << 10;
  constexpr int kFiles = 20000;  // some 40 times the hard limit of metadata
  const auto open = [&] {
    StoreOptions options;
    options.flush_interval_ms = 60'000;  // the flusher runs when woken
    options.flush_pending_bytes = kSoft;
    options.flush_hard_pending_bytes = kHard;
    auto opened = Store::Open(path, std::move(options));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  };
  std::unique_ptr<Store> store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateContainer("c").ok());
  ASSERT_TRUE(store->Flush().ok());

  HookState hooks;
  hooks.writer = pthread_self();
  g_hooks = &hooks;
  SetTestHook(&OnHook);
  size_t most_pending = 0;
  // The limit is checked before each change, so the memtables may hold one
  // change more: the most one create added (its arena's next chunk, some
  // KiB) is the slack.
  size_t last_pending = 0;
  size_t most_growth = 0;
  int created = 0;
  {
    FileSystem fs = store->Head("c").value();
    for (int i = 0; i < kFiles; ++i) {
      auto e = fs.Mknod(kRootIno, "file-" + std::to_string(i), S_IFREG | 0644, 0, {});
      if (!e.ok()) {
        ADD_FAILURE() << "create " << i << ": " << e.status().ToString();
        break;
      }
      ++created;
      const size_t now = store->PendingMetadataBytes();
      if (now > last_pending) most_growth = std::max(most_growth, now - last_pending);
      last_pending = now;
      most_pending = std::max(most_pending, now);
    }
  }
  // What the writes did (the store's last flush, below, also runs on this
  // thread), then let a flusher still held go before the store stops it.
  int writer_waited = 0;
  {
    std::lock_guard<std::mutex> l(hooks.mu);
    writer_waited = hooks.writer_waited_for_held_flusher;
    hooks.flusher = HookState::Flusher::kReleased;
    hooks.cv.notify_all();
  }
  store.reset();  // its last flush commits the rest
  SetTestHook(nullptr);
  g_hooks = nullptr;

  EXPECT_EQ(created, kFiles) << "a create failed";
  EXPECT_GE(writer_waited, 1)
      << "the writer never ran past the hard limit while the flusher was committing";
  EXPECT_LT(most_growth, kHard / 4) << "one create added as much as the limit's quarter";
  EXPECT_LE(most_pending, kHard + most_growth)
      << "the memtables grew past the hard limit by more than one change";

  store = open();
  ASSERT_NE(store, nullptr);
  FileSystem fs = store->Head("c").value();
  std::set<std::string> names;
  ASSERT_TRUE(fs.ReadDir(kRootIno, 2, [&](const DirEntry& e) {
                  names.insert(e.name);
                  return true;
                }).ok());
  EXPECT_EQ(names.size(), static_cast<size_t>(kFiles));
  for (int i = 0; i < kFiles; i += 997) {
    EXPECT_EQ(names.count("file-" + std::to_string(i)), 1u) << "file-" << i;
  }
  EXPECT_TRUE(store->CheckInvariants().ok());
}

}  // namespace
}  // namespace hoodyfs::snapshotter
