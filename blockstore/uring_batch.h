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

}  // namespace hoodyfs::blockstore
