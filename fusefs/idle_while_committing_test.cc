#include "fusefs/idle_while_committing.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include <thread>

namespace hoodyfs::fusefs {
namespace {

struct Seen {
  int inside = -1;
  int after = -1;
  int nice_after = 0;
  bool idle = false;
};

// Runs a guard on a thread of its own (the policy is per thread), starting
// from nice `nice`, and reports the policies seen inside and after it.
Seen RunGuard(bool enabled, int nice) {
  Seen seen;
  std::thread t([&] {
    (void)::setpriority(PRIO_PROCESS, 0, nice);  // this thread only (Linux)
    {
      const IdleWhileCommitting guard(enabled);
      seen.inside = ::sched_getscheduler(0);
      seen.idle = guard.idle();
    }
    seen.after = ::sched_getscheduler(0);
    seen.nice_after = ::getpriority(PRIO_PROCESS, 0);
  });
  t.join();
  return seen;
}

TEST(IdleWhileCommittingTest, IdleInsideAndTheOldPolicyAndNiceAfter) {
  if (!MayLeaveIdlePolicy()) GTEST_SKIP() << "no CAP_SYS_NICE and RLIMIT_NICE below 20";
  const Seen seen = RunGuard(/*enabled=*/true, /*nice=*/5);
  EXPECT_TRUE(seen.idle);
  EXPECT_EQ(seen.inside, SCHED_IDLE);
  EXPECT_EQ(seen.after, SCHED_OTHER);
  EXPECT_EQ(seen.nice_after, 5) << "the nice value must survive the round trip";
}

TEST(IdleWhileCommittingTest, DisabledChangesNothing) {
  const Seen seen = RunGuard(/*enabled=*/false, /*nice=*/0);
  EXPECT_FALSE(seen.idle);
  EXPECT_EQ(seen.inside, SCHED_OTHER);
  EXPECT_EQ(seen.after, SCHED_OTHER);
}

// A thread someone put under another policy keeps it.
TEST(IdleWhileCommittingTest, AnotherPolicyIsLeftAlone) {
  Seen seen;
  std::thread t([&] {
    const sched_param param{};
    ASSERT_EQ(::sched_setscheduler(0, SCHED_BATCH, &param), 0);
    {
      const IdleWhileCommitting guard(true);
      seen.inside = ::sched_getscheduler(0);
      seen.idle = guard.idle();
    }
    seen.after = ::sched_getscheduler(0);
  });
  t.join();
  EXPECT_FALSE(seen.idle);
  EXPECT_EQ(seen.inside, SCHED_BATCH);
  EXPECT_EQ(seen.after, SCHED_BATCH);
}

}  // namespace
}  // namespace hoodyfs::fusefs
