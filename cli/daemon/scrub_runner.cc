#include "cli/daemon/scrub_runner.h"

#include "base/log.h"

namespace hoodyfs::cli {

ScrubRunner::~ScrubRunner() {
  cancel_.store(true);
  std::thread t;
  {
    MutexLock l(mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

Result<ScrubStatus> ScrubRunner::Start(const ScrubRequest& request) {
  MutexLock l(mu_);
  if (started_ && status_.state == "running") {
    return Status::Busy("a scrub is already running (started " + status_.started + ", " +
                        std::to_string(status_.blocks_checked) + " of " +
                        std::to_string(status_.blocks_total) +
                        " blocks checked): GET /api/v1/scrub follows it");
  }
  // The previous scrub's thread has finished its work: collect it.
  if (thread_.joinable()) thread_.join();
  started_ = true;
  status_ = ScrubStatus{};
  cancel_.store(false);
  thread_ = std::thread([this, request] { Work(request); });
  return status_;
}

void ScrubRunner::Work(ScrubRequest request) {
  Log(LogLevel::kInfo, "serve: scrub started");
  Result<ScrubStatus> done = RunScrub(
      snap_, request,
      [this](const ScrubStatus& progress) {
        MutexLock l(mu_);
        status_ = progress;
      },
      &cancel_);
  MutexLock l(mu_);
  if (done.ok()) {
    status_ = *std::move(done);
  } else {
    status_.state = "failed";
    status_.error = done.status().ToString();
  }
  Log(status_.blocks_damaged > 0 ? LogLevel::kError : LogLevel::kInfo,
      "serve: scrub " + status_.state + ": " + std::to_string(status_.blocks_checked) +
          " blocks checked, " + std::to_string(status_.blocks_damaged) + " damaged" +
          (status_.error.empty() ? "" : ": " + status_.error));
}

Result<ScrubStatus> ScrubRunner::Current() {
  MutexLock l(mu_);
  if (!started_) return Status::NotFound("no scrub has run since the daemon started");
  return status_;
}

Status ScrubRunner::Cancel() {
  MutexLock l(mu_);
  if (!started_ || status_.state != "running") return Status::NotFound("no scrub is running");
  cancel_.store(true);
  return Status::OK();
}

Result<BlockRepairReply> ScrubRunner::RepairBlock(uint64_t block,
                                                  std::span<const std::byte> bytes) {
  const std::string name = "block " + std::to_string(block);
  if (bytes.size() != kBlockSize) {
    return Status::InvalidArgument(name + ": " + std::to_string(bytes.size()) +
                                   " bytes offered, not one block of " +
                                   std::to_string(kBlockSize));
  }
  Result<snapshotter::BlockRepairResult> r =
      snapshotter::BlockRepairer(snap_.store()).RepairToRecord(BlockNo(block), bytes);
  if (!r.ok()) {
    Log(LogLevel::kError,
        "serve: repair of " + name + " refused or failed: " + r.status().ToString());
    return r.status();
  }
  {
    MutexLock l(mu_);
    NoteRepair(block, *r);
  }
  BlockRepairReply reply;
  reply.block = block;
  reply.result = *r;
  Log(LogLevel::kInfo, "serve: repair of " + name + ": " + snapshotter::BlockRepairResultName(*r));
  return reply;
}

void ScrubRunner::NoteRepair(uint64_t block, snapshotter::BlockRepairResult result) {
  if (!started_ || status_.state == "running") return;
  for (ScrubBlock& b : status_.damaged) {
    if (b.block != block) continue;
    RecordRepair(result, "a client's PUT /api/v1/scrub/blocks/" + std::to_string(block), b,
                 status_);
  }
}

size_t ScrubRunner::running() {
  MutexLock l(mu_);
  return started_ && status_.state == "running" ? 1 : 0;
}

}  // namespace hoodyfs::cli
