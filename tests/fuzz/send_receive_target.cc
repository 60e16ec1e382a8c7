// The send-stream receive fuzz target (fuzz_targets.h): records from the
// input, framed and checksummed here (so the fuzzer reaches what lies
// behind the checksums), received into a new container of a scratch store.
//
// Input: records one after another, each kind u8, payload length u32 LE,
// payload; a trailer is appended. A stream header is put in front.
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "base/coding.h"
#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/transfer/send_stream.h"
#include "snapshotter/transfer/send_stream_format.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

using snapshotter::Snapshotter;

constexpr int kInputsPerStore = 8;

struct Scratch {
  std::optional<testing::TempDir> dir;
  std::unique_ptr<Snapshotter> snap;
  int inputs = 0;
};

void OpenScratch(Scratch& s) {
  s.snap.reset();
  s.dir.reset();
  Result<testing::TempDir> dir = testing::TempDir::CreateInMemory();
  FUZZ_CHECK(dir.ok(), dir.status().ToString());
  s.dir.emplace(std::move(dir).value());
  const std::string path = s.dir->File("store");
  Status init = snapshotter::Store::Init(path);
  FUZZ_CHECK(init.ok(), init.ToString());
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 0;
  options.reserve_bytes = 1 << 20;
  auto opened = Snapshotter::Open(path, std::move(options));
  FUZZ_CHECK(opened.ok(), opened.status().ToString());
  s.snap = std::move(opened).value();
  s.inputs = 0;
}

UniqueFd MemFile(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  FUZZ_CHECK(fd.valid(), "memfd_create");
  return fd;
}

// The input's records as a framed stream in a memfd, positioned at 0.
UniqueFd Framed(std::string_view input) {
  UniqueFd fd = MemFile("hoodyfs-fuzz-stream");
  {
    snapshotter::stream::StreamWriter w(fd.get());
    Decoder d(input);
    while (!d.done()) {
      const uint8_t kind = d.Byte();
      const uint32_t len = d.Le32();
      if (!d.ok() || len > snapshotter::stream::kMaxPayloadBytes) break;
      const std::string_view payload = d.Bytes(len);
      if (!d.ok()) break;
      FUZZ_CHECK(w.PutRaw(kind, payload).ok(), "write to memfd");
    }
    FUZZ_CHECK(w.End().ok(), "write to memfd");
  }
  FUZZ_CHECK(::lseek(fd.get(), 0, SEEK_SET) == 0, "lseek memfd");
  return fd;
}

}  // namespace

void SendReceive(std::string_view input) {
  static Scratch scratch;
  if (scratch.snap == nullptr || scratch.inputs >= kInputsPerStore) OpenScratch(scratch);
  const std::string name = "c" + std::to_string(scratch.inputs++);
  const size_t before = scratch.snap->ListContainers().size();
  UniqueFd in = Framed(input);
  auto received = snapshotter::ReceiveSnapshot(*scratch.snap, name, in.get());
  Status fsck = scratch.snap->store().CheckInvariants();
  FUZZ_CHECK(fsck.ok(),
             "after a receive (" + received.status().ToString() + "): " + fsck.ToString());
  const size_t after = scratch.snap->ListContainers().size();
  if (!received.ok()) {
    FUZZ_CHECK(after == before,
               "a refused stream left a container: " + received.status().ToString());
    return;
  }
  FUZZ_CHECK(after == before + 1, "a received stream did not make one container");
  // What was received sends, and that stream is received again.
  UniqueFd out = MemFile("hoodyfs-fuzz-resend");
  auto sent = snapshotter::SendSnapshot(
      *scratch.snap, snapshotter::SendRequest{name, received->snapshot.name, ""}, out.get());
  FUZZ_CHECK(sent.ok(), "a received snapshot does not send: " + sent.status().ToString());
  FUZZ_CHECK(::lseek(out.get(), 0, SEEK_SET) == 0, "lseek memfd");
  auto again = snapshotter::ReceiveSnapshot(*scratch.snap, name + "-again", out.get());
  FUZZ_CHECK(again.ok(), "a re-sent snapshot does not receive: " + again.status().ToString());
  FUZZ_CHECK(again->nodes == sent->nodes, "a re-sent snapshot changed its inode count");
  fsck = scratch.snap->store().CheckInvariants();
  FUZZ_CHECK(fsck.ok(), "after the round trip: " + fsck.ToString());
}

}  // namespace hoodyfs::fuzz
