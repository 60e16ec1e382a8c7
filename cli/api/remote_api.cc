#include "cli/api/remote_api.h"

#include "cli/api/json_codec.h"
#include "cli/api/rest_errors.h"

namespace hoodyfs::cli {

using nlohmann::json;
using namespace snapshotter;  // NOLINT(google-build-using-namespace): the verbs' value types

namespace {
std::string ContainerPath(const std::string& c) { return "/api/v1/containers/" + UrlEncode(c); }
std::string SnapshotPath(const std::string& c, const std::string& n) {
  return ContainerPath(c) + "/snapshots/" + UrlEncode(n);
}

template <class T, class Decode>
Result<std::vector<T>> DecodeArray(const json& j, Decode decode) {
  if (!j.is_array()) return Status::IoError("the daemon answered with no JSON array");
  std::vector<T> out;
  for (const json& e : j) {
    HOODY_ASSIGN_OR_RETURN(T v, decode(e));
    out.push_back(std::move(v));
  }
  return out;
}

Result<MountInfo> MountFromJson(const json& j) {
  if (!j.is_object() || !j.contains("mountpoint") || !j["mountpoint"].is_string()) {
    return Status::IoError("the daemon answered with no mount");
  }
  MountInfo m;
  m.mountpoint = j["mountpoint"].get<std::string>();
  m.container = j.value("container", "");
  if (j.contains("snapshot") && j["snapshot"].is_string()) m.snapshot = j["snapshot"];
  m.read_only = j.value("read_only", false);
  return m;
}
}  // namespace

Result<json> RemoteApi::Call(const std::string& method, const std::string& target,
                             const json& body) const {
  HOODY_ASSIGN_OR_RETURN(HttpResponse r,
                         client_.Send(method, target, body.is_null() ? "" : body.dump()));
  if (r.status < 200 || r.status >= 300) return StatusFromResponse(r);
  if (r.body.empty()) return json(nullptr);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return Status::IoError("the daemon answered with malformed JSON");
  return j;
}

bool RemoteApi::Ping() const { return Call("GET", "/api/v1/ping").ok(); }

Result<ContainerInfo> RemoteApi::CreateContainer(const std::string& name) {
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", "/api/v1/containers", json{{"name", name}}));
  return ContainerFromJson(j);
}

Result<std::vector<ContainerInfo>> RemoteApi::ListContainers() {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", "/api/v1/containers"));
  return DecodeArray<ContainerInfo>(j, ContainerFromJson);
}

Status RemoteApi::DeleteContainer(const std::string& name) {
  return Call("DELETE", ContainerPath(name)).status();
}

Result<ContainerInfo> RemoteApi::CopyContainer(const std::string& container,
                                               const std::string& snapshot,
                                               const std::string& new_name,
                                               const std::string& project) {
  json body{{"name", new_name}, {"source_snapshot", snapshot}};
  if (!project.empty()) body["project"] = project;
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", ContainerPath(container) + "/copy", body));
  return ContainerFromJson(j);
}

Result<SnapshotInfo> RemoteApi::CreateSnapshot(const std::string& container,
                                               const CreateSnapshotRequest& request) {
  json body = json::object();
  if (!request.alias.empty()) body["alias"] = request.alias;
  if (request.expiry_days) body["expiry"] = *request.expiry_days;
  if (!request.sync) body["sync"] = false;
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", ContainerPath(container) + "/snapshots", body));
  return SnapshotFromJson(j);
}

Result<std::vector<SnapshotInfo>> RemoteApi::ListSnapshots(const std::string& container) {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", ContainerPath(container) + "/snapshots"));
  return DecodeArray<SnapshotInfo>(j, SnapshotFromJson);
}

Result<SnapshotPage> RemoteApi::ListSnapshotPage(const std::string& container,
                                                 const ListPage& page) {
  std::string target = ContainerPath(container) + "/snapshots?limit=" + std::to_string(page.limit);
  if (!page.after.empty()) target += "&after=" + UrlEncode(page.after);
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", target));
  return SnapshotPageFromJson(j);
}

Result<SnapshotInfo> RemoteApi::GetSnapshot(const std::string& container, const std::string& name) {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", SnapshotPath(container, name)));
  return SnapshotFromJson(j);
}

Result<uint64_t> RemoteApi::ExclusiveBytes(const std::string& container, const std::string& name) {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", SnapshotPath(container, name)));
  if (!j.contains("exclusive_bytes") || !j["exclusive_bytes"].is_number_unsigned()) {
    return Status::IoError("the daemon's snapshot has no exclusive_bytes");
  }
  return j["exclusive_bytes"].get<uint64_t>();
}

Result<SnapshotInfo> RemoteApi::SetSnapshot(const std::string& container, const std::string& name,
                                            const SetSnapshotRequest& request) {
  json body = json::object();
  if (request.alias) body["alias"] = *request.alias;
  if (request.expiry_days) {
    body["expiry"] = *request.expiry_days == 0 ? json("never") : json(*request.expiry_days);
  }
  HOODY_ASSIGN_OR_RETURN(json j, Call("PUT", SnapshotPath(container, name), body));
  return SnapshotFromJson(j);
}

Result<RestoreResult> RemoteApi::Restore(const std::string& container, const std::string& name,
                                         const RestoreRequest& request) {
  json body = json::object();
  if (request.discard_head) body["discard_head"] = true;
  HOODY_ASSIGN_OR_RETURN(json j, Call("PATCH", SnapshotPath(container, name), body));
  return RestoreFromJson(j);
}

Status RemoteApi::DeleteSnapshot(const std::string& container, const std::string& name) {
  return Call("DELETE", SnapshotPath(container, name)).status();
}

Result<DiffResult> RemoteApi::Diff(const std::string& container, const std::string& from,
                                   const std::string& to) {
  std::string target = ContainerPath(container) + "/diff?from=" + UrlEncode(from);
  if (!to.empty()) target += "&to=" + UrlEncode(to);
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", target));
  return DiffFromJson(j);
}

Result<GcStats> RemoteApi::CollectGarbage() {
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", "/api/v1/gc"));
  return GcStatsFromJson(j);
}

Result<MountInfo> RemoteApi::Mount(const MountRequest& request) {
  json body{{"container", request.container}, {"mountpoint", request.mountpoint}};
  if (!request.snapshot.empty()) body["snapshot"] = request.snapshot;
  if (!request.options.empty()) body["options"] = request.options;
  if (request.create) body["create"] = true;
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", "/api/v1/mounts", body));
  return MountFromJson(j);
}

Status RemoteApi::Unmount(const std::string& mountpoint) {
  return Call("DELETE", "/api/v1/mounts?mountpoint=" + UrlEncode(mountpoint)).status();
}

Result<MountInfo> RemoteApi::Remount(const std::string& mountpoint,
                                     const std::vector<std::string>& options) {
  json body{{"options", options}};
  HOODY_ASSIGN_OR_RETURN(json j,
                         Call("PATCH", "/api/v1/mounts?mountpoint=" + UrlEncode(mountpoint), body));
  return MountFromJson(j);
}

Result<std::vector<MountInfo>> RemoteApi::ListMounts() {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", "/api/v1/mounts"));
  return DecodeArray<MountInfo>(j, MountFromJson);
}

Result<BisectReport> RemoteApi::Bisect(const BisectRequest& request) {
  json body{{"id", request.id},
            {"good", request.good},
            {"bad", request.bad},
            {"command", request.command},
            {"chroot", request.chroot}};
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", ContainerPath(request.container) + "/bisect", body));
  return BisectReportFromJson(j);
}

Status RemoteApi::CancelBisect(const std::string& id) {
  return Call("DELETE", "/api/v1/bisects/" + UrlEncode(id)).status();
}

Result<std::vector<BisectStep>> RemoteApi::BisectProgress(const std::string& id) {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", "/api/v1/bisects/" + UrlEncode(id)));
  if (!j.contains("steps")) return Status::IoError("the daemon's bisect progress has no steps");
  return DecodeArray<BisectStep>(j["steps"], BisectStepFromJson);
}

// Streamed both ways (docs/api.md): the daemon writes the send stream as
// it builds it, and reads a received one as it arrives.
Result<SendStats> RemoteApi::Send(const SendRequest& request, int fd) {
  std::string target = SnapshotPath(request.container, request.snapshot) + "/send";
  if (!request.from.empty()) target += "?from=" + UrlEncode(request.from);
  HOODY_ASSIGN_OR_RETURN(HttpResponse r, client_.Stream("GET", target, -1, fd));
  if (r.status < 200 || r.status >= 300) return StatusFromResponse(r);
  // The daemon counts nothing for us: the stream itself went to `fd`.
  return SendStats();
}

Result<ReceiveStats> RemoteApi::Receive(const std::string& container, int fd) {
  HOODY_ASSIGN_OR_RETURN(HttpResponse r,
                         client_.Stream("POST", ContainerPath(container) + "/receive", fd, -1));
  if (r.status < 200 || r.status >= 300) return StatusFromResponse(r);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return Status::IoError("the daemon answered with malformed JSON");
  ReceiveStats stats;
  HOODY_ASSIGN_OR_RETURN(stats.snapshot, SnapshotFromJson(j));
  stats.incremental = j.value("incremental", false);
  stats.bytes_in = j.value("stream_bytes", uint64_t{0});
  stats.records = j.value("records", uint64_t{0});
  return stats;
}

Result<ScrubStatus> RemoteApi::StartScrub(const ScrubRequest& request) {
  json body = json::object();
  if (request.max_bytes_per_second > 0) body["max_rate"] = request.max_bytes_per_second;
  HOODY_ASSIGN_OR_RETURN(json j, Call("POST", "/api/v1/scrub", body));
  return ScrubStatusFromJson(j);
}

Result<ScrubStatus> RemoteApi::CurrentScrub() {
  HOODY_ASSIGN_OR_RETURN(json j, Call("GET", "/api/v1/scrub"));
  return ScrubStatusFromJson(j);
}

Status RemoteApi::CancelScrub() { return Call("DELETE", "/api/v1/scrub").status(); }

Result<BlockRepairReply> RemoteApi::RepairBlock(uint64_t block, const std::string& bytes) {
  HOODY_ASSIGN_OR_RETURN(
      HttpResponse r,
      client_.SendBytes("PUT", "/api/v1/scrub/blocks/" + std::to_string(block), bytes));
  if (r.status < 200 || r.status >= 300) return StatusFromResponse(r);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("result") || !j["result"].is_string()) {
    return Status::IoError("the daemon's answer to a block repair has no result: " + r.body);
  }
  BlockRepairReply reply;
  reply.block = block;
  HOODY_ASSIGN_OR_RETURN(reply.result, BlockRepairResultFromCode(j["result"].get<std::string>()));
  return reply;
}

}  // namespace hoodyfs::cli
