// Snapshotter: the store side of send and receive. A stream is built and
// applied by transfer/send_stream.h; here are the snapshot identities
// (guids) and the scratch container a receive builds into, published as a
// snapshot in one commit or removed.
//
// Why a scratch container: the target must never show a half-received
// snapshot, and an incremental receive must not touch the target's head
// until the stream has been checked to its trailer. The scratch head starts
// as the base snapshot (O(1), a branch), takes the stream's changes, and is
// then frozen and re-parented under the target's name in one write scope.
#include <string>

#include "index/keys.h"
#include "snapshotter/engine/names.h"
#include "snapshotter/verbs/catalog.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::snapshotter {

using index::ContainerRecord;
using index::GenState;
using index::KvScope;
using index::ReadScope;
using index::SnapshotRecord;
using index::Table;
using index::WriteScope;

namespace {
// ContainerRecord::origin of a scratch container: the mark Open looks for.
constexpr std::string_view kScratchOrigin = "(receive) ";

Result<std::optional<catalog::Entry>> FindGuid(const KvScope& s, const std::string& container,
                                               const std::string& guid);

// kExists when `container` holds the snapshot already (its guid), or
// another by its name or alias.
Status CheckReceivable(const KvScope& s, const std::string& container,
                       const ReceivedSnapshot& snap) {
  HOODY_ASSIGN_OR_RETURN(auto same, FindGuid(s, container, snap.guid));
  if (same) {
    return Status::Exists("container '" + container + "' holds this snapshot already (as " +
                          same->name + ")");
  }
  HOODY_ASSIGN_OR_RETURN(auto named, catalog::Find(s, container, snap.name));
  if (named && named->name == snap.name) {
    return Status::Exists("container '" + container + "' has a snapshot named " + snap.name +
                          " already");
  }
  if (!snap.alias.empty()) HOODY_RETURN_IF_ERROR(catalog::CheckAliasFree(s, container, snap.alias));
  return Status::OK();
}

Result<std::optional<catalog::Entry>> FindGuid(const KvScope& s, const std::string& container,
                                               const std::string& guid) {
  HOODY_ASSIGN_OR_RETURN(std::vector<catalog::Entry> all, catalog::List(s, container));
  for (catalog::Entry& e : all) {
    if (e.record.guid == guid) return std::optional<catalog::Entry>(std::move(e));
  }
  return std::optional<catalog::Entry>();
}
// The stream's name, alias and guid, as a snapshot may hold them.
Status CheckSnapshotFields(const ReceivedSnapshot& snap) {
  if (!catalog::IsSnapshotName(snap.name)) {
    return Status::InvalidArgument("'" + snap.name + "' is not a snapshot name");
  }
  if (!snap.alias.empty()) HOODY_RETURN_IF_ERROR(catalog::ValidateAlias(snap.alias));
  if (!catalog::IsGuid(snap.guid)) return Status::InvalidArgument("bad snapshot guid");
  return Status::OK();
}
}  // namespace

Result<Snapshotter::SendPoint> Snapshotter::SnapshotForSend(const std::string& container,
                                                            const std::string& name) {
  SendPoint point;
  catalog::Entry entry;
  bool gave_guid = false;
  {
    WriteScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(entry, catalog::MustFind(s, container, name));
    // Inside the scope: garbage collection checks pins inside its own.
    point.pin = store_->PinGeneration(entry.record.gen, "send");
    if (entry.record.guid.empty()) {
      // Made before snapshots had guids: the first send gives it one.
      entry.record.guid = catalog::NewGuid();
      names_.Put(s, container, entry.name, entry.record, entry.record.alias);
      s.Commit();
      gave_guid = true;
    }
  }
  if (gave_guid) HOODY_RETURN_IF_ERROR(store_->Flush());
  HOODY_ASSIGN_OR_RETURN(point.snapshot, Describe(container, entry.name, entry.record, false));
  return point;
}

Result<std::optional<SnapshotInfo>> Snapshotter::FindByGuid(const std::string& container,
                                                            const std::string& guid) {
  std::optional<catalog::Entry> found;
  {
    ReadScope s(internals_.kv());
    HOODY_RETURN_IF_ERROR(internals_.GetContainer(s, container).status());
    HOODY_ASSIGN_OR_RETURN(found, FindGuid(s, container, guid));
  }
  if (!found) return std::optional<SnapshotInfo>();
  HOODY_ASSIGN_OR_RETURN(SnapshotInfo info, GetSnapshot(container, found->name));
  return std::optional<SnapshotInfo>(std::move(info));
}

Result<std::string> Snapshotter::BeginReceive(const std::string& container,
                                              const ReceivedSnapshot& snap) {
  const std::string& base_guid = snap.base_guid;
  HOODY_RETURN_IF_ERROR(ValidateContainerName(container));
  HOODY_RETURN_IF_ERROR(CheckSnapshotFields(snap));
  HOODY_RETURN_IF_ERROR(store_->CheckRoomToGrow());
  const std::string scratch = "receive-" + catalog::NewGuid().substr(0, 16);
  {
    WriteScope s(internals_.kv());
    Result<ContainerRecord> target = internals_.GetContainer(s, container);
    GenId from;
    if (base_guid.empty()) {
      if (target.ok()) {
        return Status::Exists("container '" + container +
                              "' already exists: a full stream is received into a new container");
      }
      if (target.status().code() != Code::kNotFound) return target.status();
    } else {
      if (!target.ok()) {
        return target.status().WithContext("an incremental stream needs its base snapshot");
      }
      HOODY_ASSIGN_OR_RETURN(auto base, FindGuid(s, container, base_guid));
      if (!base) {
        return Status::NotFound("container '" + container + "' holds no snapshot with guid " +
                                base_guid + ", the base of this incremental stream");
      }
      from = base->record.gen;
      HOODY_RETURN_IF_ERROR(CheckReceivable(s, container, snap));
    }
    ContainerRecord rec;
    rec.origin = std::string(kScratchOrigin) + container;
    HOODY_RETURN_IF_ERROR(internals_.CreateContainerIn(s, scratch, from, std::move(rec)));
    s.Commit();
  }
  return scratch;
}

Result<SnapshotInfo> Snapshotter::PublishReceive(const std::string& scratch,
                                                 const std::string& container,
                                                 const ReceivedSnapshot& snap) {
  HOODY_RETURN_IF_ERROR(CheckSnapshotFields(snap));
  std::optional<std::pair<std::string, SnapshotRecord>> saved;
  GenId old_head;
  GenId new_head;
  Store::Pin old_head_pin;
  bool incremental = false;
  {
    WriteScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(ContainerRecord scratch_rec, internals_.GetContainer(s, scratch));
    Result<ContainerRecord> target = internals_.GetContainer(s, container);
    incremental = !snap.base_guid.empty();
    if (incremental) {
      HOODY_RETURN_IF_ERROR(target.status());
      HOODY_RETURN_IF_ERROR(CheckReceivable(s, container, snap));
    } else if (target.ok()) {
      return Status::Exists("container '" + container + "' was created during the receive");
    } else if (target.status().code() != Code::kNotFound) {
      return target.status();
    }
    HOODY_ASSIGN_OR_RETURN(const GenId frozen, internals_.FreezeIn(s, scratch));
    // The frozen generation belongs to the target from now on.
    HOODY_ASSIGN_OR_RETURN(index::GenerationRecord gen_rec, internals_.GetGeneration(s, frozen));
    gen_rec.container = container;
    internals_.PutGeneration(s, frozen, gen_rec);
    HOODY_ASSIGN_OR_RETURN(const GenId scratch_head, internals_.CurrentHead(scratch));
    HOODY_RETURN_IF_ERROR(internals_.SetGenerationState(s, scratch_head, GenState::kDropped));
    HOODY_RETURN_IF_ERROR(internals_.RemoveContainerIn(s, scratch));
    SnapshotRecord rec;
    rec.gen = frozen;
    rec.alias = snap.alias;
    rec.created_ns = snap.created_ns;
    rec.guid = snap.guid;
    if (!incremental) {
      HOODY_RETURN_IF_ERROR(internals_.CreateContainerIn(s, container, frozen, ContainerRecord{}));
    }
    // Named before the head moves: a pre-restore snapshot then takes
    // another name than the received one.
    names_.Put(s, container, snap.name, rec);
    if (incremental) {
      HOODY_ASSIGN_OR_RETURN(old_head, internals_.CurrentHead(container));
      old_head_pin = store_->PinGeneration(old_head, "receive");
      HOODY_ASSIGN_OR_RETURN(new_head,
                             ReplaceHeadIn(s, container, frozen, RestoreRequest{}, &saved));
    }
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(store_->Flush());
  if (incremental) {
    if (SnapshotterHooks hooks = Hooks(); hooks.after_head_change) {
      hooks.after_head_change(HeadChange{container, old_head, new_head});
    }
  }
  old_head_pin = Store::Pin();
  return GetSnapshot(container, snap.name);
}

Status Snapshotter::AbortReceive(const std::string& scratch) { return DeleteContainer(scratch); }

Status Snapshotter::RemoveInterruptedReceives() {
  std::vector<std::string> scratch;
  {
    ReadScope s(internals_.kv());
    HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kContainers));
    for (it.Seek(""); it.Valid(); it.Next()) {
      HOODY_ASSIGN_OR_RETURN(ContainerRecord rec, ContainerRecord::Decode(it.value()));
      if (rec.origin.starts_with(kScratchOrigin)) scratch.emplace_back(it.key());
    }
    HOODY_RETURN_IF_ERROR(it.status());
  }
  for (const std::string& name : scratch) {
    HOODY_RETURN_IF_ERROR(AbortReceive(name));
  }
  return Status::OK();
}

}  // namespace hoodyfs::snapshotter
