// Model-based randomized test of the engine: thousands of random
// filesystem calls interleaved with freeze, branch and reopen, each checked
// against ModelFs (the driver is RandomOps); the head is compared in full
// every few steps, and at the end every frozen generation is re-read and
// found exactly as when frozen. Then the consistency checker runs.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include "tests/model/fs_model.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/model/random_ops.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::Store;

class EngineModelTest : public ::testing::TestWithParam<int> {
 protected:
  void Open() {
    store_.reset();
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    auto s = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  TempDir dir_ = TempDir::Create().value();
  std::unique_ptr<Store> store_;
};

TEST_P(EngineModelTest, RandomOperationsMatchTheModel) {
  const uint64_t seed =
      static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) * 1000 + GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with --gtest_random_seed)");
  ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
  {
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    auto s = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->CreateContainer("c").ok());
  }
  SyncHooks hooks;
  RandomOps* driver = nullptr;
  hooks.reopen = [&] {
    Open();
    if (store_) driver->Attach(store_.get());
  };
  RandomOps ops(seed, "c", OpMix{}, hooks);
  driver = &ops;
  Open();
  ops.Attach(store_.get());
  constexpr int kSteps = 1500;
  for (int i = 0; i < kSteps && !HasFailure(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    ops.Step();
    if (i % 50 == 49) ExpectTreeMatches(ops.fs(), ops.state().head, "head");
    // Reservations stay consistent with the files and the store's total
    // (fsck's reservation check) through freezes, branches and reopens.
    if (i % 300 == 299) {
      Status st = store_->CheckInvariants();
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  }
  ExpectStoreHolds(*store_, "c", ops.state());
  // Once more after a reopen: the durable store is the same.
  Open();
  ExpectStoreHolds(*store_, "c", ops.state());
}

// The encoding crash tests use to hand a model from a child process back.
TEST(ModelStateTest, EncodeDecodeRoundTrips) {
  ModelState state;
  state.head.ApplyCreate(1, "f", 7, 0100644, 0);
  state.head.Write(7, 3, std::string("bytes\0with nul", 15));
  state.head.Mutable(7).xattrs["user.x"] = "v";
  state.head.ApplyCreate(1, "d", 8, 040755, 0);
  state.head.ApplyCreate(8, "l", 9, 0120777, 0, "target");
  state.frozen.emplace_back(GenId(3), state.head);
  state.head.Truncate(7, 1);
  const std::string bytes = state.Encode();
  std::optional<ModelState> back = ModelState::Decode(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->head.Encode(), state.head.Encode());
  ASSERT_EQ(back->frozen.size(), 1u);
  EXPECT_EQ(back->frozen[0].first, GenId(3));
  EXPECT_EQ(back->frozen[0].second.Encode(), state.frozen[0].second.Encode());
  EXPECT_EQ(back->frozen[0].second.Node(7).data, std::string("\0\0\0bytes\0with nul", 18));
  EXPECT_FALSE(ModelState::Decode(bytes.substr(0, bytes.size() - 1)).has_value());
  EXPECT_FALSE(ModelState::Decode(bytes + "x").has_value());
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineModelTest, ::testing::Range(1, 5));

}  // namespace
}  // namespace hoodyfs::testing
