// SnapshotApi: the snapshot verbs as hoodyfs-snap uses them, whoever carries
// them out: LocalApi opens the store in this process (no daemon runs);
// the daemon's REST client (issue 4) sends them to the process that owns
// the store. Both return the same values, so every verb behaves the same
// on a mounted container (through the daemon) as on an unmounted one.
//
// Deleting (a snapshot, a container) and restoring with the head discarded
// also collect the garbage they leave, so the space is back when the call
// returns.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "snapshotter/transfer/send_stream.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

// One line of progress of long work (a diff of a big tree, a collection).
using ProgressLineFn = std::function<void(const std::string& line)>;

class SnapshotApi {
 public:
  virtual ~SnapshotApi() = default;

  // Where long work reports progress, when it can (LocalApi; a daemon's
  // answers come whole).
  virtual void SetProgress(ProgressLineFn) {}

  virtual Result<snapshotter::ContainerInfo> CreateContainer(const std::string& name) = 0;
  virtual Result<std::vector<snapshotter::ContainerInfo>> ListContainers() = 0;
  virtual Status DeleteContainer(const std::string& name) = 0;
  virtual Result<snapshotter::ContainerInfo> CopyContainer(const std::string& container,
                                                           const std::string& snapshot,
                                                           const std::string& new_name,
                                                           const std::string& project) = 0;

  virtual Result<snapshotter::SnapshotInfo> CreateSnapshot(
      const std::string& container, const snapshotter::CreateSnapshotRequest& request) = 0;
  virtual Result<std::vector<snapshotter::SnapshotInfo>> ListSnapshots(
      const std::string& container) = 0;
  // One page of the list (Snapshotter::ListSnapshots with a ListPage).
  virtual Result<snapshotter::SnapshotPage> ListSnapshotPage(const std::string& container,
                                                             const snapshotter::ListPage& page) = 0;
  virtual Result<snapshotter::SnapshotInfo> GetSnapshot(const std::string& container,
                                                        const std::string& name) = 0;
  virtual Result<uint64_t> ExclusiveBytes(const std::string& container,
                                          const std::string& name) = 0;
  virtual Result<snapshotter::SnapshotInfo> SetSnapshot(
      const std::string& container, const std::string& name,
      const snapshotter::SetSnapshotRequest& request) = 0;
  virtual Result<snapshotter::RestoreResult> Restore(
      const std::string& container, const std::string& name,
      const snapshotter::RestoreRequest& request) = 0;
  virtual Status DeleteSnapshot(const std::string& container, const std::string& name) = 0;
  virtual Result<snapshotter::DiffResult> Diff(const std::string& container,
                                               const std::string& from, const std::string& to) = 0;
  virtual Result<snapshotter::GcStats> CollectGarbage() = 0;
  // Writes a send stream to `fd` / receives one from `fd`
  // (snapshotter/transfer/send_stream.h).
  virtual Result<snapshotter::SendStats> Send(const snapshotter::SendRequest& request, int fd) = 0;
  virtual Result<snapshotter::ReceiveStats> Receive(const std::string& container, int fd) = 0;
};

// The verbs on a store this process opens itself.
class LocalApi final : public SnapshotApi {
 public:
  explicit LocalApi(std::unique_ptr<snapshotter::Snapshotter> snap) : snap_(std::move(snap)) {}
  // Errors: those of Snapshotter::Open.
  static Result<std::unique_ptr<LocalApi>> Open(const std::string& store_dir);

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

  snapshotter::Snapshotter& snapshotter() { return *snap_; }
  void SetProgress(ProgressLineFn fn) override { progress_ = std::move(fn); }

 private:
  std::unique_ptr<snapshotter::Snapshotter> snap_;
  ProgressLineFn progress_;
};

}  // namespace hoodyfs::cli
