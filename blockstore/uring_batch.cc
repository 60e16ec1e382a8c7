#include "blockstore/uring_batch.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>

#include "base/assert.h"
#include "blockstore/cqe_res.h"

namespace hoodyfs::blockstore {
namespace {

// Submissions refused with -EAGAIN/-EBUSY while nothing is in flight (so no
// completion will free kernel resources) are retried this many times.
constexpr unsigned kMaxIdleSubmitRetries = 64;

}  // namespace

BatchRun::BatchRun(Ring& ring, std::span<IoOp> ops)
    : ring_(ring), table_(ring.slot_table()), ops_(ops) {
  ring_.ResetSlots();
}

void BatchRun::Begin() {
  Fill();
  if (in_flight_ == 0) return;
  // One submission without waiting. A refusal is left for Run, which
  // retries it and fails the ops if the ring cannot submit at all.
  const int rc = io_uring_submit(ring_.get());
  if (rc > 0) unsubmitted_ -= std::min<unsigned>(static_cast<unsigned>(rc), unsubmitted_);
}

void BatchRun::Run() {
  while (true) {
    Fill();
    if (in_flight_ == 0) return;
    if (!SubmitAndWait()) return Abandon();
    Reap();
  }
}

// Prepares SQEs for waiting resubmissions first, then for new ops, until
// the queue depth is reached or nothing is left.
void BatchRun::Fill() {
  while (in_flight_ < ring_.queue_depth()) {
    uint32_t slot;
    if (!table_.ready.empty()) {
      slot = table_.ready.back();
      table_.ready.pop_back();
    } else if (NextOp()) {
      slot = table_.free.back();
      table_.free.pop_back();
      table_.slots[slot] = Ring::Slot{static_cast<uint32_t>(next_op_++), 0, true};
    } else {
      return;
    }
    const Ring::Slot& s = table_.slots[slot];
    ring_.Prepare(ops_[s.op_index], s.done_bytes, slot);
    ++in_flight_;
    ++unsubmitted_;
  }
}

// Advances next_op_ to the next op still to run; false when none is left.
bool BatchRun::NextOp() {
  while (next_op_ < ops_.size() && !ops_[next_op_].result.ok()) ++next_op_;
  return next_op_ < ops_.size();
}

// Submits what Fill prepared and waits for at least one completion.
// False when the ring cannot submit any more (fatal_ says why).
bool BatchRun::SubmitAndWait() {
  for (unsigned idle_retries = 0;;) {
    const int rc = io_uring_submit_and_wait(ring_.get(), 1);
    if (rc >= 0) {
      unsubmitted_ -= std::min<unsigned>(static_cast<unsigned>(rc), unsubmitted_);
      return true;
    }
    if (rc == -EINTR) continue;
    if (rc == -EAGAIN || rc == -EBUSY) {
      // The kernel is short of resources; completions of ops already in
      // flight release some, so wait for one of those and reap it.
      if (in_flight_ > unsubmitted_) return WaitForCompletion();
      if (++idle_retries <= kMaxIdleSubmitRetries) {
        sched_yield();
        continue;
      }
    }
    fatal_ = FromCqeRes(rc, "io_uring_submit_and_wait");
    return false;
  }
}

bool BatchRun::WaitForCompletion() {
  io_uring_cqe* cqe = nullptr;
  int rc;
  do {
    rc = io_uring_wait_cqe(ring_.get(), &cqe);
  } while (rc == -EINTR);
  if (rc == 0) return true;
  fatal_ = FromCqeRes(rc, "io_uring_wait_cqe");
  return false;
}

// Consumes every completion now in the CQ with one head advance.
void BatchRun::Reap() {
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    Complete(static_cast<uint32_t>(io_uring_cqe_get_data64(cqe)), cqe->res);
    ++seen;
  }
  io_uring_cq_advance(ring_.get(), seen);
  HOODY_ASSERT(seen <= in_flight_, "more io_uring completions than ops in flight");
  in_flight_ -= seen;
}

void BatchRun::Complete(uint32_t slot, int res) {
  HOODY_ASSERT(slot < table_.slots.size() && table_.slots[slot].busy,
               "io_uring completion for a slot with no op");
  Ring::Slot& s = table_.slots[slot];
  IoOp& op = ops_[s.op_index];
  if (res == -EAGAIN || res == -EINTR) return Requeue(slot);
  if (res < 0) return Finish(slot, FromCqeRes(res, "io_uring " + DescribeOp(op)));
  // A zero-byte transfer would be resubmitted forever: reads hit the end of
  // the file (someone truncated it), writes made no progress.
  if (res == 0) {
    return Finish(slot, Status::IoError("io_uring " + DescribeOp(op) + ": no progress"));
  }
  HOODY_ASSERT(static_cast<uint32_t>(res) <= op.length_bytes - s.done_bytes,
               "io_uring transferred more bytes than asked");
  s.done_bytes += static_cast<uint32_t>(res);
  if (s.done_bytes < op.length_bytes) return Requeue(slot);
  Finish(slot, Status::OK());
}

void BatchRun::Requeue(uint32_t slot) {
  if (!fatal_.ok()) return Finish(slot, fatal_);
  table_.ready.push_back(slot);
}

void BatchRun::Finish(uint32_t slot, Status result) {
  Ring::Slot& s = table_.slots[slot];
  ops_[s.op_index].result = std::move(result);
  s.busy = false;
  table_.free.push_back(slot);
}

// The ring cannot submit: wait until the kernel is done with every buffer
// it was given, then fail whatever did not complete. Returning earlier
// would let the kernel write into memory the caller may free.
void BatchRun::Abandon() {
  ring_.MarkBroken();
  while (in_flight_ > unsubmitted_) {
    const bool completed = WaitForCompletion();
    HOODY_ASSERT(completed, "cannot reap in-flight io_uring ops: the kernel still owns buffers");
    Reap();
  }
  for (Ring::Slot& s : table_.slots) {
    if (s.busy) ops_[s.op_index].result = fatal_;
  }
  while (NextOp()) ops_[next_op_++].result = fatal_;
}

void RunBatch(Ring& ring, std::span<IoOp> ops) { BatchRun(ring, ops).Run(); }

}  // namespace hoodyfs::blockstore
