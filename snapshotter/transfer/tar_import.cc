// ImportTar: reads a tar stream with libarchive (docs/design.md, "Dependencies
// beyond the engine's") and feeds each entry to ImportSink.
//
// Tar streams list entries in any order, so directories are found by path:
// a map from each directory's path to its inode, filled as directories are
// made (those the stream implies before listing them are made with 0755,
// owner 0:0, and take their attributes when their own entry comes). A
// directory's times are set after the whole stream is in, as tar does.
//
// libarchive's view of an entry needs two corrections:
//  - it folds a parsed access ACL's group entry into the mode's group bits,
//    where the file's mode holds the ACL mask (Linux, and the tar header):
//    when the ACL has a mask, the group bits are the mask again;
//  - ACLs that come only as text (SCHILY.acl.*) become raw xattrs.
#include <archive.h>
#include <archive_entry.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "snapshotter/engine/names.h"
#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/transfer/import_sink.h"
#include "snapshotter/transfer/tree_import.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;

// "./a//b/" -> "a/b"; "." and "./" -> "" (the top directory). Refuses "..",
// which would leave the import directory, and components over 255 bytes.
Result<std::string> NormalizePath(std::string_view raw) {
  std::string out;
  size_t at = 0;
  while (at <= raw.size()) {
    size_t end = raw.find('/', at);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view part = raw.substr(at, end - at);
    at = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Status::InvalidArgument("path '" + std::string(raw) + "' contains '..'");
    }
    if (part.size() > kNameMax) {
      return Status::NameTooLong("name of " + std::to_string(part.size()) +
                                 " bytes (max 255) in '" + std::string(raw) + "'");
    }
    if (!out.empty()) out += '/';
    out.append(part);
  }
  return out;
}

// "a/b/c" -> ("a/b", "c"); "c" -> ("", "c").
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// libarchive ACL tags and types -> ours.
bool ToAclTag(int tag, AclTag* out) {
  switch (tag) {
    case ARCHIVE_ENTRY_ACL_USER_OBJ:
      *out = AclTag::kUserObj;
      return true;
    case ARCHIVE_ENTRY_ACL_USER:
      *out = AclTag::kUser;
      return true;
    case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
      *out = AclTag::kGroupObj;
      return true;
    case ARCHIVE_ENTRY_ACL_GROUP:
      *out = AclTag::kGroup;
      return true;
    case ARCHIVE_ENTRY_ACL_MASK:
      *out = AclTag::kMask;
      return true;
    case ARCHIVE_ENTRY_ACL_OTHER:
      *out = AclTag::kOther;
      return true;
    default:
      return false;
  }
}

bool HasXattr(const NodeAttrs& attrs, std::string_view name) {
  return std::any_of(attrs.xattrs.begin(), attrs.xattrs.end(),
                     [&](const auto& x) { return x.first == name; });
}

// The uid or gid of a named ACL entry: libarchive gives the id when the
// text had one as a fourth field ("user:alice:rwx:1000", star and bsdtar),
// else only the name, which is a number with --numeric-owner and else a
// user or group name of this host (as GNU tar resolves it on extraction).
Result<uint32_t> AclId(AclTag tag, int id, const char* name) {
  if (id >= 0) return static_cast<uint32_t>(id);
  const std::string n = name != nullptr ? name : "";
  if (!n.empty() && n.size() <= 10 && n.find_first_not_of("0123456789") == std::string::npos) {
    const uint64_t v = std::strtoull(n.c_str(), nullptr, 10);
    if (v <= UINT32_MAX) return static_cast<uint32_t>(v);
  }
  std::vector<char> buf(16384);
  if (tag == AclTag::kUser) {
    struct passwd pw = {};
    struct passwd* found = nullptr;
    if (::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
      return static_cast<uint32_t>(found->pw_uid);
    }
    return Status::InvalidArgument("ACL names user '" + n + "', unknown on this host");
  }
  struct group gr = {};
  struct group* found = nullptr;
  if (::getgrnam_r(n.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return static_cast<uint32_t>(found->gr_gid);
  }
  return Status::InvalidArgument("ACL names group '" + n + "', unknown on this host");
}

// Adds the entry's POSIX ACLs that have no raw xattr as raw xattrs, and
// puts the mask back into the mode's group bits.
Status TakeAcls(archive_entry* e, NodeAttrs* attrs) {
  std::vector<AclEntry> access, defaults;
  int mask = -1;
  if (archive_entry_acl_reset(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E) <= 0) return Status::OK();
  int type, perm, tag, id;
  const char* name;
  while (archive_entry_acl_next(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E, &type, &perm, &tag, &id,
                                &name) == ARCHIVE_OK) {
    AclEntry entry;
    if (!ToAclTag(tag, &entry.tag)) continue;
    entry.perm = static_cast<uint16_t>(perm & 7);
    if (entry.tag == AclTag::kUser || entry.tag == AclTag::kGroup) {
      HOODY_ASSIGN_OR_RETURN(entry.id, AclId(entry.tag, id, name));
    }
    if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS) {
      if (entry.tag == AclTag::kMask) mask = entry.perm;
      access.push_back(entry);
    } else if (type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) {
      defaults.push_back(entry);
    }
  }
  // An access ACL of the three base entries only is the mode itself.
  if (access.size() > 3 && !HasXattr(*attrs, kAclAccessXattr)) {
    attrs->xattrs.emplace_back(kAclAccessXattr, EncodePosixAcl(access));
  }
  if (!defaults.empty() && !HasXattr(*attrs, kAclDefaultXattr)) {
    attrs->xattrs.emplace_back(kAclDefaultXattr, EncodePosixAcl(defaults));
  }
  if (mask >= 0) attrs->mode = (attrs->mode & ~070u) | (static_cast<uint32_t>(mask) << 3);
  return Status::OK();
}

Result<NodeAttrs> AttrsOf(archive_entry* e) {
  NodeAttrs a;
  a.mode = archive_entry_mode(e);
  a.owner = Owner{static_cast<uint32_t>(archive_entry_uid(e)),
                  static_cast<uint32_t>(archive_entry_gid(e))};
  a.rdev = archive_entry_rdev(e);
  a.mtime =
      index::Timespec{archive_entry_mtime(e), static_cast<uint32_t>(archive_entry_mtime_nsec(e))};
  // Streams without atimes (ustar, GNU tar's default) get the mtime.
  a.atime = archive_entry_atime_is_set(e)
                ? index::Timespec{archive_entry_atime(e),
                                  static_cast<uint32_t>(archive_entry_atime_nsec(e))}
                : a.mtime;
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    a.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  HOODY_RETURN_IF_ERROR(TakeAcls(e, &a));
  return a;
}

// Warnings libarchive gives while still delivering the entry whole: names
// that do not convert to the (C) locale come back as their raw bytes, which
// is what a Linux file name is.
bool HarmlessWarning(archive* a) {
  const char* msg = archive_error_string(a);
  if (msg == nullptr) return true;
  for (const char* what : {"Pathname", "Linkname", "Uname", "Gname", "Symlink"}) {
    const std::string prefix = std::string(what) + " can't be converted";
    if (std::strncmp(msg, prefix.c_str(), prefix.size()) == 0) return true;
  }
  return false;
}

class TarImporter {
 public:
  TarImporter(FileSystem& fs, const ImportOptions& options)
      : sink_(fs, options), into_(options.into), archive_(archive_read_new()) {
    dirs_.emplace("", into_);
  }
  ~TarImporter() { archive_read_free(archive_); }
  TarImporter(const TarImporter&) = delete;
  TarImporter& operator=(const TarImporter&) = delete;
  TarImporter(TarImporter&&) = delete;
  TarImporter& operator=(TarImporter&&) = delete;

  Status Run(int fd);
  ImportStats stats() const { return sink_.stats(); }

 private:
  Status Malformed(std::string_view where) const {
    const char* msg = archive_error_string(archive_);
    return Status::Corruption("malformed tar stream " + std::string(where) + ": " +
                              (msg != nullptr ? msg : "unknown error"));
  }
  Status ImportEntry(archive_entry* e, const std::string& path);
  // The inode an earlier entry made at (raw, not normalized) `path`.
  Result<Ino> Resolve(std::string_view raw);
  // The directory that holds `path` (made, with its parents, when absent).
  Result<Ino> ParentOf(const std::string& path, std::string* leaf);
  Status ImportDirectory(const std::string& path, Ino parent, const std::string& leaf,
                         const NodeAttrs& attrs);
  // Copies the entry's data blocks (holes skipped) into `file`.
  Status ReadData(Ino file, const std::string& path, uint64_t* written_end);
  Status FlushStage(Ino file, uint64_t* written_end);

  struct DirTimes {
    Ino dir;
    NodeAttrs attrs;  // times only
  };

  ImportSink sink_;
  const Ino into_;
  archive* archive_;
  std::unordered_map<std::string, Ino> dirs_;  // path -> inode; "" is `into`
  std::vector<DirTimes> dir_times_;            // applied at the end
  std::vector<char> stage_;                    // coalesces data blocks into 1 MiB pieces
  uint64_t stage_offset_ = 0;
};

Status TarImporter::Run(int fd) {
  archive_read_support_format_tar(archive_);
  archive_read_support_filter_all(archive_);
  stage_.reserve(kPieceBytes);
  if (archive_read_open_fd(archive_, fd, kPieceBytes) != ARCHIVE_OK) {
    return Malformed("at its start");
  }
  std::string last = "(none)";
  uint64_t count = 0;
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(archive_, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && !(r == ARCHIVE_WARN && HarmlessWarning(archive_))) {
      return sink_.Failed(
          Malformed("in the header after entry #" + std::to_string(count) + " '" + last + "'"),
          "entry #" + std::to_string(count + 1));
    }
    ++count;
    const char* raw = archive_entry_pathname(e);
    last = raw != nullptr ? raw : "";
    Result<std::string> path = NormalizePath(last);
    Status s = path.ok() ? ImportEntry(e, *path) : path.status();
    if (!s.ok()) return sink_.Failed(s, last);
    sink_.Imported(last);
  }
  for (const DirTimes& d : dir_times_) {
    HOODY_RETURN_IF_ERROR(sink_.FinishDirectory(d.dir, d.attrs).WithContext("directory times"));
  }
  return Status::OK();
}

Status TarImporter::ImportEntry(archive_entry* e, const std::string& path) {
  HOODY_ASSIGN_OR_RETURN(const NodeAttrs attrs, AttrsOf(e));
  const uint32_t type = attrs.mode & S_IFMT;
  if (path.empty()) {
    if (type != S_IFDIR) return Status::NotDirectory("the top entry is not a directory");
    HOODY_RETURN_IF_ERROR(sink_.UpdateDirectory(into_, attrs));
    dir_times_.push_back(DirTimes{into_, attrs});
    return Status::OK();
  }
  std::string leaf;
  HOODY_ASSIGN_OR_RETURN(Ino parent, ParentOf(path, &leaf));
  if (const char* target = archive_entry_hardlink(e); target != nullptr) {
    Result<Ino> linked = Resolve(target);
    if (!linked.ok()) {
      return Status::InvalidArgument("hard link to '" + std::string(target) +
                                     "', which the stream has not listed before it");
    }
    HOODY_RETURN_IF_ERROR(sink_.Link(*linked, parent, leaf));
    // pax allows a hard link to carry the data again: it is the same file.
    uint64_t written_end = 0;
    return ReadData(*linked, path, &written_end);
  }
  switch (type) {
    case S_IFDIR:
      return ImportDirectory(path, parent, leaf, attrs);
    case S_IFREG: {
      HOODY_ASSIGN_OR_RETURN(Ino file, sink_.CreateFile(parent, leaf, attrs));
      uint64_t written_end = 0;
      HOODY_RETURN_IF_ERROR(ReadData(file, path, &written_end));
      const uint64_t size = static_cast<uint64_t>(archive_entry_size(e));
      return sink_.FinishFile(file, written_end, std::max(size, written_end), attrs);
    }
    case S_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || target[0] == '\0') {
        return Status::InvalidArgument("symlink with an empty target");
      }
      return sink_.MakeSpecial(parent, leaf, attrs, target).status();
    }
    default:
      // fifos, sockets and devices; MakeSpecial refuses any other type.
      return sink_.MakeSpecial(parent, leaf, attrs, "").status();
  }
}

Status TarImporter::ImportDirectory(const std::string& path, Ino parent, const std::string& leaf,
                                    const NodeAttrs& attrs) {
  auto it = dirs_.find(path);
  Ino dir;
  if (it != dirs_.end()) {
    dir = it->second;  // implied by an earlier entry, or listed twice
    HOODY_RETURN_IF_ERROR(sink_.UpdateDirectory(dir, attrs));
  } else {
    HOODY_ASSIGN_OR_RETURN(dir, sink_.MakeDirectory(parent, leaf, attrs));
    dirs_.emplace(path, dir);
  }
  NodeAttrs times;
  times.atime = attrs.atime;
  times.mtime = attrs.mtime;
  dir_times_.push_back(DirTimes{dir, std::move(times)});
  return Status::OK();
}

Result<Ino> TarImporter::Resolve(std::string_view raw) {
  HOODY_ASSIGN_OR_RETURN(std::string path, NormalizePath(raw));
  const auto [parent, leaf] = SplitPath(path);
  auto dir = dirs_.find(parent);
  if (dir == dirs_.end()) return Status::NotFound("no directory '" + parent + "'");
  HOODY_ASSIGN_OR_RETURN(Entry e, sink_.fs().Lookup(dir->second, leaf));
  return e.ino;
}

Result<Ino> TarImporter::ParentOf(const std::string& path, std::string* leaf) {
  std::string parent;
  std::tie(parent, *leaf) = SplitPath(path);
  if (auto it = dirs_.find(parent); it != dirs_.end()) return it->second;
  std::string parent_leaf;
  HOODY_ASSIGN_OR_RETURN(Ino grand, ParentOf(parent, &parent_leaf));
  NodeAttrs implied;
  implied.mode = S_IFDIR | 0755;
  HOODY_ASSIGN_OR_RETURN(Ino dir, sink_.MakeDirectory(grand, parent_leaf, implied));
  dirs_.emplace(parent, dir);
  return dir;
}

Status TarImporter::ReadData(Ino file, const std::string& path, uint64_t* written_end) {
  stage_.clear();
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(archive_, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return Malformed("in the data of '" + path + "'");
    const char* data = static_cast<const char*>(buf);
    uint64_t at = static_cast<uint64_t>(offset);
    while (size > 0) {
      if (!stage_.empty() && at != stage_offset_ + stage_.size()) {
        HOODY_RETURN_IF_ERROR(FlushStage(file, written_end));
      }
      if (stage_.empty()) stage_offset_ = at;
      // Fill up to the end of the 1 MiB piece the stage started in.
      const uint64_t piece_end = (stage_offset_ / kPieceBytes + 1) * kPieceBytes;
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(size, piece_end - stage_offset_ - stage_.size()));
      stage_.insert(stage_.end(), data, data + n);
      data += n;
      size -= n;
      at += n;
      if (stage_offset_ + stage_.size() == piece_end) {
        HOODY_RETURN_IF_ERROR(FlushStage(file, written_end));
      }
    }
  }
  return FlushStage(file, written_end);
}

Status TarImporter::FlushStage(Ino file, uint64_t* written_end) {
  if (stage_.empty()) return Status::OK();
  HOODY_RETURN_IF_ERROR(sink_.Write(file, stage_offset_, stage_));
  *written_end = std::max<uint64_t>(*written_end, stage_offset_ + stage_.size());
  stage_.clear();
  return Status::OK();
}

}  // namespace

Result<ImportStats> ImportTar(FileSystem& fs, int fd, const ImportOptions& options) {
  if (fs.read_only()) return Status::ReadOnly("cannot import into a frozen generation");
  // A stream cannot say which names it leaves out until it ends.
  if (options.replace)
    return Status::InvalidArgument("replace needs a directory source, not a tar stream");
  TarImporter importer(fs, options);
  HOODY_RETURN_IF_ERROR(importer.Run(fd));
  return importer.stats();
}

}  // namespace hoodyfs::snapshotter
