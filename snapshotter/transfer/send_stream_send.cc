// The sending side of send_stream.h: a full stream from a tree walk, an
// incremental one from the change logs.
#include <sys/stat.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "blockstore/aligned_buffer.h"
#include "snapshotter/engine/changes_between.h"
#include "snapshotter/transfer/export_walk.h"
#include "snapshotter/transfer/send_stream.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::snapshotter {
namespace {

using stream::NodeRecord;
using stream::StreamWriter;

Result<std::vector<std::pair<std::string, std::string>>> Xattrs(FileSystem& fs, Ino ino) {
  HOODY_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListXattr(ino));
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string& name : names) {
    Result<std::string> value = fs.GetXattr(ino, name);
    if (!value.ok()) return value.status().WithContext("xattr " + name);
    out.emplace_back(std::move(name), std::move(value).value());
  }
  return out;
}

NodeRecord NodeOf(Ino ino, const Attr& attr) {
  NodeRecord n;
  n.ino = ino;
  n.mode = attr.mode;
  n.uid = attr.uid;
  n.gid = attr.gid;
  n.rdev = attr.rdev;
  n.size = S_ISREG(attr.mode) ? attr.size : 0;
  n.atime = attr.atime;
  n.mtime = attr.mtime;
  return n;
}

// A buffer of one data record, made once per send (a zeroed one made per
// file took a third of a Debian root's send) and aligned, so that the
// engine reads each piece straight into it.
class DataBuffer {
 public:
  DataBuffer() : bytes_(blockstore::AlignedBuffer::ForReading(stream::kMaxDataBytes)) {}
  // The first `n` bytes, rounded up to whole blocks (the engine reads a
  // piece's last block whole when it has room for it).
  std::span<char> first(size_t n) {
    const size_t room =
        std::min<size_t>((n + kBlockSize - 1) / kBlockSize * kBlockSize, stream::kMaxDataBytes);
    return std::span<char>(reinterpret_cast<char*>(bytes_.data()), room);
  }

 private:
  blockstore::AlignedBuffer bytes_;
};

// The node record, then (a regular file) its data ranges in pieces that
// stay within one 1 MiB block, holes left out.
Status SendNode(FileSystem& fs, StreamWriter& out, NodeRecord node, DataBuffer& buf,
                SendStats* stats) {
  if (S_ISLNK(node.mode)) {
    HOODY_ASSIGN_OR_RETURN(node.symlink_target, fs.ReadLink(node.ino));
  }
  HOODY_RETURN_IF_ERROR(out.Node(node));
  ++stats->nodes;
  if (!S_ISREG(node.mode) || node.size == 0) return Status::OK();
  HOODY_ASSIGN_OR_RETURN(std::vector<DataRange> ranges, fs.DataRanges(node.ino));
  for (const DataRange& r : ranges) {
    uint64_t at = r.offset_bytes;
    const uint64_t end = std::min(r.offset_bytes + r.length_bytes, node.size);
    while (at < end) {
      const uint64_t n =
          std::min<uint64_t>(end - at, stream::kMaxDataBytes - at % stream::kMaxDataBytes);
      const std::span<char> piece = buf.first(n);
      HOODY_ASSIGN_OR_RETURN(size_t got, fs.Read(node.ino, at, piece));
      got = std::min<size_t>(got, n);
      if (got == 0) break;
      HOODY_RETURN_IF_ERROR(out.Data(node.ino, at, std::string_view(piece.data(), got)));
      stats->data_bytes += got;
      at += got;
    }
  }
  return Status::OK();
}

// A full stream: every node with its first name, parents first (the walk
// enters a directory before its entries), further names as links.
class FullSender : public ExportVisitor {
 public:
  FullSender(FileSystem& fs, StreamWriter& out, SendStats* stats)
      : fs_(fs), out_(out), stats_(stats) {}

  Status EnterDirectory(const ExportNode& dir) override {
    NodeRecord n = NodeOf(dir.ino, dir.attr);
    n.xattrs = dir.xattrs;
    if (!parents_.empty()) {  // the top exists on the receiving side: its root
      n.flags = stream::kNodeNew;
      n.parent = parents_.back();
      n.name = std::string(dir.name);
    }
    parents_.push_back(dir.ino);
    return SendNode(fs_, out_, std::move(n), buf_, stats_);
  }
  Status LeaveDirectory(const ExportNode&) override {
    parents_.pop_back();
    return Status::OK();
  }
  Result<bool> Leaf(const ExportNode& node) override {
    if (node.link_to != nullptr) {
      HOODY_RETURN_IF_ERROR(
          out_.Link(stream::LinkRecord{parents_.back(), std::string(node.name), node.ino}));
      ++stats_->links;
      return true;
    }
    NodeRecord n = NodeOf(node.ino, node.attr);
    n.xattrs = node.xattrs;
    n.flags = stream::kNodeNew;
    n.parent = parents_.back();
    n.name = std::string(node.name);
    HOODY_RETURN_IF_ERROR(SendNode(fs_, out_, std::move(n), buf_, stats_));
    return true;
  }

 private:
  FileSystem& fs_;
  StreamWriter& out_;
  SendStats* stats_;
  std::vector<Ino> parents_;
  DataBuffer buf_;
};

// The inode a name points at in `fs`, or nullopt when the name (or its
// directory) is not there.
Result<std::optional<Ino>> Target(FileSystem& fs, Ino parent, const std::string& name) {
  Result<Entry> e = fs.Lookup(parent, name);
  if (e.ok()) return std::optional<Ino>(e->ino);
  const Code c = e.status().code();
  if (c == Code::kNotFound || c == Code::kNotDirectory) return std::optional<Ino>();
  return e.status();
}

// The inode's attributes in `fs`, or nullopt when no name links it there.
Result<std::optional<Attr>> Linked(FileSystem& fs, Ino ino) {
  Result<Attr> a = fs.GetAttr(ino);
  if (!a.ok()) {
    if (a.status().code() == Code::kNotFound) return std::optional<Attr>();
    return a.status();
  }
  if (a->nlink == 0) return std::optional<Attr>();  // unlinked, still open at the snapshot
  return std::optional<Attr>(*a);
}

// An incremental stream: the names that went away, the inodes that are new
// or changed (new ones without a place: the names put them there), then the
// names that came.
Status SendIncremental(Store& store, GenId base, GenId target, StreamWriter& out,
                       SendStats* stats) {
  HOODY_ASSIGN_OR_RETURN(std::optional<ChangedKeys> changed,
                         ChangedBetween(store, base, target, UINT64_MAX));
  HOODY_ASSERT(changed.has_value(), "ChangedBetween without a limit gave up");
  stats->changelog_reads = changed->records_read;
  HOODY_ASSIGN_OR_RETURN(FileSystem from, store.AtGeneration(base));
  HOODY_ASSIGN_OR_RETURN(FileSystem to, store.AtGeneration(target));

  std::vector<stream::LinkRecord> links;
  for (const auto& [parent, name] : changed->names) {
    HOODY_ASSIGN_OR_RETURN(std::optional<Ino> was, Target(from, parent, name));
    HOODY_ASSIGN_OR_RETURN(std::optional<Ino> is, Target(to, parent, name));
    if (was == is) continue;  // written and written back
    if (was) {
      HOODY_RETURN_IF_ERROR(out.Unlink(stream::UnlinkRecord{parent, name}));
      ++stats->unlinks;
    }
    if (is) links.push_back(stream::LinkRecord{parent, name, *is});
  }

  std::vector<Ino> inodes = changed->inodes;
  DataBuffer buf;
  // The root always: the receiver's scratch directory moves its times.
  if (!std::binary_search(inodes.begin(), inodes.end(), kRootIno)) {
    inodes.insert(inodes.begin(), kRootIno);
  }
  for (Ino ino : inodes) {
    HOODY_ASSIGN_OR_RETURN(std::optional<Attr> now, Linked(to, ino));
    if (!now) continue;  // gone: its names went with the unlinks
    HOODY_ASSIGN_OR_RETURN(std::optional<Attr> before, Linked(from, ino));
    NodeRecord n = NodeOf(ino, *now);
    if (!before) n.flags = stream::kNodeNew;
    HOODY_ASSIGN_OR_RETURN(n.xattrs, Xattrs(to, ino));
    HOODY_RETURN_IF_ERROR(SendNode(to, out, std::move(n), buf, stats));
  }
  for (const stream::LinkRecord& l : links) {
    HOODY_RETURN_IF_ERROR(out.Link(l));
    ++stats->links;
  }
  return Status::OK();
}

}  // namespace

Result<SendStats> SendSnapshot(Snapshotter& snap, const SendRequest& request, int fd) {
  // Both pinned: neither may be deleted and collected while it is read.
  HOODY_ASSIGN_OR_RETURN(Snapshotter::SendPoint target_point,
                         snap.SnapshotForSend(request.container, request.snapshot));
  const SnapshotInfo& target = target_point.snapshot;
  std::optional<Snapshotter::SendPoint> base_point;
  if (!request.from.empty()) {
    HOODY_ASSIGN_OR_RETURN(base_point, snap.SnapshotForSend(request.container, request.from));
    if (base_point->snapshot.gen == target.gen) {
      return Status::InvalidArgument("the base and the snapshot are the same");
    }
  }
  const SnapshotInfo* base = base_point ? &base_point->snapshot : nullptr;
  Store& store = snap.store();

  StreamWriter out(fd);
  SendStats stats;
  stream::BeginRecord begin;
  begin.source_container = request.container;
  begin.name = target.name;
  begin.alias = target.alias;
  begin.created_ns = target.created_ns;
  begin.guid = target.guid;
  begin.base_guid = base ? base->guid : "";
  begin.ino_limit = store.InoLimit();
  HOODY_RETURN_IF_ERROR(out.Begin(begin));
  if (base) {
    HOODY_RETURN_IF_ERROR(SendIncremental(store, base->gen, target.gen, out, &stats));
  } else {
    HOODY_ASSIGN_OR_RETURN(FileSystem fs, store.AtGeneration(target.gen));
    ExportOptions options;
    ExportWalk walk(fs, options);
    FullSender sender(fs, out, &stats);
    HOODY_RETURN_IF_ERROR(walk.Run(sender));
  }
  HOODY_RETURN_IF_ERROR(out.End());
  stats.records = out.records();
  stats.bytes_out = out.bytes_out();
  return stats;
}

}  // namespace hoodyfs::snapshotter
