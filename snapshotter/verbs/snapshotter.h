// Snapshotter: the product's snapshot operations on one store, as one library
// API that the CLI (hoodyfs-snap), the daemon and the REST API all call:
// containers (create, list, delete, copy from a snapshot), named snapshots
// (create with alias and expiry, list, show, set, restore, delete), diff
// between any two states, accounting, expiry and garbage collection.
//
// Names. A container is named [A-Za-z0-9][A-Za-z0-9_.-]{0,127} without "..".
// A snapshot is named snap-YYYYMMDD-HHMMSS in UTC (snap-...-2, -3 when more
// land in one second); it may carry an alias from the container-name set
// that is unique within the container and never of the snap- name form, so
// every verb takes "a name or an alias" without ambiguity.
//
// Atomicity: each verb is one write scope followed by a synced commit: after
// a crash it either happened or did not. Create, restore and copy are O(1).
// Delete marks the generation dropped; the space comes back when garbage
// collection (CollectGarbage) reclaims it, chunked and resumable.
//
// Thread-safety: every method may be called from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_internals.h"
#include "snapshotter/verbs/diff.h"
#include "snapshotter/verbs/gc.h"
#include "snapshotter/verbs/name_index.h"

namespace hoodyfs::snapshotter {

struct SnapshotInfo {
  std::string container;
  std::string name;   // snap-YYYYMMDD-HHMMSS[-N]
  std::string alias;  // "" when none
  GenId gen;
  int64_t created_ns = 0;  // CLOCK_REALTIME
  int64_t expires_ns = 0;  // 0: never
  // The nearest older snapshot this one descends from: its name in the same
  // container, "container@name" in another (a copy's first snapshot); "" none.
  std::string parent;
  // Identity across stores, kept by send/receive (index::SnapshotRecord::guid);
  // "" for a snapshot made before guids until it is first sent.
  std::string guid;
  // Accounting (accounting.h): filled by list and show; left empty by the
  // O(1) verbs (create, set, restore), which must not walk a change log.
  std::optional<uint64_t> referenced_bytes;  // data visible in the snapshot (zfs REFER)
  std::optional<uint64_t> written_bytes;     // data written since its parent generation
};

struct ContainerInfo {
  std::string name;
  GenId head;
  int64_t created_ns = 0;
  std::string origin;   // "container@snapshot" it was copied from; "" none
  std::string project;  // project id recorded by a copy; "" none
  size_t snapshots = 0;
};

// One page of a container's snapshots (ListSnapshots), in creation order.
struct ListPage {
  // Where the page starts (exclusive; catalog::ListStart): a page's `next`
  // (a position, NAME@CREATED_NS), a snapshot's name, or "" for the first.
  std::string after;
  int64_t limit = 1000;  // 1 to catalog::kListPageMax
};

struct SnapshotPage {
  std::vector<SnapshotInfo> snapshots;
  // The `after` of the next page: the position of this page's last
  // snapshot (catalog::ListPosition), which stays valid if that snapshot is
  // deleted; nullopt when this page ends the list.
  std::optional<std::string> next;
};

struct CreateSnapshotRequest {
  std::string alias;                   // "" none
  std::optional<int64_t> expiry_days;  // positive; nullopt: permanent
  // Durable on return (the default), or not yet: false returns once the
  // snapshot is taken (point in time all the same) and leaves it to the
  // next group commit (StoreOptions::flush_interval_ms) or the next fsync
  // or verb that syncs, whichever comes first. A crash before then loses
  // it, and with it everything done after it: every durable state later
  // than the create holds the snapshot (docs/design.md, "Snapshots that
  // are durable later").
  bool sync = true;
};

struct SetSnapshotRequest {
  std::optional<std::string> alias;    // "" removes the alias
  std::optional<int64_t> expiry_days;  // positive: days from now; 0: never expires
};

struct RestoreRequest {
  // Without it the head that restore replaces is kept as a snapshot with
  // alias pre-restore-YYYYMMDD-HHMMSS and a 7-day expiry.
  bool discard_head = false;
};

struct RestoreResult {
  GenId new_head;
  std::optional<SnapshotInfo> saved_head;  // the pre-restore snapshot, unless discarded
};

// A container's head replaced by a restore. The old head stays pinned
// while the hook runs (it may be dropped by the restore, and garbage
// collection must not reclaim the change log that says what differs).
struct HeadChange {
  std::string container;
  GenId old_head;
  GenId new_head;
};

// A snapshot as a stream carries it to receive (transfer/send_stream.h).
struct ReceivedSnapshot {
  std::string name;
  std::string alias;
  int64_t created_ns = 0;
  std::string guid;
  std::string base_guid;  // an incremental stream's base; "" full
};

// Called around the verbs that change what a container's head is, so a
// daemon serving mounts can keep them point-in-time and coherent. Unset
// hooks do nothing (no mounts: the CLI's own store).
struct SnapshotterHooks {
  // Before a snapshot, a restore or a diff against the live head of
  // `container`: every write that has returned to an application must reach
  // the engine (flush the kernel's writeback cache). An error cancels the verb.
  std::function<Status(const std::string& container)> sync_container;
  // After a restore replaced the head of a container: drop cached state
  // (what differs between the old head and the new one).
  std::function<void(const HeadChange& change)> after_head_change;
  // Before deleting `container`: kBusy when it is in use (mounted).
  std::function<Status(const std::string& container)> before_container_delete;
};

class Snapshotter {
 public:
  // Opens the store in `dir` and deletes the snapshots whose expiry has
  // passed (their space comes back at the next CollectGarbage).
  // Errors: those of Store::Open.
  static Result<std::unique_ptr<Snapshotter>> Open(const std::string& dir, StoreOptions options);

  Store& store() { return *store_; }
  void SetHooks(SnapshotterHooks hooks);

  // --- containers ---
  // Errors: kInvalidArgument (bad name), kExists.
  Result<ContainerInfo> CreateContainer(const std::string& name);
  std::vector<ContainerInfo> ListContainers();
  // Errors: kNotFound.
  Result<ContainerInfo> GetContainer(const std::string& name);
  // Deletes the container, its head and every snapshot of it. Containers
  // copied from its snapshots keep working: the generations they descend
  // from stay until nothing reads them. Errors: kNotFound, kBusy (the
  // container or one of its snapshots is in use).
  Status DeleteContainer(const std::string& name);
  // A new container whose head is a fresh child of a snapshot (O(1)).
  // Errors: kNotFound (container or snapshot), kInvalidArgument, kExists.
  Result<ContainerInfo> CopyContainer(const std::string& container, const std::string& snapshot,
                                      const std::string& new_name, const std::string& project = "");

  // --- snapshots ---
  // Errors: kNotFound (container), kInvalidArgument (alias or expiry),
  // kExists (alias taken), kNoSpace, kIoError.
  Result<SnapshotInfo> CreateSnapshot(const std::string& container,
                                      const CreateSnapshotRequest& request);
  // Oldest first. Errors: kNotFound (container).
  Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& container);
  // One page: reads and describes only the page's snapshots (the order
  // comes from NameIndex, the records by name), so a page costs its size,
  // not the container's count. Paging from "" to the end lists every
  // snapshot exactly once, oldest first, when nothing changes between
  // pages; a snapshot deleted meanwhile is not listed, one created
  // meanwhile is listed on a later page (creation order puts it last).
  // Errors: kNotFound (container), kInvalidArgument (limit out of range;
  // `after` names no snapshot of the container, e.g. it was deleted since).
  Result<SnapshotPage> ListSnapshots(const std::string& container, const ListPage& page);
  // By name or alias. Errors: kNotFound.
  Result<SnapshotInfo> GetSnapshot(const std::string& container, const std::string& name);
  // Bytes that deleting the snapshot would free now (computed on demand).
  Result<uint64_t> ExclusiveBytes(const std::string& container, const std::string& name);
  // Errors: kNotFound, kInvalidArgument, kExists (alias taken).
  Result<SnapshotInfo> SetSnapshot(const std::string& container, const std::string& name,
                                   const SetSnapshotRequest& request);
  // Points the container's head at a fresh child of the snapshot,
  // atomically; every other snapshot stays. Errors: kNotFound.
  Result<RestoreResult> Restore(const std::string& container, const std::string& name,
                                const RestoreRequest& request);
  // Errors: kNotFound, kBusy (pinned: mounted, in a bisect).
  Status DeleteSnapshot(const std::string& container, const std::string& name);

  // --- diff ---
  // An endpoint: "NAME" (a snapshot of `container` by name or alias),
  // "X@NAME" (a snapshot of container X), "X@" (container X's live head);
  // "" is `container`'s live head. Errors: kNotFound, kInvalidArgument.
  Result<DiffResult> Diff(const std::string& container, const std::string& from,
                          const std::string& to, const DiffProgressFn& progress = {});

  // --- send and receive (snapshotter_receive.cc; the streams are
  // transfer/send_stream.h's) ---
  // The snapshot to send by name or alias, with its guid (one is given now,
  // and recorded, when it predates guids), pinned for as long as the send
  // reads it. O(snapshots of the store): no accounting is computed, so an
  // incremental send stays O(changes). Errors: kNotFound.
  struct SendPoint {
    SnapshotInfo snapshot;  // without accounting
    Store::Pin pin;
  };
  Result<SendPoint> SnapshotForSend(const std::string& container, const std::string& name);
  // A receive builds into a scratch container of its own, invisible to the
  // target until PublishReceive makes it a snapshot in one commit, so a
  // receive that fails (AbortReceive) or is cut by a crash (the scratch is
  // removed at the next Open) leaves the target as it was.
  // BeginReceive returns the scratch container's name: its head is empty
  // (a full stream: snap.base_guid "", and `container` must not exist) or a
  // fresh child of the snapshot of `container` whose guid is snap.base_guid.
  // Errors: kExists (full: the container exists; incremental: the
  // container holds the snapshot, or its name or alias, already),
  // kNotFound (incremental: no container, or no snapshot with that guid in
  // it), kInvalidArgument (a bad name, alias or guid).
  // The snapshot's name, alias and guid are checked here already, so a
  // stream that cannot land is refused before it is read.
  Result<std::string> BeginReceive(const std::string& container, const ReceivedSnapshot& snap);
  // Freezes the scratch head as snapshot `snap` of `container` (created
  // for a full stream; for an incremental one its head then moves to the
  // new snapshot as a restore does, keeping a head that held changes as a
  // pre-restore snapshot), and removes the scratch container: one commit.
  // Errors: kExists (the name, alias or guid is taken in `container`),
  // kNotFound, kInvalidArgument.
  Result<SnapshotInfo> PublishReceive(const std::string& scratch, const std::string& container,
                                      const ReceivedSnapshot& snap);
  // Removes the scratch container of a receive that failed.
  Status AbortReceive(const std::string& scratch);
  // The snapshot of `container` whose guid is `guid`, if any.
  Result<std::optional<SnapshotInfo>> FindByGuid(const std::string& container,
                                                 const std::string& guid);

  // --- maintenance ---
  // Deletes expired snapshots, then reclaims every dropped generation that
  // nothing pins. Errors: kNoSpace, kIoError, kCorruption.
  Result<GcStats> CollectGarbage(const GcOptions& options = {}, const GcProgressFn& progress = {});
  // Deletes the snapshots whose expiry has passed; returns how many.
  Result<size_t> ExpireSnapshots();

 private:
  explicit Snapshotter(std::unique_ptr<Store> store);
  // Whether dropping `head` at a restore would lose anything: false when it
  // wrote nothing of its own and its parent is a snapshot.
  Result<bool> HeadHoldsSomethingToKeep(const index::KvScope& s, GenId head);
  Result<SnapshotInfo> Describe(const std::string& container, const std::string& name,
                                const index::SnapshotRecord& rec, bool with_accounting);
  Result<ContainerInfo> DescribeContainer(const index::KvScope& s, const std::string& name,
                                          const index::ContainerRecord& rec);
  // Points the container's head at a fresh child of `from`: Restore's step,
  // shared with an incremental receive. The old head is dropped, or kept as
  // a pre-restore snapshot (set in *saved) when it holds something.
  Result<GenId> ReplaceHeadIn(index::WriteScope& s, const std::string& container, GenId from,
                              const RestoreRequest& request,
                              std::optional<std::pair<std::string, index::SnapshotRecord>>* saved);
  // Removes the scratch containers of receives cut short by a crash.
  Status RemoveInterruptedReceives();
  Result<GenId> ResolveEndpoint(const std::string& container, const std::string& spec,
                                std::string* label);
  // The hooks, copied under their lock (they may be replaced meanwhile).
  SnapshotterHooks Hooks();
  Status SyncContainer(const std::string& container);
  int64_t NowNs() const;

  std::unique_ptr<Store> store_;
  StoreInternals internals_;  // of *store_
  Mutex hooks_mu_;
  SnapshotterHooks hooks_ GUARDED_BY(hooks_mu_);
  std::mutex gc_mu_;  // one collector at a time
  NameIndex names_;   // the catalog's writer, and which snapshot names a generation
};

}  // namespace hoodyfs::snapshotter
