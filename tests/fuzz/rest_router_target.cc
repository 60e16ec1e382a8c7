// The REST router's fuzz target (fuzz_targets.h): path decoding and routing
// of one request, over services that answer from their arguments.
#include <cctype>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api/http.h"
#include "cli/daemon/http/api_router.h"
#include "cli/daemon/http/url.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

using cli::BisectReport;
using cli::BisectRequest;
using cli::BisectStep;
using cli::MountInfo;
using cli::MountRequest;
using snapshotter::ContainerInfo;
using snapshotter::SnapshotInfo;

// Answers every verb from its arguments, so the router's encoding of what
// comes back sees the request's own (hostile) names.
class StubApi final : public cli::SnapshotApi {
 public:
  Result<ContainerInfo> CreateContainer(const std::string& name) override {
    ContainerInfo c;
    c.name = name;
    return c;
  }
  Result<std::vector<ContainerInfo>> ListContainers() override {
    return std::vector<ContainerInfo>(1);
  }
  Status DeleteContainer(const std::string& name) override {
    return Status::NotFound("no container " + name);
  }
  Result<ContainerInfo> CopyContainer(const std::string& container, const std::string& snapshot,
                                      const std::string& new_name,
                                      const std::string& project) override {
    ContainerInfo c;
    c.name = new_name;
    c.origin = container + "@" + snapshot;
    c.project = project;
    return c;
  }
  Result<SnapshotInfo> CreateSnapshot(const std::string& container,
                                      const snapshotter::CreateSnapshotRequest& r) override {
    SnapshotInfo s;
    s.container = container;
    s.name = "snap-1";
    s.alias = r.alias;
    s.expires_ns = r.expiry_days.value_or(0);
    return s;
  }
  Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& container) override {
    return std::vector<SnapshotInfo>{*GetSnapshot(container, "snap-1")};
  }
  Result<snapshotter::SnapshotPage> ListSnapshotPage(const std::string& container,
                                                     const snapshotter::ListPage&) override {
    return snapshotter::SnapshotPage{*ListSnapshots(container), std::nullopt};
  }
  Result<SnapshotInfo> GetSnapshot(const std::string& container, const std::string& name) override {
    SnapshotInfo s;
    s.container = container;
    s.name = name;
    return s;
  }
  Result<uint64_t> ExclusiveBytes(const std::string&, const std::string&) override { return 0; }
  Result<SnapshotInfo> SetSnapshot(const std::string& container, const std::string& name,
                                   const snapshotter::SetSnapshotRequest&) override {
    return GetSnapshot(container, name);
  }
  Result<snapshotter::RestoreResult> Restore(const std::string& container, const std::string& name,
                                             const snapshotter::RestoreRequest&) override {
    snapshotter::RestoreResult r;
    r.saved_head = *GetSnapshot(container, name);
    return r;
  }
  Status DeleteSnapshot(const std::string& container, const std::string& name) override {
    return Status::Busy(container + "@" + name + " is in use");
  }
  Result<snapshotter::DiffResult> Diff(const std::string&, const std::string& from,
                                       const std::string& to) override {
    snapshotter::DiffResult d;
    snapshotter::Change c;
    c.path = from;
    c.new_path = to;
    c.kind = snapshotter::ChangeKind::kRenamed;
    d.changes.push_back(c);
    return d;
  }
  Result<snapshotter::GcStats> CollectGarbage() override { return snapshotter::GcStats(); }
  Result<snapshotter::SendStats> Send(const snapshotter::SendRequest&, int) override {
    return snapshotter::SendStats();
  }
  Result<snapshotter::ReceiveStats> Receive(const std::string&, int) override {
    return Status::NotSupported("no receive in the stub");
  }
};

class StubMounts final : public cli::MountService {
 public:
  Result<MountInfo> Mount(const MountRequest& r) override {
    return MountInfo{r.mountpoint, r.container, r.snapshot, !r.snapshot.empty()};
  }
  Status Unmount(const std::string& mountpoint) override {
    return Status::NotFound("nothing mounted at " + mountpoint);
  }
  Result<MountInfo> Remount(const std::string& mountpoint,
                            const std::vector<std::string>&) override {
    return Status::NotFound("nothing mounted at " + mountpoint);
  }
  std::vector<MountInfo> List() override { return {}; }
};

class StubBisects final : public cli::BisectService {
 public:
  Result<BisectReport> Run(const BisectRequest& r) override {
    BisectReport report;
    report.first_bad = r.bad;
    report.last_good = r.good;
    report.candidates = {r.good, r.bad};
    report.steps.push_back(BisectStep{r.bad, 1, "bad", r.id});
    return report;
  }
  Status Cancel(const std::string& id) override { return Status::NotFound("no bisect " + id); }
  Result<std::vector<BisectStep>> Progress(const std::string&) override {
    return std::vector<BisectStep>{};
  }
};

// Every byte but the unreserved ones as %XX: what a careful client sends.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Takes the text up to the next '\n' (or the end) off the front of `rest`.
std::string_view TakeLine(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

void CheckPath(std::string_view raw_path) {
  Result<std::vector<std::string>> segments = cli::SplitApiPath(raw_path);
  if (!segments.ok()) {
    FUZZ_CHECK(segments.status().code() == Code::kInvalidArgument, segments.status().ToString());
    return;
  }
  std::string again;
  for (const std::string& s : *segments) {
    FUZZ_CHECK(!s.empty(), "an empty segment");
    FUZZ_CHECK(s.find('/') == std::string::npos && s.find('\0') == std::string::npos,
               "a segment holding '/' or NUL: " + s);
    again += "/" + PercentEncode(s);
  }
  Result<std::vector<std::string>> split_again = cli::SplitApiPath(again);
  FUZZ_CHECK(split_again.ok(), "re-encoded path refused: " + again);
  FUZZ_CHECK(*split_again == *segments, "re-encoded path splits differently: " + again);
}

}  // namespace

void RestRouter(std::string_view input) {
  static constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (input.empty()) return;
  cli::HttpRequest request;
  request.method = kMethods[static_cast<unsigned char>(input[0]) % std::size(kMethods)];
  std::string_view rest = input.substr(1);
  request.path = std::string(TakeLine(rest));
  std::string_view query = TakeLine(rest);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    request.query[std::string(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  request.body = std::string(rest);

  CheckPath(request.path);

  StubApi api;
  StubMounts mounts;
  StubBisects bisects;
  cli::ApiRouter router(api, &mounts, &bisects);
  const cli::HttpResponse response = router.Handle(request);
  FUZZ_CHECK(response.status >= 200 && response.status <= 599,
             "HTTP status " + std::to_string(response.status));
  FUZZ_CHECK(response.body.empty() || nlohmann::json::accept(response.body),
             "a response body that is not JSON: " + response.body);
}

}  // namespace hoodyfs::fuzz
