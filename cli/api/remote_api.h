// RemoteApi: the snapshot verbs sent to the daemon that owns a store, over
// its REST API (docs/api.md), returning the same values and Status codes as
// LocalApi. Plus the daemon's mount calls, which only it can carry out.
//
// Thread-safety: as HttpClient (one per thread).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api/bisect_types.h"
#include "cli/api/http_client.h"
#include "cli/api/mount_api.h"
#include "cli/api/scrub_api.h"
#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

class RemoteApi final : public SnapshotApi {
 public:
  explicit RemoteApi(HttpEndpoint endpoint) : client_(std::move(endpoint)) {}

  // True when a daemon answers at the endpoint.
  bool Ping() const;

  Result<snapshotter::ContainerInfo> CreateContainer(const std::string& name) override;
  Result<std::vector<snapshotter::ContainerInfo>> ListContainers() override;
  Status DeleteContainer(const std::string& name) override;
  Result<snapshotter::ContainerInfo> CopyContainer(const std::string& container,
                                                   const std::string& snapshot,
                                                   const std::string& new_name,
                                                   const std::string& project) override;
  Result<snapshotter::SnapshotInfo> CreateSnapshot(
      const std::string& container, const snapshotter::CreateSnapshotRequest& request) override;
  Result<std::vector<snapshotter::SnapshotInfo>> ListSnapshots(
      const std::string& container) override;
  Result<snapshotter::SnapshotPage> ListSnapshotPage(const std::string& container,
                                                     const snapshotter::ListPage& page) override;
  Result<snapshotter::SnapshotInfo> GetSnapshot(const std::string& container,
                                                const std::string& name) override;
  Result<uint64_t> ExclusiveBytes(const std::string& container, const std::string& name) override;
  Result<snapshotter::SnapshotInfo> SetSnapshot(
      const std::string& container, const std::string& name,
      const snapshotter::SetSnapshotRequest& request) override;
  Result<snapshotter::RestoreResult> Restore(const std::string& container, const std::string& name,
                                             const snapshotter::RestoreRequest& request) override;
  Status DeleteSnapshot(const std::string& container, const std::string& name) override;
  Result<snapshotter::DiffResult> Diff(const std::string& container, const std::string& from,
                                       const std::string& to) override;
  Result<snapshotter::GcStats> CollectGarbage() override;
  Result<snapshotter::SendStats> Send(const snapshotter::SendRequest& request, int fd) override;
  Result<snapshotter::ReceiveStats> Receive(const std::string& container, int fd) override;

  Result<MountInfo> Mount(const MountRequest& request);
  Status Unmount(const std::string& mountpoint);
  // PATCH /api/v1/mounts?mountpoint=...: mount -o remount.
  Result<MountInfo> Remount(const std::string& mountpoint, const std::vector<std::string>& options);
  Result<std::vector<MountInfo>> ListMounts();

  // Runs a bisect in the daemon (which owns the mounts) and waits for its
  // report; CancelBisect from another thread stops it.
  Result<BisectReport> Bisect(const BisectRequest& request);
  Status CancelBisect(const std::string& id);
  Result<std::vector<BisectStep>> BisectProgress(const std::string& id);

  // The daemon's background scrub (cli/api/scrub_api.h): start one, follow
  // it, cancel it.
  Result<ScrubStatus> StartScrub(const ScrubRequest& request);
  Result<ScrubStatus> CurrentScrub();
  Status CancelScrub();
  // PUT /api/v1/scrub/blocks/N: hands the daemon one block's bytes, found
  // in a replica, to write if they are its own content. Errors: as
  // ScrubService::RepairBlock, through the REST errors.
  Result<BlockRepairReply> RepairBlock(uint64_t block, const std::string& bytes);

 private:
  // Sends and returns the parsed JSON of a 2xx answer, else the error.
  Result<nlohmann::json> Call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr) const;
  HttpClient client_;
};

}  // namespace hoodyfs::cli
