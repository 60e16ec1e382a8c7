#include "blockstore/ring.h"

#include <string>

#include "base/assert.h"

namespace hoodyfs::blockstore {

Ring::Ring(int fd, int direct_read_fd, unsigned queue_depth)
    : fd_(fd), direct_read_fd_(direct_read_fd), queue_depth_(queue_depth) {
  table_.slots.resize(queue_depth);
  table_.free.reserve(queue_depth);
  table_.ready.reserve(queue_depth);
  ResetSlots();
}

Result<std::unique_ptr<Ring>> Ring::Create(int fd, int direct_read_fd, unsigned queue_depth) {
  std::unique_ptr<Ring> ring(new Ring(fd, direct_read_fd, queue_depth));
  const int rc = io_uring_queue_init(queue_depth, &ring->ring_, 0);
  if (rc < 0) return FromErrno(-rc, "io_uring_queue_init(" + std::to_string(queue_depth) + ")");
  ring->initialized_ = true;
  // A fixed file saves the kernel an fd lookup and reference per op; plain
  // descriptors work everywhere, so a refusal is not an error.
  const int files[2] = {fd, direct_read_fd};
  ring->fixed_file_ =
      io_uring_register_files(&ring->ring_, files, direct_read_fd >= 0 ? 2 : 1) == 0;
  return ring;
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

void Ring::Prepare(const IoOp& op, uint32_t done_bytes, uint32_t slot) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  HOODY_ASSERT(sqe != nullptr, "io_uring SQ full: more ops prepared than the queue depth");
  // Chosen by the op's whole length, so a requeued remainder stays on the
  // same descriptor.
  const bool direct =
      direct_read_fd_ >= 0 && op.kind == IoKind::kRead && op.length_bytes >= kDirectReadMinBytes;
  const int file = fixed_file_ ? (direct ? 1 : 0) : (direct ? direct_read_fd_ : fd_);
  void* buffer = static_cast<char*>(op.buffer) + done_bytes;
  const unsigned length = op.length_bytes - done_bytes;
  const uint64_t offset = op.offset_bytes + done_bytes;
  if (op.kind == IoKind::kRead) {
    io_uring_prep_read(sqe, file, buffer, length, offset);
  } else {
    io_uring_prep_write(sqe, file, buffer, length, offset);
  }
  if (fixed_file_) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, slot);
}

void Ring::ResetSlots() {
  table_.free.clear();
  table_.ready.clear();
  // Pushed in reverse so slot 0 is handed out first: easier to read in traces.
  for (uint32_t i = queue_depth_; i-- > 0;) {
    table_.slots[i] = Slot{};
    table_.free.push_back(i);
  }
}

}  // namespace hoodyfs::blockstore
