#include "snapshotter/transfer/import_sink.h"

#include <sys/stat.h>

#include <string>

namespace hoodyfs::snapshotter {
namespace {
// "0140755": modes read best in octal.
std::string OctalMode(uint32_t mode) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (mode & 7)));
    mode >>= 3;
  } while (mode != 0);
  return "0" + digits;
}

CreateOptions Create(const NodeAttrs& attrs) {
  CreateOptions o;
  o.ino = attrs.ino;
  return o;
}

WholeFile WholeFileOf(const NodeAttrs& attrs, std::span<const char> data, uint64_t size) {
  WholeFile file;
  file.mode = attrs.mode & 07777;
  file.owner = attrs.owner;
  file.data = data;
  file.size = size;
  file.atime = attrs.atime;
  file.mtime = attrs.mtime;
  file.xattrs = attrs.xattrs;
  file.ino = attrs.ino;
  return file;
}

}  // namespace

Status ImportSink::BeforeChange() {
  if (!options_.before_first_change) return Status::OK();
  std::lock_guard lock(first_change_mu_);
  if (!first_change_) first_change_ = options_.before_first_change();
  return *first_change_;
}

Result<Ino> ImportSink::MakeDirectory(Ino parent, std::string_view name, const NodeAttrs& attrs) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  Result<Entry> made = fs_.Mkdir(parent, name, attrs.mode & 07777, attrs.owner, Create(attrs));
  if (!made.ok() && made.status().code() == Code::kExists) {
    // A directory that is there already is merged into, as tar does.
    HOODY_ASSIGN_OR_RETURN(Entry existing, fs_.Lookup(parent, name));
    if (!S_ISDIR(existing.attr.mode)) return made.status();
    HOODY_RETURN_IF_ERROR(UpdateDirectory(existing.ino, attrs));
    Count(&ImportStats::directories);
    return existing.ino;
  }
  HOODY_RETURN_IF_ERROR(made.status());
  HOODY_RETURN_IF_ERROR(SetXattrs(made->ino, attrs));
  Count(&ImportStats::directories);
  return made->ino;
}

Status ImportSink::UpdateDirectory(Ino dir, const NodeAttrs& attrs) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  SetAttrRequest req;
  req.mode = attrs.mode & 07777;
  req.uid = attrs.owner.uid;
  req.gid = attrs.owner.gid;
  HOODY_ASSIGN_OR_RETURN(Attr attr, fs_.SetAttr(dir, req));
  if (!S_ISDIR(attr.mode)) {
    return Status::NotDirectory("inode " + std::to_string(dir.value) + " is not a directory");
  }
  return SetXattrs(dir, attrs);
}

Status ImportSink::FinishDirectory(Ino dir, const NodeAttrs& attrs) {
  if (options_.replace) {
    // Only when entries came or went (or the source's mtime moved): an
    // unchanged tree changes nothing.
    HOODY_ASSIGN_OR_RETURN(Attr now, fs_.GetAttr(dir));
    if (now.mtime.sec == attrs.mtime.sec && now.mtime.nsec == attrs.mtime.nsec) {
      return Status::OK();
    }
  }
  HOODY_RETURN_IF_ERROR(BeforeChange());
  return SetTimes(dir, attrs, std::nullopt);
}

Result<Ino> ImportSink::CreateFile(Ino parent, std::string_view name, const NodeAttrs& attrs) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  // Mknod takes the setuid/setgid bits as they are: nothing here clears them.
  HOODY_ASSIGN_OR_RETURN(Entry e, fs_.Mknod(parent, name, S_IFREG | (attrs.mode & 07777), 0,
                                            attrs.owner, Create(attrs)));
  Count(&ImportStats::files);
  return e.ino;
}

Result<Ino> ImportSink::MakeFile(Ino parent, std::string_view name, const NodeAttrs& attrs,
                                 std::span<const char> data, uint64_t size) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  HOODY_ASSIGN_OR_RETURN(Entry e, fs_.MakeWholeFile(parent, name, WholeFileOf(attrs, data, size)));
  Count(&ImportStats::files);
  Count(&ImportStats::bytes, data.size());
  return e.ino;
}

Result<StartedWholeFile> ImportSink::StartFile(const NodeAttrs& attrs, std::span<const char> data,
                                               uint64_t size, blockstore::AlignedBuffer* staging) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  return fs_.StartWholeFile(WholeFileOf(attrs, data, size), staging);
}

Result<Ino> ImportSink::FinishStartedFile(Ino parent, std::string_view name,
                                          StartedWholeFile started) {
  const uint64_t bytes = started.data_bytes();
  HOODY_ASSIGN_OR_RETURN(Entry e, fs_.FinishWholeFile(parent, name, std::move(started)));
  Count(&ImportStats::files);
  Count(&ImportStats::bytes, bytes);
  return e.ino;
}

Status ImportSink::Write(Ino file, uint64_t offset, std::span<const char> data) {
  while (!data.empty()) {
    // A short count means a failure cut the write after a prefix landed: the
    // next call on the rest returns that failure.
    HOODY_ASSIGN_OR_RETURN(size_t n, fs_.Write(file, offset, data));
    HOODY_ASSERT(n > 0 && n <= data.size(), "Write returned no progress without an error");
    Count(&ImportStats::bytes, n);
    offset += n;
    data = data.subspan(n);
  }
  return Status::OK();
}

Status ImportSink::FinishFile(Ino file, uint64_t written_end, uint64_t size,
                              const NodeAttrs& attrs) {
  HOODY_RETURN_IF_ERROR(SetXattrs(file, attrs));
  return SetTimes(file, attrs, written_end == size ? std::nullopt : std::optional<uint64_t>(size));
}

Result<Ino> ImportSink::MakeSpecial(Ino parent, std::string_view name, const NodeAttrs& attrs,
                                    std::string_view symlink_target) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  Entry e;
  const uint32_t type = attrs.mode & S_IFMT;
  if (type == S_IFLNK) {
    HOODY_ASSIGN_OR_RETURN(e,
                           fs_.Symlink(parent, name, symlink_target, attrs.owner, Create(attrs)));
    Count(&ImportStats::symlinks);
  } else if (type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR || type == S_IFBLK) {
    HOODY_ASSIGN_OR_RETURN(
        e, fs_.Mknod(parent, name, attrs.mode, attrs.rdev, attrs.owner, Create(attrs)));
    Count(&ImportStats::specials);
  } else {
    return Status::NotSupported("unsupported file type (mode " + OctalMode(attrs.mode) + ")");
  }
  HOODY_RETURN_IF_ERROR(SetXattrs(e.ino, attrs));
  HOODY_RETURN_IF_ERROR(SetTimes(e.ino, attrs, std::nullopt));
  return e.ino;
}

Status ImportSink::Link(Ino target, Ino parent, std::string_view name) {
  HOODY_RETURN_IF_ERROR(BeforeChange());
  HOODY_RETURN_IF_ERROR(fs_.Link(target, parent, name).status());
  Count(&ImportStats::hardlinks);
  return Status::OK();
}

void ImportSink::Imported(std::string_view path) {
  std::lock_guard lock(mu_);
  ++completed_;
  if (options_.progress) options_.progress(ImportProgress{stats_, path});
}

Status ImportSink::Failed(const Status& st, std::string_view path) const {
  uint64_t completed;
  {
    std::lock_guard lock(mu_);
    completed = completed_;
  }
  // Whether those entries stay is the caller's to say (hoodyfs import
  // undoes a failed import): this names only how far it got.
  return st.WithContext("import stopped at '" + std::string(path) + "' after " +
                        std::to_string(completed) + " entries");
}

Status ImportSink::SetXattrs(Ino ino, const NodeAttrs& attrs) {
  for (const auto& [name, value] : attrs.xattrs) {
    HOODY_RETURN_IF_ERROR(fs_.SetXattr(ino, name, value).WithContext("xattr " + name));
  }
  return Status::OK();
}

Status ImportSink::SetTimes(Ino ino, const NodeAttrs& attrs, std::optional<uint64_t> size) {
  SetAttrRequest req;
  req.atime = attrs.atime;
  req.mtime = attrs.mtime;
  req.size = size;
  return fs_.SetAttr(ino, req).status();
}

}  // namespace hoodyfs::snapshotter
