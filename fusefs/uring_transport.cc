#include "fusefs/uring_transport.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <sstream>

#include "base/log.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/block_device.h"
#include "fusefs/limits.h"

namespace hoodyfs::fusefs {
namespace {

// The kernel's side of the protocol (include/uapi/linux/fuse.h, 7.42+; the
// Debian 12 headers predate it).
constexpr uint32_t kCmdRegister = 1;        // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCmdCommitAndFetch = 2;  // FUSE_IO_URING_CMD_COMMIT_AND_FETCH
constexpr size_t kOpInBytes = 128;          // FUSE_URING_OP_IN_OUT_SZ
struct EntryInOut {                         // struct fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;  // the request's unique, to name it in the commit
  uint32_t payload_sz;
  uint32_t padding;
  uint64_t reserved;
};
struct RingHeader {  // struct fuse_uring_req_header
  char in_out[128];  // fuse_in_header of a request, fuse_out_header of a reply
  char op_in[kOpInBytes];
  EntryInOut ent;
};
static_assert(sizeof(RingHeader) == 288);
struct CmdReq {  // struct fuse_uring_cmd_req, in the SQE's command area
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
constexpr size_t kSqeCmdOffset = 48;  // io_uring_sqe::cmd of an SQE128
static_assert(kSqeCmdOffset + sizeof(CmdReq) <= 128);

// The payload buffer must hold the largest request or reply: the kernel
// refuses a registration smaller than max(8 KiB, max_write, max_pages pages).
constexpr size_t kPayloadBytes = kMaxWriteBytes;
// In front of the payload, room for a request's fuse_in_header and
// per-opcode struct, so the request is contiguous as /dev/fuse delivers it.
constexpr size_t kFrontBytes = 4096;
static_assert(kFrontBytes >= sizeof(fuse_in_header) + kOpInBytes);
// The payload starts aligned for O_DIRECT, so a READ's data can be read
// into it straight from the data file (ReplyRoom).
static_assert(kFrontBytes % blockstore::kIoAlign == 0);

constexpr char kEnableParameter[] = "/sys/module/fuse/parameters/enable_uring";

// The kernel makes one queue per possible CPU and takes none of them until
// every queue has an entry: a count too small would hold every request, so
// the list must be read, not guessed (0: unreadable). Queues are numbered by
// CPU id; a count too large only makes a registration fail, and the kernel
// then serves the connection through /dev/fuse.
unsigned PossibleCpus() {
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string ranges;
  unsigned highest = 0;
  bool any = false;
  if (std::getline(in, ranges)) {
    std::stringstream s(ranges);
    std::string part;
    while (std::getline(s, part, ',')) {
      const size_t dash = part.find('-');
      const std::string last = dash == std::string::npos ? part : part.substr(dash + 1);
      char* end = nullptr;
      const unsigned long v = std::strtoul(last.c_str(), &end, 10);
      if (end == last.c_str()) return 0;
      highest = std::max(highest, static_cast<unsigned>(v));
      any = true;
    }
  }
  return any ? highest + 1 : 0;
}

// liburing maps and unmaps a ring's queues with raw system calls, which
// ThreadSanitizer does not see: a ring mapped where a closed one was looks
// to it like memory two threads write unsynchronised. Making and closing
// rings under one mutex orders them (once per thread: no cost).
Mutex g_ring_lifetimes;

// A queue id no kernel has: a registration naming it fails, and a failed
// registration makes the kernel give up the rings for the connection.
constexpr uint16_t kNoSuchQueue = 0xffff;

}  // namespace

// One thread's ring and its one entry: a thread serves one request at a time.
struct UringTransport::Worker {
  UringTransport* owner = nullptr;
  unsigned qid = 0;
  bool pinned = false;                     // runs on its queue's CPU only
  io_uring ring{};                         // made, used and closed by its thread only
  bool ring_ready = false;                 // the thread's own
  blockstore::AlignedBuffer header_bytes;  // holds *header
  RingHeader* header = nullptr;
  blockstore::AlignedBuffer block;  // kFrontBytes, then the payload
  char* payload = nullptr;
  iovec iov[2]{};
  // The request being served: its unique, and whether TakeReply stored the
  // answer. A request with a payload (a name, a write's data) has its reply
  // staged in `reply` first: a handler may still read the request after
  // answering, and the reply would overwrite it.
  uint64_t unique = 0;
  bool replied = false;
  bool stage_reply = false;
  fuse_out_header staged_out{};
  std::vector<char> reply;
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> in_place{0};  // replies whose data was built in the payload
};

namespace {
thread_local UringTransport::Worker* t_serving = nullptr;
}  // namespace

bool UringTransport::KernelAllows() {
  std::ifstream in(kEnableParameter);
  std::string v;
  return static_cast<bool>(std::getline(in, v)) && v == "Y";
}

Status UringTransport::AllowInKernel() {
  const int fd = ::open(kEnableParameter, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, std::string("open ") + kEnableParameter);
  const ssize_t n = ::write(fd, "Y", 1);
  const int err = errno;
  ::close(fd);
  if (n != 1) return FromErrno(err, std::string("write Y to ") + kEnableParameter);
  return Status::OK();
}

Result<std::unique_ptr<UringTransport>> UringTransport::Create(
    fuse_session* se, unsigned threads_per_queue) noexcept {
  if (se == nullptr) return Status::NotSupported("FUSE over io_uring: no session");
  const unsigned queues = PossibleCpus();
  if (queues == 0) {
    return Status::NotSupported("FUSE over io_uring: /sys/devices/system/cpu/possible unreadable");
  }
  const unsigned per_queue =
      std::min(std::max(2u, threads_per_queue), kMaxRingThreadsPerSession / queues);
  if (per_queue < 2) {
    return Status::NotSupported("FUSE over io_uring: " + std::to_string(queues) +
                                " CPUs need more than " +
                                std::to_string(kMaxRingThreadsPerSession) + " ring threads");
  }
  try {
    std::unique_ptr<UringTransport> t(new UringTransport(se, queues, per_queue));
    for (unsigned q = 0; q < queues; ++q) {
      for (unsigned i = 0; i < per_queue; ++i) {
        t->workers_.push_back(std::make_unique<Worker>());
        t->workers_.back()->owner = t.get();
        t->workers_.back()->qid = q;
      }
    }
    // A thread that cannot start fails Create; the ones started are joined
    // by t's destructor (the gate says cancel).
    for (const std::unique_ptr<Worker>& w : t->workers_) {
      t->threads_.emplace_back([raw_t = t.get(), raw = w.get()] { raw_t->Run(raw); });
    }
    std::string failure;
    {
      MutexLock l(t->gate_mu_);
      while (t->made_ < t->workers_.size()) l.Wait(t->gate_cv_);
      failure = t->failure_;
    }
    if (!failure.empty()) return Status::NotSupported("FUSE over io_uring: " + failure);
    return t;
  } catch (const std::exception& e) {
    return Status::NotSupported(std::string("FUSE over io_uring: ") + e.what());
  }
}

UringTransport::UringTransport(fuse_session* se, unsigned queues, unsigned threads_per_queue)
    : se_(se),
      threads_per_queue_(threads_per_queue),
      commit_as_idle_(IdlePolicyRoundTripWorks()),
      notifying_(new std::atomic<unsigned>[queues]()) {}

UringTransport::~UringTransport() { Stop(); }

void UringTransport::Start() {
  {
    MutexLock l(gate_mu_);
    gate_ = Gate::kGo;
  }
  gate_cv_.notify_all();
}

void UringTransport::Stop() {
  {
    MutexLock l(gate_mu_);
    if (gate_ == Gate::kWait) gate_ = Gate::kCancel;
  }
  gate_cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void UringTransport::Run(Worker* w) {
  ::pthread_setname_np(::pthread_self(), "hoodyfs-uring");
  std::string failure;
  io_uring_params params{};
  params.flags = IORING_SETUP_SQE128;
  int rc;
  {
    MutexLock l(g_ring_lifetimes);
    rc = io_uring_queue_init_params(4, &w->ring, &params);
  }
  if (rc < 0) {
    failure = std::string("io_uring_setup: ") + std::strerror(-rc);
  } else {
    w->ring_ready = true;
    w->header_bytes = blockstore::AlignedBuffer(sizeof(RingHeader));
    w->header = new (w->header_bytes.data()) RingHeader{};
    // Not zeroed: the kernel fills the payload, Serve the front room.
    w->block = blockstore::AlignedBuffer::ForReading(kFrontBytes + kPayloadBytes);
    w->payload = reinterpret_cast<char*>(w->block.data()) + kFrontBytes;
    w->iov[0] = {w->header, sizeof(RingHeader)};
    w->iov[1] = {w->payload, kPayloadBytes};
  }
  bool go;
  {
    MutexLock l(gate_mu_);
    if (!failure.empty() && failure_.empty()) failure_ = failure;
    ++made_;
    gate_cv_.notify_all();
    while (gate_ == Gate::kWait && failure_.empty()) l.Wait(gate_cv_);
    go = gate_ == Gate::kGo && failure_.empty();
  }
  if (go) Serve(w);
  // Closed by the thread that made and used it (see the header).
  if (w->ring_ready) {
    MutexLock l(g_ring_lifetimes);
    io_uring_queue_exit(&w->ring);
  }
  w->ring_ready = false;
}

namespace {

// One of the workers' counters, summed over them all.
uint64_t Sum(const std::vector<std::unique_ptr<UringTransport::Worker>>& workers,
             std::atomic<uint64_t> UringTransport::Worker::*counter) {
  uint64_t n = 0;
  for (const std::unique_ptr<UringTransport::Worker>& w : workers) {
    n += ((*w).*counter).load(std::memory_order_relaxed);
  }
  return n;
}

}  // namespace

uint64_t UringTransport::requests_served() const { return Sum(workers_, &Worker::served); }

std::vector<uint64_t> UringTransport::requests_served_by_queue() const {
  std::vector<uint64_t> by_queue;
  for (const std::unique_ptr<Worker>& w : workers_) {
    if (by_queue.size() <= w->qid) by_queue.resize(w->qid + 1, 0);
    by_queue[w->qid] += w->served.load(std::memory_order_relaxed);
  }
  return by_queue;
}

uint64_t UringTransport::replies_in_place() const { return Sum(workers_, &Worker::in_place); }

char* UringTransport::ReplyRoom(size_t bytes) {
  Worker* w = t_serving;
  if (w == nullptr || w->stage_reply || w->replied || bytes > kPayloadBytes) return nullptr;
  return w->payload;
}

std::optional<bool> UringTransport::TryEnterNotification() {
  Worker* w = t_serving;
  if (w == nullptr) return std::nullopt;
  // A thread that could not be pinned sends its requests to whichever
  // queue its CPU of the moment has: no count can say that one stays free.
  if (!w->pinned) return false;
  std::atomic<unsigned>& n = w->owner->notifying_[w->qid];
  if (n.fetch_add(1) >= w->owner->threads_per_queue_ - 1) {
    n.fetch_sub(1);
    return false;
  }
  return true;
}

void UringTransport::LeaveNotification() {
  Worker* w = t_serving;
  if (w != nullptr) w->owner->notifying_[w->qid].fetch_sub(1);
}

namespace {

// Queues one command of `w`'s entry for queue `qid` (the entry's own, or
// kNoSuchQueue); false (logged) if the ring refused it even after retries.
// `idle`, when given, is left before any retry: retries and reports run
// under the thread's own policy.
bool Submit(UringTransport::Worker* w, int fuse_fd, uint32_t op, uint64_t commit_id, uint16_t qid,
            IdleWhileCommitting* idle = nullptr) {
  io_uring_sqe* sqe = io_uring_get_sqe(&w->ring);
  if (sqe == nullptr) {  // one command at a time in a ring of four: never
    Log(LogLevel::kError, "FUSE over io_uring: no free submission slot");
    return false;
  }
  std::memset(static_cast<void*>(sqe), 0, 128);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fuse_fd;
  sqe->cmd_op = op;
  if (op == kCmdRegister) {
    sqe->addr = reinterpret_cast<uint64_t>(w->iov);
    sqe->len = 2;
  }
  CmdReq req{};
  req.commit_id = commit_id;
  req.qid = qid;
  std::memcpy(reinterpret_cast<char*>(sqe) + kSqeCmdOffset, &req, sizeof req);
  sqe->user_data = qid;
  // Transient refusals (memory, a full completion queue) pass; anything
  // else is reported.
  for (int attempt = 0;; ++attempt) {
    const int rc = io_uring_submit(&w->ring);
    if (rc >= 0) return true;
    if (idle != nullptr) idle->Leave();
    if ((rc == -EINTR || rc == -EAGAIN || rc == -EBUSY || rc == -ENOMEM) && attempt < 1000) {
      if (rc != -EINTR) {
        const timespec pause{0, 1'000'000};
        ::nanosleep(&pause, nullptr);
      }
      continue;
    }
    Log(LogLevel::kError, std::string("FUSE over io_uring: submit: ") + std::strerror(-rc));
    return false;
  }
}

// The connection has ended: the kernel's answers to a parked or late command.
bool ConnectionEnded(int res) {
  return res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED || res == -ENODEV;
}

// Stores an error answer for the request in the entry.
void AnswerError(UringTransport::Worker* w, uint64_t unique, int err) {
  fuse_out_header out{};
  out.len = sizeof out;
  out.error = -err;
  out.unique = unique;
  std::memcpy(w->header->in_out, &out, sizeof out);
  w->header->ent.payload_sz = 0;
}

}  // namespace

void UringTransport::Serve(Worker* w) {
  // The kernel queues a request on the caller's CPU: serve it there.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(w->qid, &cpus);
  w->pinned = ::pthread_setaffinity_np(::pthread_self(), sizeof cpus, &cpus) == 0;

  const int fd = fuse_session_fd(se_);
  const uint16_t qid = static_cast<uint16_t>(w->qid);
  // Until this thread has served a request, its queue may have no other
  // entry, and the kernel holds every request until each queue has one: a
  // failure here must make the kernel give up the rings instead.
  bool serving = false;
  auto give_up = [&](const std::string& why) {
    Log(LogLevel::kError, "FUSE over io_uring: queue " + std::to_string(qid) + ": " + why +
                              (serving ? "; its requests wait for the queue's other threads"
                                       : "; the connection goes on through /dev/fuse"));
    if (!serving) (void)Submit(w, fd, kCmdRegister, 0, kNoSuchQueue);
  };
  if (!Submit(w, fd, kCmdRegister, 0, qid)) return give_up("the registration was not submitted");
  for (int busy_retries = 0;;) {
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe(&w->ring, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) return give_up(std::string("wait: ") + std::strerror(-rc));
    const int res = cqe->res;
    const uint16_t for_queue = static_cast<uint16_t>(cqe->user_data);
    io_uring_cqe_seen(&w->ring, cqe);
    if (for_queue == kNoSuchQueue) return;  // the refusal asked for: done
    if (res == -EAGAIN && !serving && busy_retries++ < 100) {
      // The kernel had not yet taken the INIT reply. It takes it before the
      // writev that sent it returns, so this is not expected; retry briefly.
      const timespec pause{0, 1'000'000};
      ::nanosleep(&pause, nullptr);
      if (!Submit(w, fd, kCmdRegister, 0, qid)) return give_up("a registration was not submitted");
      continue;
    }
    if (ConnectionEnded(res)) return;
    if (res < 0) {
      // A refused registration (the kernel gives up the rings after some
      // refusals, not all: give_up makes sure). A refused commit: its
      // request was ended with the error and the entry is gone; register a
      // new one.
      if (!serving) return give_up(std::string("registration refused: ") + std::strerror(-res));
      Log(LogLevel::kError, "FUSE over io_uring: queue " + std::to_string(qid) +
                                ": a reply was refused (" + std::strerror(-res) +
                                "); registering the entry again");
      if (!Submit(w, fd, kCmdRegister, 0, qid)) return give_up("a registration was not submitted");
      continue;
    }
    serving = true;

    // A request: lay it out as /dev/fuse would, in front of its payload.
    fuse_in_header in;
    std::memcpy(&in, w->header->in_out, sizeof in);
    idle_replies_.Begin(in.pid);
    const uint64_t commit_id = w->header->ent.commit_id;
    const uint32_t payload = w->header->ent.payload_sz;
    if (in.len < sizeof in + payload || in.len - sizeof in - payload > kOpInBytes ||
        payload > kPayloadBytes) {
      Log(LogLevel::kError, "FUSE over io_uring: request " + std::to_string(in.unique) +
                                " has a framing this daemon does not know (length " +
                                std::to_string(in.len) + ", payload " + std::to_string(payload) +
                                "): answered EIO");
      AnswerError(w, in.unique, EIO);
    } else {
      const size_t op_bytes = in.len - sizeof in - payload;
      char* start = w->payload - sizeof in - op_bytes;
      std::memcpy(start, &in, sizeof in);
      std::memcpy(start + sizeof in, w->header->op_in, op_bytes);
      fuse_buf buf{};
      buf.mem = start;
      buf.size = in.len;
      w->unique = in.unique;
      w->replied = false;
      w->stage_reply = payload > 0;
      t_serving = w;
      fuse_session_process_buf(se_, &buf);
      t_serving = nullptr;
      if (!w->replied) {
        Log(LogLevel::kError, "FUSE over io_uring: opcode " + std::to_string(in.opcode) +
                                  " was not answered on its thread: answered EIO");
        AnswerError(w, in.unique, EIO);
      } else if (w->stage_reply) {
        std::memcpy(w->header->in_out, &w->staged_out, sizeof w->staged_out);
        if (!w->reply.empty()) std::memcpy(w->payload, w->reply.data(), w->reply.size());
        w->header->ent.payload_sz = static_cast<uint32_t>(w->reply.size());
      }
      w->served.fetch_add(1, std::memory_order_relaxed);
    }
    // The commit wakes the caller; under SCHED_IDLE it stays on this CPU.
    IdleWhileCommitting idle(commit_as_idle_,
                             idle_replies_.Decide(in.pid, qid, in.opcode == FUSE_READ));
    if (!Submit(w, fd, kCmdCommitAndFetch, commit_id, qid, &idle)) {
      return give_up("the reply to request " + std::to_string(in.unique) +
                     " was not submitted (its caller waits until the connection ends)");
    }
  }
}

bool UringTransport::TakeReply(const iovec* iov, int count, ssize_t* written) {
  Worker* w = t_serving;
  if (w == nullptr || count < 1 || iov[0].iov_len != sizeof(fuse_out_header)) return false;
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != w->unique || w->replied) return false;
  size_t bytes = 0;
  for (int i = 1; i < count; ++i) bytes += iov[i].iov_len;
  if (bytes > kPayloadBytes) {
    // Larger than any request the kernel may send: refuse it as /dev/fuse would.
    Log(LogLevel::kError, "FUSE over io_uring: a reply of " + std::to_string(bytes) +
                              " bytes does not fit its entry: answered EIO");
    *written = -1;
    errno = EINVAL;
    return true;
  }
  char* to = w->payload;
  if (w->stage_reply) {
    try {
      w->reply.resize(bytes);
    } catch (const std::bad_alloc&) {
      *written = -1;  // left unanswered: Serve answers EIO
      errno = ENOMEM;
      return true;
    }
    w->staged_out = out;
    to = w->reply.data();
  } else {
    std::memcpy(w->header->in_out, &out, sizeof out);
    w->header->ent.payload_sz = static_cast<uint32_t>(bytes);
  }
  // Data a handler built in the payload (ReplyRoom) is already where the
  // kernel reads it; anything else is copied there. memmove: a reply of one
  // data iovec may also lie elsewhere in the payload, overlapping where it
  // goes (ReplyRoom's one user sends one iovec, from the payload's start).
  bool in_place = bytes > 0;
  for (int i = 1; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;  // its base may be null
    if (iov[i].iov_base != to) {
      std::memmove(to, iov[i].iov_base, iov[i].iov_len);
      in_place = false;
    }
    to += iov[i].iov_len;
  }
  if (in_place && !w->stage_reply) w->in_place.fetch_add(1, std::memory_order_relaxed);
  w->replied = true;
  *written = static_cast<ssize_t>(sizeof out + bytes);
  return true;
}

}  // namespace hoodyfs::fusefs
