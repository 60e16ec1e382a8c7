#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

using namespace snapshotter;  // NOLINT(google-build-using-namespace): every type below is one

Result<std::unique_ptr<LocalApi>> LocalApi::Open(const std::string& store_dir) {
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<Snapshotter> snap,
                         Snapshotter::Open(store_dir, StoreOptions()));
  return std::make_unique<LocalApi>(std::move(snap));
}

Result<ContainerInfo> LocalApi::CreateContainer(const std::string& name) {
  return snap_->CreateContainer(name);
}

Result<std::vector<ContainerInfo>> LocalApi::ListContainers() { return snap_->ListContainers(); }

Status LocalApi::DeleteContainer(const std::string& name) {
  HOODY_RETURN_IF_ERROR(snap_->DeleteContainer(name));
  return snap_->CollectGarbage(ImplicitCollection()).status();
}

Result<ContainerInfo> LocalApi::CopyContainer(const std::string& container,
                                              const std::string& snapshot,
                                              const std::string& new_name,
                                              const std::string& project) {
  return snap_->CopyContainer(container, snapshot, new_name, project);
}

Result<SnapshotInfo> LocalApi::CreateSnapshot(const std::string& container,
                                              const CreateSnapshotRequest& request) {
  return snap_->CreateSnapshot(container, request);
}

Result<std::vector<SnapshotInfo>> LocalApi::ListSnapshots(const std::string& container) {
  return snap_->ListSnapshots(container);
}

Result<SnapshotPage> LocalApi::ListSnapshotPage(const std::string& container,
                                                const ListPage& page) {
  return snap_->ListSnapshots(container, page);
}

Result<SnapshotInfo> LocalApi::GetSnapshot(const std::string& container, const std::string& name) {
  return snap_->GetSnapshot(container, name);
}

Result<uint64_t> LocalApi::ExclusiveBytes(const std::string& container, const std::string& name) {
  return snap_->ExclusiveBytes(container, name);
}

Result<SnapshotInfo> LocalApi::SetSnapshot(const std::string& container, const std::string& name,
                                           const SetSnapshotRequest& request) {
  return snap_->SetSnapshot(container, name, request);
}

Result<RestoreResult> LocalApi::Restore(const std::string& container, const std::string& name,
                                        const RestoreRequest& request) {
  HOODY_ASSIGN_OR_RETURN(RestoreResult r, snap_->Restore(container, name, request));
  if (request.discard_head)
    HOODY_RETURN_IF_ERROR(snap_->CollectGarbage(ImplicitCollection()).status());
  return r;
}

Status LocalApi::DeleteSnapshot(const std::string& container, const std::string& name) {
  HOODY_RETURN_IF_ERROR(snap_->DeleteSnapshot(container, name));
  return snap_->CollectGarbage(ImplicitCollection()).status();
}

Result<DiffResult> LocalApi::Diff(const std::string& container, const std::string& from,
                                  const std::string& to) {
  DiffProgressFn progress;
  if (progress_) {
    progress = [this](uint64_t records, size_t done, size_t total) {
      progress_("diff: " + std::to_string(records) + " change-log records read" +
                (total > 0 ? ", " + std::to_string(done) + "/" + std::to_string(total) +
                                 " inodes compared"
                           : ""));
    };
  }
  return snap_->Diff(container, from, to, progress);
}

Result<GcStats> LocalApi::CollectGarbage() {
  GcProgressFn progress;
  if (progress_) {
    progress = [this](const GcProgress& p) {
      progress_("gc: " + std::to_string(p.generations_done) + " generations reclaimed, " +
                std::to_string(p.records_done) + " records, " +
                std::to_string(p.generations_pending) + " to look at");
    };
  }
  return snap_->CollectGarbage(GcOptions(), progress);
}

Result<SendStats> LocalApi::Send(const SendRequest& request, int fd) {
  return SendSnapshot(*snap_, request, fd);
}

Result<ReceiveStats> LocalApi::Receive(const std::string& container, int fd) {
  return ReceiveSnapshot(*snap_, container, fd);
}

}  // namespace hoodyfs::cli
