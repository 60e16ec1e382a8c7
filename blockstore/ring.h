// Ring: one io_uring instance bound to the data file, plus the per-op state
// of the ops it has in flight (a slot table sized to its queue depth, so a
// batch of any length needs no allocation).
//
// Internal to blockstore: the only header that includes liburing.h.
//
// Ownership: owns the io_uring (io_uring_queue_exit in the destructor); the
// data file descriptor is borrowed and must outlive the ring. Non-copyable
// and non-movable: liburing keeps pointers into the mapped rings.
// Thread-safety: none; a RingPool lends each ring to one thread at a time.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "blockstore/block_device.h"

namespace hoodyfs::blockstore {

// Reads this large go to the O_DIRECT descriptor when the device has one: a
// large read is bound by copies (the page cache's into ours, ours into the
// FUSE reply) on a machine with few cores, and O_DIRECT saves the first.
// Small reads stay buffered: they hit the host's page cache of what was
// just written. (docs/blockstore.md, "Buffered or O_DIRECT".)
inline constexpr uint32_t kDirectReadMinBytes = 64 * 1024;

class Ring {
 public:
  // The state of one op in flight; user_data of its SQE is the slot index.
  struct Slot {
    uint32_t op_index = 0;    // index into the batch being run
    uint32_t done_bytes = 0;  // transferred so far; a requeue resumes here
    bool busy = false;        // holds an op of the current batch
  };

  // Sets up a ring of `queue_depth` SQEs (the CQ gets twice as many, so it
  // cannot overflow while at most queue_depth ops are in flight) and
  // registers `fd` as fixed file 0 (and `direct_read_fd`, when not -1, as
  // fixed file 1) when the kernel allows. Reads of at least
  // kDirectReadMinBytes go to `direct_read_fd` when there is one.
  // Errors: what FromErrno maps for io_uring_queue_init (kNotSupported,
  // kPermission, kIoError for ENOSYS, ...).
  static Result<std::unique_ptr<Ring>> Create(int fd, int direct_read_fd, unsigned queue_depth);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  unsigned queue_depth() const { return queue_depth_; }
  bool fixed_file() const { return fixed_file_; }
  io_uring* get() { return &ring_; }

  // Fills an SQE for the rest of `op` after `done_bytes`, tagged with `slot`.
  // REQUIRES: fewer than queue_depth() SQEs prepared and not yet submitted.
  void Prepare(const IoOp& op, uint32_t done_bytes, uint32_t slot);

  // Pre-allocated per-op state. Every slot is in exactly one of: `free`,
  // `ready` (its op waits to be submitted or resubmitted), or in flight.
  struct SlotTable {
    std::vector<Slot> slots;      // queue_depth() entries
    std::vector<uint32_t> free;   // capacity queue_depth(): pushes never allocate
    std::vector<uint32_t> ready;  // capacity queue_depth()
  };
  SlotTable& slot_table() { return table_; }
  // Marks every slot free for a new batch.
  void ResetSlots();

  // A ring whose submission failed for good may hold SQEs it can no longer
  // hand to the kernel; the pool replaces it rather than lend it again.
  bool broken() const { return broken_; }
  void MarkBroken() { broken_ = true; }

 private:
  Ring(int fd, int direct_read_fd, unsigned queue_depth);

  io_uring ring_{};
  bool initialized_ = false;  // io_uring_queue_init succeeded
  const int fd_;
  const int direct_read_fd_;  // -1: every op goes to fd_
  const unsigned queue_depth_;
  bool fixed_file_ = false;
  bool broken_ = false;
  SlotTable table_;
};

}  // namespace hoodyfs::blockstore
