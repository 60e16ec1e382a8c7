#include "fusefs/forget_batching.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>

namespace hoodyfs::fusefs {
namespace {

using Clock = ForgetBatching::Clock;

// A fixed instant for the tests that only compare deadlines (never waited
// for: the steady clock starts near boot, so it may still lie ahead).
const Clock::time_point kAt = Clock::time_point(std::chrono::seconds(1000));

TEST(ForgetBatchingTest, AForgetWhileTheRingsServeHoldsTheNextReadForTheWindow) {
  ForgetBatching batching;
  EXPECT_EQ(batching.ReadNotBefore(), Clock::time_point()) << "a fresh channel waited";
  batching.Noted(FUSE_FORGET, /*rings_serve=*/true, kAt);
  EXPECT_EQ(batching.ReadNotBefore(), kAt + ForgetBatching::kWindow);
  batching.Noted(FUSE_BATCH_FORGET, /*rings_serve=*/true, kAt + std::chrono::seconds(1));
  EXPECT_EQ(batching.ReadNotBefore(), kAt + std::chrono::seconds(1) + ForgetBatching::kWindow);
}

TEST(ForgetBatchingTest, OtherRequestsAndDevFuseAloneNeverWait) {
  ForgetBatching batching;
  for (uint32_t opcode : {FUSE_INTERRUPT, FUSE_LOOKUP, FUSE_WRITE, FUSE_INIT}) {
    batching.Noted(opcode, /*rings_serve=*/true, kAt);
  }
  EXPECT_EQ(batching.ReadNotBefore(), Clock::time_point()) << "a request that is no FORGET";
  // Through /dev/fuse alone the workers serve every request: a FORGET may
  // not hold the next LOOKUP back.
  batching.Noted(FUSE_FORGET, /*rings_serve=*/false, kAt);
  batching.Noted(FUSE_BATCH_FORGET, /*rings_serve=*/false, kAt);
  EXPECT_EQ(batching.ReadNotBefore(), Clock::time_point());
}

TEST(ForgetBatchingTest, WaitForTurnReturnsOnceTheWindowHasPassed) {
  ForgetBatching batching;
  batching.Noted(FUSE_FORGET, /*rings_serve=*/true, Clock::now());
  batching.WaitForTurn();
  EXPECT_GE(Clock::now(), batching.ReadNotBefore());
  // A window that ended long ago costs nothing.
  batching.Noted(FUSE_FORGET, /*rings_serve=*/true, Clock::now() - std::chrono::seconds(1));
  batching.WaitForTurn();
  EXPECT_GE(Clock::now(), batching.ReadNotBefore());
}

}  // namespace
}  // namespace hoodyfs::fusefs
