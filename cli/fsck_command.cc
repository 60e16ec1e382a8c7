#include "cli/fsck_command.h"

#include <map>

#include "cli/api_opener.h"
#include "cli/human.h"
#include "snapshotter/engine/fsck.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

namespace {

// What each generation is to a user: a container's head, a snapshot (with
// its alias), or else an ancestor kept for its descendants.
std::map<uint64_t, std::string> NameGenerations(snapshotter::Snapshotter& snap) {
  std::map<uint64_t, std::string> names;
  for (const snapshotter::ContainerInfo& c : snap.ListContainers()) {
    names[c.head.value] = "the head of container " + c.name;
    auto snaps = snap.ListSnapshots(c.name);
    if (!snaps.ok()) continue;
    for (const snapshotter::SnapshotInfo& s : *snaps) {
      names[s.gen.value] =
          "snapshot " + c.name + "@" + s.name + (s.alias.empty() ? "" : " (" + s.alias + ")");
    }
  }
  return names;
}

}  // namespace

Status RunFsck(const std::string& store, bool data, std::ostream& out) {
  HOODY_RETURN_IF_ERROR(CheckNoDaemon(store));
  HOODY_ASSIGN_OR_RETURN(auto snap,
                         snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions()));
  HOODY_RETURN_IF_ERROR(snap->store().CheckInvariants());
  out << store << ": consistent\n";
  if (!data) return Status::OK();
  HOODY_ASSIGN_OR_RETURN(snapshotter::DataCheckReport report, snap->store().CheckData());
  out << "data: " << report.blocks_checked << " blocks read ("
      << HumanBytes(report.blocks_checked * kBlockSize) << "), " << report.damaged.size()
      << " damaged\n";
  if (report.damaged.empty()) return Status::OK();
  const std::map<uint64_t, std::string> gens = NameGenerations(*snap);
  for (const snapshotter::DamagedBlock& d : report.damaged) {
    out << "  block " << d.block.value << ": " << d.why << "\n";
    for (const snapshotter::BlockUse& u : d.uses) {
      auto g = gens.find(u.gen.value);
      const std::string where =
          g != gens.end() ? g->second : "generation " + std::to_string(u.gen.value);
      // The version lives where it was written; later snapshots and the
      // head read it too until they change that part of the file.
      out << "    " << (u.path.empty() ? "inode " + std::to_string(u.ino.value) : u.path)
          << " at offset " << u.offset << ", written in " << where << "\n";
    }
  }
  return Status::Corruption(std::to_string(report.damaged.size()) +
                            " damaged data blocks: reads of them fail with EIO (listed above)");
}

}  // namespace hoodyfs::cli
