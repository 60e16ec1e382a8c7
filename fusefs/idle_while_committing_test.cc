#include "fusefs/idle_while_committing.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

namespace hoodyfs::fusefs {
namespace {

struct Seen {
  int inside = -1;
  int after = -1;
  int nice_after = 0;
  bool idle = false;
  bool nice_set = false;
};

// Runs a guard on a thread of its own (the policy is per thread), starting
// from nice `nice`, and reports the policies seen inside and after it.
Seen RunGuard(std::atomic<bool>& allowed, int nice) {
  Seen seen;
  std::thread t([&] {
    seen.nice_set = ::setpriority(PRIO_PROCESS, 0, nice) == 0;  // this thread only (Linux)
    {
      const IdleWhileCommitting guard(allowed, /*wants=*/true);
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
  if (!IdlePolicyRoundTripWorks()) GTEST_SKIP() << "this process may not leave SCHED_IDLE";
  std::atomic<bool> allowed{true};
  const Seen seen = RunGuard(allowed, /*nice=*/5);
  ASSERT_TRUE(seen.nice_set);
  EXPECT_TRUE(seen.idle);
  EXPECT_EQ(seen.inside, SCHED_IDLE);
  EXPECT_EQ(seen.after, SCHED_OTHER);
  EXPECT_EQ(seen.nice_after, 5) << "the nice value must survive the round trip";
  EXPECT_TRUE(allowed.load());
}

TEST(IdleWhileCommittingTest, NotAllowedChangesNothing) {
  std::atomic<bool> allowed{false};
  const Seen seen = RunGuard(allowed, /*nice=*/0);
  ASSERT_TRUE(seen.nice_set);
  EXPECT_FALSE(seen.idle);
  EXPECT_EQ(seen.inside, SCHED_OTHER);
  EXPECT_EQ(seen.after, SCHED_OTHER);
}

TEST(IdleWhileCommittingTest, AReplyThatDoesNotWantItChangesNothing) {
  std::atomic<bool> allowed{true};
  int inside = -1;
  std::thread t([&] {
    const IdleWhileCommitting guard(allowed, /*wants=*/false);
    inside = ::sched_getscheduler(0);
  });
  t.join();
  EXPECT_EQ(inside, SCHED_OTHER);
}

// A caller that stays on its CPU never gets an idle commit; one that moved
// gets kIdleRepliesAfterAMove of them, then none until it moves again; the
// kernel's own requests (pid 0) never.
TEST(IdleCommitPolicyTest, IdleRepliesOnlyForAWhileAfterAMove) {
  auto policy = std::make_unique<IdleCommitPolicy>();
  auto one = [&](uint32_t pid, uint16_t qid) {
    policy->Begin(pid);
    return policy->Decide(pid, qid, /*read=*/false);
  };
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(one(42, 0)) << "reply " << i;
  int idle = 0;
  for (int i = 0; i < 1000; ++i) idle += one(42, 1) ? 1 : 0;
  EXPECT_EQ(idle, IdleCommitPolicy::kIdleRepliesAfterAMove);
  EXPECT_TRUE(one(42, 0)) << "a move back";
  EXPECT_FALSE(one(43, 1)) << "a caller never seen before has not moved";
  EXPECT_FALSE(one(0, 0));
  EXPECT_FALSE(one(0, 1));
}

// A caller with other requests in flight is not waiting for this reply
// alone: no idle commit, even right after a move.
TEST(IdleCommitPolicyTest, NoIdleReplyWhileTheCallerHasOthersInFlight) {
  auto policy = std::make_unique<IdleCommitPolicy>();
  policy->Begin(42);
  ASSERT_FALSE(policy->Decide(42, 0, false));
  policy->Begin(42);
  policy->Begin(42);
  EXPECT_FALSE(policy->Decide(42, 1, false)) << "moved, but another request is in flight";
  EXPECT_TRUE(policy->Decide(42, 1, false)) << "the last one in flight, after the move";
}

// A READ's reply is never committed as SCHED_IDLE, but a READ still counts
// as a move.
TEST(IdleCommitPolicyTest, NoIdleReplyToARead) {
  auto policy = std::make_unique<IdleCommitPolicy>();
  policy->Begin(42);
  ASSERT_FALSE(policy->Decide(42, 0, false));
  policy->Begin(42);
  EXPECT_FALSE(policy->Decide(42, 1, /*read=*/true)) << "a read after a move";
  policy->Begin(42);
  EXPECT_TRUE(policy->Decide(42, 1, false)) << "the next request after that move";
}

// A thread someone put under another policy is not the guard's to change:
// the answer is no, whatever the rights.
TEST(IdleWhileCommittingTest, NoRoundTripFromAnotherPolicy) {
  bool works = true;
  bool batch = false;
  std::thread t([&] {
    const sched_param param{};
    batch = ::sched_setscheduler(0, SCHED_BATCH, &param) == 0;
    works = IdlePolicyRoundTripWorks();
  });
  t.join();
  ASSERT_TRUE(batch);
  EXPECT_FALSE(works);
}

// Death-test children: each drops its rights and reports on stderr.
[[noreturn]] void ExitWith(const std::string& failure) {
  std::fprintf(stderr, "%s\n", failure.empty() ? "child ok" : failure.c_str());
  std::fflush(stderr);
  std::_Exit(failure.empty() ? 0 : 1);
}

// Drops CAP_SYS_NICE and sets RLIMIT_NICE to 0: from then on no thread of
// this process may leave SCHED_IDLE.
std::string DropTheWayBack() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_NICE, &none) != 0) return "setrlimit failed";
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capget, &header, data) != 0) return "capget failed";
  data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
  data[CAP_TO_INDEX(CAP_SYS_NICE)].permitted &= ~CAP_TO_MASK(CAP_SYS_NICE);
  if (::syscall(SYS_capset, &header, data) != 0) return "capset failed";
  return "";
}

std::string RoundTripRefusedWithoutTheRight() {
  if (std::string e = DropTheWayBack(); !e.empty()) return e;
  if (IdlePolicyRoundTripWorks()) return "the round trip claims to work without the right";
  return "";
}

// Once in SCHED_IDLE, losing the right makes Leave fail: the guard must turn
// itself off for everyone who shares `allowed`.
std::string RefusedLeaveTurnsTheGuardOff() {
  if (!IdlePolicyRoundTripWorks()) return "";  // nothing to test here
  std::atomic<bool> allowed{true};
  std::string failure;
  std::thread t([&] {
    IdleWhileCommitting guard(allowed, /*wants=*/true);
    if (!guard.idle()) {
      failure = "the guard did not go idle";
      return;
    }
    if (std::string e = DropTheWayBack(); !e.empty()) {
      failure = e;
      return;
    }
    guard.Leave();
    if (allowed.load()) failure = "a refused way back left the guard on";
    if (guard.idle()) failure = "the guard still claims the thread";
  });
  t.join();
  return failure;
}

TEST(IdleWhileCommittingDeathTest, WithoutTheRightToComeBackItIsNeverUsed) {
  EXPECT_EXIT(ExitWith(RoundTripRefusedWithoutTheRight()), ::testing::ExitedWithCode(0),
              "child ok");
}

TEST(IdleWhileCommittingDeathTest, ARefusedWayBackTurnsItOffForEveryone) {
  EXPECT_EXIT(ExitWith(RefusedLeaveTurnsTheGuardOff()), ::testing::ExitedWithCode(0), "child ok");
}

}  // namespace
}  // namespace hoodyfs::fusefs
