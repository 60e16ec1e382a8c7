// The receiving side of send_stream.h: checks each record and applies it
// to the scratch head through ImportSink, the import's container side.
//
// The order of an incremental stream's changes does not matter: every name
// that goes away (kUnlink) is first moved into a scratch directory under
// the root, new inodes without a place are made there too, and each name
// that comes (kLink) takes its inode from there (or links it where it is).
// What is left in the scratch directory at the end is what the snapshot no
// longer holds, and goes. Directory times go on last, once their entries
// stopped changing.
#include <sys/stat.h>

#include <array>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "blockstore/aligned_buffer.h"
#include "snapshotter/transfer/import_sink.h"
#include "snapshotter/transfer/send_stream.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::snapshotter {
namespace {

using stream::Kind;
using stream::RawRecord;
using stream::StreamReader;

NodeAttrs AttrsOf(const stream::NodeRecord& n) {
  NodeAttrs a;
  a.mode = n.mode;
  a.owner = Owner{n.uid, n.gid};
  a.rdev = n.rdev;
  a.atime = n.atime;
  a.mtime = n.mtime;
  a.xattrs = n.xattrs;
  a.ino = n.ino;
  return a;
}

bool KnownType(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
      return true;
    default:
      return false;
  }
}

class Applier {
 public:
  Applier(FileSystem& fs, const stream::BeginRecord& begin)
      : fs_(fs), sink_(fs, options_), begin_(begin) {
    options_.threads = 0;
  }
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  Status Apply(const RawRecord& r, StreamReader& in) {
    switch (r.kind) {
      case Kind::kUnlink: {
        HOODY_RETURN_IF_ERROR(FinishFile(r));
        HOODY_RETURN_IF_ERROR(FinishStarted());
        if (placed_any_) return StreamReader::Bad(r, "an unlink after the stream's inodes");
        HOODY_ASSIGN_OR_RETURN(stream::UnlinkRecord u, in.DecodeUnlink(r));
        return Unlink(r, u);
      }
      case Kind::kNode: {
        HOODY_RETURN_IF_ERROR(FinishFile(r));
        placed_any_ = true;
        HOODY_ASSIGN_OR_RETURN(stream::NodeRecord n, in.DecodeNode(r));
        ++nodes_;
        return Node(r, std::move(n));
      }
      case Kind::kData: {
        HOODY_ASSIGN_OR_RETURN(stream::DataRecord d, in.DecodeData(r));
        return Data(r, d);
      }
      case Kind::kLink: {
        HOODY_RETURN_IF_ERROR(FinishFile(r));
        HOODY_RETURN_IF_ERROR(FinishStarted());
        placed_any_ = true;
        HOODY_ASSIGN_OR_RETURN(stream::LinkRecord l, in.DecodeLink(r));
        return Link(r, l);
      }
      case Kind::kBegin:
        return StreamReader::Bad(r, "a second begin record");
      case Kind::kEnd:
        return StreamReader::Bad(r, "trailer handled by the caller");
    }
    return StreamReader::Bad(r, "unknown kind");
  }

  // After the trailer: drops what the snapshot no longer holds, then sets
  // the directories' times.
  Status Finish(const RawRecord& end) {
    HOODY_RETURN_IF_ERROR(FinishFile(end));
    HOODY_RETURN_IF_ERROR(FinishStarted());
    if (scratch_dir_) {
      HOODY_ASSIGN_OR_RETURN(auto left, sink_.ListExisting(*scratch_dir_));
      for (const auto& [name, entry] : left) {
        HOODY_RETURN_IF_ERROR(sink_.RemoveTree(*scratch_dir_, name, entry));
      }
      HOODY_RETURN_IF_ERROR(fs_.Rmdir(kRootIno, scratch_name_));
      if (!root_times_) {
        // The stream left the root alone: put back the times the scratch
        // directory moved.
        SetAttrRequest req;
        req.atime = root_before_.atime;
        req.mtime = root_before_.mtime;
        HOODY_RETURN_IF_ERROR(fs_.SetAttr(kRootIno, req).status());
      }
    }
    for (const auto& [ino, attrs] : dir_times_) {
      SetAttrRequest req;
      req.atime = attrs.first;
      req.mtime = attrs.second;
      HOODY_RETURN_IF_ERROR(fs_.SetAttr(ino, req).status());
    }
    return Status::OK();
  }

  uint64_t nodes() const { return nodes_; }
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  // Inode numbers come from the sender; the receiver's own (the scratch
  // directory) start at ino_limit.
  Status CheckIno(const RawRecord& r, Ino ino) const {
    if (ino.value >= begin_.ino_limit) {
      return StreamReader::Bad(r, "inode " + std::to_string(ino.value) +
                                      " beyond the stream's limit " +
                                      std::to_string(begin_.ino_limit));
    }
    return Status::OK();
  }

  Result<Ino> ScratchDir() {
    if (scratch_dir_) return *scratch_dir_;
    HOODY_ASSIGN_OR_RETURN(root_before_, fs_.GetAttr(kRootIno));
    scratch_name_ = ".hoodyfs-receive-" + std::to_string(begin_.ino_limit);
    CreateOptions o;
    o.ino = Ino(begin_.ino_limit);
    HOODY_ASSIGN_OR_RETURN(Entry e, fs_.Mkdir(kRootIno, scratch_name_, 0700, Owner{}, o));
    scratch_dir_ = e.ino;
    return e.ino;
  }

  Status Unlink(const RawRecord& r, const stream::UnlinkRecord& u) {
    HOODY_RETURN_IF_ERROR(CheckIno(r, u.parent));
    Result<Entry> e = fs_.Lookup(u.parent, u.name);
    if (!e.ok()) {
      return StreamReader::Bad(r, "no name '" + u.name + "' in directory " +
                                      std::to_string(u.parent.value) + " to remove (" +
                                      e.status().ToString() + ")");
    }
    HOODY_ASSIGN_OR_RETURN(Ino dir, ScratchDir());
    const std::string parked = "u" + std::to_string(r.index);
    HOODY_RETURN_IF_ERROR(Wrap(r, fs_.Rename(u.parent, u.name, dir, parked)));
    parked_[e->ino.value].push_back(parked);
    return Status::OK();
  }

  Status Node(const RawRecord& r, stream::NodeRecord n) {
    HOODY_RETURN_IF_ERROR(CheckIno(r, n.ino));
    if (!KnownType(n.mode)) return StreamReader::Bad(r, "unknown file type");
    if (n.parent.valid()) HOODY_RETURN_IF_ERROR(CheckIno(r, n.parent));
    const NodeAttrs attrs = AttrsOf(n);
    // Only a new regular file with its place known waits for its data
    // without the engine; anything else needs the started file in.
    if ((n.flags & stream::kNodeNew) == 0 || !S_ISREG(n.mode) || !n.parent.valid()) {
      HOODY_RETURN_IF_ERROR(FinishStarted());
    }
    if ((n.flags & stream::kNodeNew) == 0) return Update(r, n, attrs);
    if (n.ino == kRootIno) return StreamReader::Bad(r, "the root as a new inode");
    Ino parent = n.parent;
    std::string name = n.name;
    if (!parent.valid()) {
      HOODY_ASSIGN_OR_RETURN(parent, ScratchDir());
      name = "n" + std::to_string(n.ino.value);
      parked_[n.ino.value].push_back(name);
    }
    Result<Ino> made = [&]() -> Result<Ino> {
      switch (n.mode & S_IFMT) {
        case S_IFDIR:
          dir_times_.emplace_back(n.ino, std::make_pair(n.atime, n.mtime));
          return sink_.MakeDirectory(parent, name, attrs);
        case S_IFREG:
          // Made once its data is in (FinishFile), in one engine call.
          file_.emplace(n, attrs);
          file_->unmade = PendingFile::Place{parent, name, RawRecord{r.index, r.kind, {}}};
          whole_.clear();
          return n.ino;
        default:
          return sink_.MakeSpecial(parent, name, attrs, n.symlink_target);
      }
    }();
    HOODY_RETURN_IF_ERROR(Wrap(r, made.status()));
    if (*made != n.ino) return StreamReader::Bad(r, "'" + name + "' exists already");
    return Status::OK();
  }

  // A node the base holds: same type, new attributes, a file's new data.
  Status Update(const RawRecord& r, const stream::NodeRecord& n, const NodeAttrs& attrs) {
    Result<Attr> now = fs_.GetAttr(n.ino);
    if (!now.ok() || now->nlink == 0) {
      return StreamReader::Bad(
          r, "inode " + std::to_string(n.ino.value) + " does not exist on the receiving side");
    }
    if ((now->mode & S_IFMT) != (n.mode & S_IFMT)) {
      return StreamReader::Bad(r, "inode " + std::to_string(n.ino.value) + " changed its type");
    }
    HOODY_RETURN_IF_ERROR(Wrap(r, sink_.UpdateAttrs(n.ino, attrs, /*times=*/false).status()));
    if (S_ISDIR(n.mode)) {
      if (n.ino == kRootIno) root_times_ = true;
      dir_times_.emplace_back(n.ino, std::make_pair(n.atime, n.mtime));
    } else if (S_ISREG(n.mode)) {
      // The file travels whole: start from empty so old data cannot stay.
      SetAttrRequest req;
      req.size = 0;
      HOODY_RETURN_IF_ERROR(Wrap(r, fs_.SetAttr(n.ino, req).status()));
      file_.emplace(n, attrs);
    } else {
      SetAttrRequest req;
      req.atime = n.atime;
      req.mtime = n.mtime;
      HOODY_RETURN_IF_ERROR(Wrap(r, fs_.SetAttr(n.ino, req).status()));
    }
    return Status::OK();
  }

  Status Data(const RawRecord& r, const stream::DataRecord& d) {
    if (!file_ || file_->node.ino != d.ino) {
      return StreamReader::Bad(r, "data for inode " + std::to_string(d.ino.value) +
                                      ", which is not the regular file just sent");
    }
    if (d.offset < file_->written_end || d.offset > file_->node.size ||
        d.bytes.size() > file_->node.size - d.offset) {
      return StreamReader::Bad(
          r, "data at " + std::to_string(d.offset) + "+" + std::to_string(d.bytes.size()) +
                 " overlaps earlier data or passes the size " + std::to_string(file_->node.size));
    }
    if (file_->made_whole) return Status::OK();  // only an empty record passes the check above
    if (file_->unmade && whole_.empty() && d.offset == 0 && !d.bytes.empty() &&
        d.bytes.size() == file_->node.size && d.bytes.size() <= kWholeFileMaxDataBytes) {
      // All of a new file in one record (every file up to kMaxDataBytes):
      // made from the record itself, not from a copy in whole_.
      file_->made_whole = true;
      file_->written_end = d.offset + d.bytes.size();
      data_bytes_ += d.bytes.size();
      return MakeWhole({d.bytes.data(), d.bytes.size()});
    }
    if (file_->unmade && d.offset == file_->written_end &&
        d.bytes.size() <= kWholeFileMaxDataBytes - whole_.size()) {
      whole_.append(d.bytes);
    } else {
      // A hole inside, or more than one call takes: the file is made empty
      // and written as it comes.
      HOODY_RETURN_IF_ERROR(FinishStarted());
      HOODY_RETURN_IF_ERROR(MakeUnmadeEmpty());
      HOODY_RETURN_IF_ERROR(
          Wrap(r, sink_.Write(d.ino, d.offset, {d.bytes.data(), d.bytes.size()})));
    }
    file_->written_end = d.offset + d.bytes.size();
    data_bytes_ += d.bytes.size();
    return Status::OK();
  }

  Status Link(const RawRecord& r, const stream::LinkRecord& l) {
    HOODY_RETURN_IF_ERROR(CheckIno(r, l.parent));
    HOODY_RETURN_IF_ERROR(CheckIno(r, l.ino));
    auto parked = parked_.find(l.ino.value);
    if (parked != parked_.end() && !parked->second.empty()) {
      const std::string from = parked->second.back();
      parked->second.pop_back();
      return Wrap(r, fs_.Rename(*scratch_dir_, from, l.parent, l.name, RenameFlags::kNoReplace));
    }
    Result<Attr> a = fs_.GetAttr(l.ino);
    if (!a.ok() || a->nlink == 0) {
      return StreamReader::Bad(
          r, "a name for inode " + std::to_string(l.ino.value) + ", which does not exist");
    }
    if (S_ISDIR(a->mode)) return StreamReader::Bad(r, "a second name for a directory");
    return Wrap(r, fs_.Link(l.ino, l.parent, l.name).status());
  }

  // Makes the finished file whole in one call when its data waited in
  // whole_; else sets its size (a trailing hole), xattrs and times.
  Status FinishFile(const RawRecord& r) {
    if (!file_) return Status::OK();
    if (file_->made_whole) {
      file_.reset();
      return Status::OK();
    }
    if (file_->unmade) {
      const Status made = MakeWhole(whole_);
      file_.reset();
      return made;
    }
    PendingFile f = std::move(*file_);
    file_.reset();
    HOODY_RETURN_IF_ERROR(FinishStarted());
    return Wrap(r, sink_.FinishFile(f.node.ino, f.written_end, f.node.size, f.attrs));
  }

  // Makes the pending new file with all its data and attributes in one
  // engine change. Its data's write is started here and the change made
  // once kFilesInFlight later files have started, or before any other
  // engine call (FinishStarted), so the receive reads and checks the next
  // records while the data file takes this one's bytes: a buffered write
  // that the host filesystem cannot take without blocking goes to an
  // io_uring worker, and waiting for it on every file was half of the
  // receiver's sleeps.
  Status MakeWhole(std::span<const char> data) {
    PendingFile::Place at = std::move(*file_->unmade);
    file_->unmade.reset();
    Result<StartedWholeFile> started =
        sink_.StartFile(file_->attrs, data, file_->node.size, &staging_[next_staging_]);
    HOODY_RETURN_IF_ERROR(Wrap(at.record, started.status()));
    next_staging_ = (next_staging_ + 1) % staging_.size();
    // Queued before anything can fail: a failure below drops it with the
    // others (the Applier's destructor).
    started_.push_back(StartedFile{std::move(*started), std::move(at), file_->node.ino});
    // The oldest file holds the buffer the next start takes.
    if (started_.size() > kFilesInFlight) return FinishOldest();
    return Status::OK();
  }

  // Links and maps every file MakeWhole started, oldest first.
  Status FinishStarted() {
    while (!started_.empty()) HOODY_RETURN_IF_ERROR(FinishOldest());
    return Status::OK();
  }

  Status FinishOldest() {
    StartedFile f = std::move(started_.front());
    started_.pop_front();
    Result<Ino> made = sink_.FinishStartedFile(f.at.parent, f.at.name, std::move(f.file));
    HOODY_RETURN_IF_ERROR(Wrap(f.at.record, made.status()));
    if (*made != f.ino) return StreamReader::Bad(f.at.record, "'" + f.at.name + "' exists already");
    return Status::OK();
  }

  // Creates the pending file empty and writes what whole_ holds, for the
  // data that follows to be written as it comes (CreateFile, Write, FinishFile).
  Status MakeUnmadeEmpty() {
    if (!file_ || !file_->unmade) return Status::OK();
    const PendingFile::Place at = std::move(*file_->unmade);
    file_->unmade.reset();
    Result<Ino> made = sink_.CreateFile(at.parent, at.name, file_->attrs);
    HOODY_RETURN_IF_ERROR(Wrap(at.record, made.status()));
    if (*made != file_->node.ino) {
      return StreamReader::Bad(at.record, "'" + at.name + "' exists already");
    }
    return Wrap(at.record, sink_.Write(*made, 0, whole_));
  }

  // A FileSystem error while applying record r, named by it.
  static Status Wrap(const RawRecord& r, const Status& st) {
    if (st.ok()) return st;
    return st.WithContext("send stream record " + std::to_string(r.index) + " (" +
                          stream::KindName(static_cast<uint8_t>(r.kind)) + ")");
  }

  struct PendingFile {
    PendingFile(const stream::NodeRecord& n, const NodeAttrs& a) : node(n), attrs(a) {}
    stream::NodeRecord node;
    NodeAttrs attrs;
    uint64_t written_end = 0;
    // Where a new file goes, while it waits for its data to be made whole.
    struct Place {
      Ino parent;
      std::string name;
      RawRecord record;  // its node record, to name in errors (no payload)
    };
    std::optional<Place> unmade;
    bool made_whole = false;  // made by MakeWhole: nothing is left to do
  };

  // A new file whose data is being written (MakeWhole), to link next.
  struct StartedFile {
    StartedWholeFile file;
    PendingFile::Place at;
    Ino ino;  // the number the stream gave it
  };

  FileSystem& fs_;
  ImportOptions options_;
  ImportSink sink_;
  // New files whose data may be in flight while the next one starts.
  static constexpr size_t kFilesInFlight = 2;
  // Staging buffers taken in turn: each started file's data stays in its
  // own until it is in. Declared before started_, which must go first.
  std::array<blockstore::AlignedBuffer, kFilesInFlight + 1> staging_;
  size_t next_staging_ = 0;
  std::deque<StartedFile> started_;  // oldest first
  const stream::BeginRecord& begin_;
  std::optional<Ino> scratch_dir_;
  std::string scratch_name_;
  Attr root_before_;
  bool root_times_ = false;
  bool placed_any_ = false;
  // Inode -> its names parked in the scratch directory.
  std::unordered_map<uint64_t, std::vector<std::string>> parked_;
  std::vector<std::pair<Ino, std::pair<index::Timespec, index::Timespec>>> dir_times_;
  std::optional<PendingFile> file_;
  // The data of file_ while it is unmade; kept between files so that its
  // room is allocated once.
  std::string whole_;
  uint64_t nodes_ = 0;
  uint64_t data_bytes_ = 0;
};

// Reads the stream into the scratch container; the caller publishes it.
Status ReceiveInto(FileSystem& fs, StreamReader& in, const stream::BeginRecord& begin,
                   ReceiveStats* stats) {
  Applier applier(fs, begin);
  for (;;) {
    HOODY_ASSIGN_OR_RETURN(RawRecord r, in.Next());
    if (r.kind == Kind::kEnd) {
      HOODY_RETURN_IF_ERROR(applier.Finish(r));
      stats->records = r.index + 1;
      break;
    }
    HOODY_RETURN_IF_ERROR(applier.Apply(r, in));
  }
  // Nothing may follow the trailer.
  Result<RawRecord> after = in.Next();
  if (after.ok()) return Status::Corruption("send stream: a record after its trailer");
  if (after.status().code() != Code::kRange) return after.status();
  stats->nodes = applier.nodes();
  stats->data_bytes = applier.data_bytes();
  return Status::OK();
}

}  // namespace

Result<ReceiveStats> ReceiveSnapshot(Snapshotter& snap, const std::string& container, int fd) {
  StreamReader in(fd);
  HOODY_RETURN_IF_ERROR(in.ReadHeader());
  HOODY_ASSIGN_OR_RETURN(RawRecord first, in.Next());
  if (first.kind != Kind::kBegin)
    return StreamReader::Bad(first, "the stream must open with begin");
  HOODY_ASSIGN_OR_RETURN(stream::BeginRecord begin, in.DecodeBegin(first));
  if (begin.ino_limit <= kRootIno.value || begin.ino_limit >= kMaxChosenIno) {
    return StreamReader::Bad(first, "absurd inode limit " + std::to_string(begin.ino_limit));
  }
  ReceiveStats stats;
  stats.incremental = !begin.base_guid.empty();
  const ReceivedSnapshot received{begin.name, begin.alias, begin.created_ns, begin.guid,
                                  begin.base_guid};
  Result<std::string> began = snap.BeginReceive(container, received);
  if (!began.ok()) {
    return began.status().WithContext("nothing received into '" + container + "'");
  }
  const std::string scratch = *began;
  Status st = [&]() -> Status {
    HOODY_ASSIGN_OR_RETURN(FileSystem fs, snap.store().Head(scratch));
    HOODY_RETURN_IF_ERROR(ReceiveInto(fs, in, begin, &stats));
    HOODY_ASSIGN_OR_RETURN(stats.snapshot, snap.PublishReceive(scratch, container, received));
    return Status::OK();
  }();
  if (!st.ok()) {
    snap.AbortReceive(scratch).IgnoreError();
    return st.WithContext("nothing received into '" + container + "'");
  }
  stats.bytes_in = in.bytes_in();
  return stats;
}

}  // namespace hoodyfs::snapshotter
