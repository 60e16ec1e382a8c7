// RunBatch: the io_uring engine behind UringDevice::Execute, run on a ring
// the calling thread has borrowed.
//
// It keeps up to queue_depth ops in flight and refills as completions arrive,
// so a batch longer than the queue runs in depth-sized waves without ever
// overfilling the SQ or CQ. Every SQE carries user_data (its slot); each wave
// is reaped with io_uring_for_each_cqe and one io_uring_cq_advance. Short
// transfers resume where they stopped; -EAGAIN and -EINTR are resubmitted.
//
// Thread-safety: the ring must be used by one thread only (a pool lease).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "blockstore/block_device.h"
#include "blockstore/ring.h"

namespace hoodyfs::blockstore {

// Runs the ops whose `result` is OK and leaves the others (ops that failed
// validation) alone. On return every op has its final result and the kernel
// holds no reference to any op's buffer. If the ring cannot submit any more,
// the remaining ops fail with the submission error and the ring is marked
// broken (its owner must replace it).
void RunBatch(Ring& ring, std::span<IoOp> ops);

// RunBatch in two halves, for a batch the caller overlaps with other work:
// Begin() prepares and submits the first wave without waiting; Run()
// waits for it and runs the rest, with RunBatch's guarantees on return.
// Run() alone is RunBatch. The ring and the ops must outlive the run, and
// Run() must be called before either goes (UringDevice's started batch
// does it in its destructor).
class BatchRun {
 public:
  BatchRun(Ring& ring, std::span<IoOp> ops);
  BatchRun(const BatchRun&) = delete;
  BatchRun& operator=(const BatchRun&) = delete;

  void Begin();
  void Run();

 private:
  void Fill();
  bool NextOp();
  bool SubmitAndWait();
  bool WaitForCompletion();
  void Reap();
  void Complete(uint32_t slot, int res);
  void Requeue(uint32_t slot);
  void Finish(uint32_t slot, Status result);
  void Abandon();

  Ring& ring_;
  Ring::SlotTable& table_;
  std::span<IoOp> ops_;
  size_t next_op_ = 0;        // ops before this have been started or skipped
  unsigned in_flight_ = 0;    // slots prepared or submitted, not yet completed
  unsigned unsubmitted_ = 0;  // of those, prepared but not taken by the kernel
  Status fatal_;              // why the ring stopped, once it has
};

}  // namespace hoodyfs::blockstore
