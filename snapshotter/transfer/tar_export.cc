// ExportTar: writes an ExportWalk as a pax tar stream with libarchive.
//
// The format is full pax, not "pax restricted": libarchive's restricted
// writer adds the pax record (and with it nanosecond mtime and the atime)
// only to entries that need one for another reason, so most files would
// lose their atime and sub-second times.
//
// POSIX ACLs go out twice: as their raw xattrs (exact, what ImportTar
// prefers) and as SCHILY.acl.* text, which is all GNU tar applies on
// extraction. libarchive keeps an access ACL's owner, group and other
// entries in the entry's mode, so with a mask the header's group bits are
// the ACL group entry's, as bsdtar writes them; extraction with ACLs (and
// ImportTar) brings the mask back into the mode.
//
// Xattrs are written as SCHILY.xattr.* records only: GNU tar and libarchive
// both read them, and GNU tar warns about each LIBARCHIVE.xattr.* record.
//
// Files with holes become GNU sparse 1.0 members: the header lists the data
// ranges plus a final zero-length range at the size (as GNU tar writes
// them; it keeps a trailing hole), and the body holds only the data.
// libarchive's writer takes the body as the whole file, holes included, and
// drops the hole bytes, so holes are fed from a zero buffer that costs no
// copy and produces no output.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/transfer/export_walk.h"
#include "snapshotter/transfer/tree_export.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;

class TarWriter : public ExportVisitor {
 public:
  TarWriter(FileSystem& fs, ExportWalk& walk, const ExportOptions& options)
      : fs_(fs),
        walk_(walk),
        options_(options),
        archive_(archive_write_new()),
        entry_(archive_entry_new()),
        buf_(kPieceBytes),
        zeros_(kPieceBytes, '\0') {}
  ~TarWriter() override {
    archive_entry_free(entry_);
    archive_write_free(archive_);  // closes first when still open
  }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;
  TarWriter(TarWriter&&) = delete;
  TarWriter& operator=(TarWriter&&) = delete;

  Status Open(int fd);
  Status Close();
  Status EnterDirectory(const ExportNode& dir) override;
  Status LeaveDirectory(const ExportNode&) override { return Status::OK(); }
  Result<bool> Leaf(const ExportNode& node) override;

 private:
  Status Error(std::string_view what) const {
    const char* msg = archive_error_string(archive_);
    return Status::IoError(std::string(what) + ": " + (msg != nullptr ? msg : "unknown error"));
  }
  // Fills entry_ with what every entry has: name, mode, owner, times,
  // xattrs and ACLs.
  Status Describe(const ExportNode& node);
  Status AddAcl(const std::string& value, int type);
  Status WriteHeader();
  Status WriteData(const char* data, size_t n);
  Status WriteFile(const ExportNode& node);

  FileSystem& fs_;
  ExportWalk& walk_;
  const ExportOptions& options_;
  archive* archive_;
  archive_entry* entry_;
  std::vector<char> buf_;
  const std::vector<char> zeros_;
};

Status TarWriter::Open(int fd) {
  if (archive_write_set_format_pax(archive_) != ARCHIVE_OK) return Error("pax format");
  if (archive_write_set_format_option(archive_, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK) {
    return Error("pax xattr records");
  }
  if (archive_write_open_fd(archive_, fd) != ARCHIVE_OK) return Error("open tar stream");
  return Status::OK();
}

Status TarWriter::Close() {
  if (archive_write_close(archive_) != ARCHIVE_OK) return Error("finish tar stream");
  return Status::OK();
}

Status TarWriter::Describe(const ExportNode& node) {
  archive_entry_clear(entry_);
  const std::string name = node.path.empty() ? "./" : "./" + std::string(node.path);
  archive_entry_copy_pathname(entry_, name.c_str());
  archive_entry_set_mode(entry_, node.attr.mode);
  archive_entry_set_uid(entry_, node.attr.uid);
  archive_entry_set_gid(entry_, node.attr.gid);
  archive_entry_set_atime(entry_, node.attr.atime.sec, node.attr.atime.nsec);
  archive_entry_set_mtime(entry_, node.attr.mtime.sec, node.attr.mtime.nsec);
  archive_entry_set_ctime(entry_, node.attr.ctime.sec, node.attr.ctime.nsec);
  archive_entry_set_size(entry_, 0);
  for (const auto& [xname, value] : node.xattrs) {
    archive_entry_xattr_add_entry(entry_, xname.c_str(), value.data(), value.size());
    if (xname == kAclAccessXattr) {
      HOODY_RETURN_IF_ERROR(AddAcl(value, ARCHIVE_ENTRY_ACL_TYPE_ACCESS));
    } else if (xname == kAclDefaultXattr) {
      HOODY_RETURN_IF_ERROR(AddAcl(value, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT));
    }
  }
  return Status::OK();
}

Status TarWriter::AddAcl(const std::string& value, int type) {
  HOODY_ASSIGN_OR_RETURN(std::vector<AclEntry> entries, DecodePosixAcl(value));
  for (const AclEntry& e : entries) {
    int tag = 0;
    switch (e.tag) {
      case AclTag::kUserObj:
        tag = ARCHIVE_ENTRY_ACL_USER_OBJ;
        break;
      case AclTag::kUser:
        tag = ARCHIVE_ENTRY_ACL_USER;
        break;
      case AclTag::kGroupObj:
        tag = ARCHIVE_ENTRY_ACL_GROUP_OBJ;
        break;
      case AclTag::kGroup:
        tag = ARCHIVE_ENTRY_ACL_GROUP;
        break;
      case AclTag::kMask:
        tag = ARCHIVE_ENTRY_ACL_MASK;
        break;
      case AclTag::kOther:
        tag = ARCHIVE_ENTRY_ACL_OTHER;
        break;
    }
    const bool named = e.tag == AclTag::kUser || e.tag == AclTag::kGroup;
    // No name: the text gives the numeric id, as `tar --numeric-owner` does.
    if (archive_entry_acl_add_entry(entry_, type, e.perm, tag, named ? static_cast<int>(e.id) : -1,
                                    nullptr) != ARCHIVE_OK) {
      return Status::Corruption("POSIX ACL entry libarchive refuses (tag " +
                                std::to_string(static_cast<int>(e.tag)) + ")");
    }
  }
  return Status::OK();
}

Status TarWriter::WriteHeader() {
  const int r = archive_write_header(archive_, entry_);
  if (r == ARCHIVE_OK) return Status::OK();
  // A name that does not convert from the (C) locale to UTF-8 goes out as
  // raw bytes under hdrcharset=BINARY: exact, so not an error.
  const char* msg = archive_error_string(archive_);
  if (r == ARCHIVE_WARN && msg != nullptr && std::strncmp(msg, "Can't translate", 15) == 0) {
    return Status::OK();
  }
  return Error("write tar header");
}

Status TarWriter::WriteData(const char* data, size_t n) {
  const la_ssize_t w = archive_write_data(archive_, data, n);
  if (w < 0 || static_cast<size_t>(w) != n) return Error("write tar data");
  return Status::OK();
}

Status TarWriter::EnterDirectory(const ExportNode& dir) {
  HOODY_RETURN_IF_ERROR(Describe(dir));
  return WriteHeader();
}

Result<bool> TarWriter::Leaf(const ExportNode& node) {
  const uint32_t type = node.attr.mode & S_IFMT;
  if (type == S_IFSOCK && node.link_to == nullptr) {
    if (options_.skip_sockets) return false;
    return Status::NotSupported(
        "a tar stream cannot hold a socket (ExportOptions::skip_sockets leaves sockets out)");
  }
  HOODY_RETURN_IF_ERROR(Describe(node));
  if (node.link_to != nullptr) {
    archive_entry_copy_hardlink(entry_, ("./" + *node.link_to).c_str());
  } else if (type == S_IFREG) {
    HOODY_RETURN_IF_ERROR(WriteFile(node));
    return true;
  } else if (type == S_IFLNK) {
    HOODY_ASSIGN_OR_RETURN(std::string target, fs_.ReadLink(node.ino));
    archive_entry_copy_symlink(entry_, target.c_str());
  } else if (type == S_IFCHR || type == S_IFBLK) {
    archive_entry_set_rdev(entry_, static_cast<dev_t>(node.attr.rdev));
  }
  HOODY_RETURN_IF_ERROR(WriteHeader());
  return true;
}

Status TarWriter::WriteFile(const ExportNode& node) {
  HOODY_ASSIGN_OR_RETURN(std::vector<DataRange> ranges, fs_.DataRanges(node.ino));
  uint64_t data_bytes = 0;
  for (const DataRange& r : ranges) data_bytes += r.length_bytes;
  const bool sparse = data_bytes < node.attr.size;
  archive_entry_set_size(entry_, static_cast<la_int64_t>(node.attr.size));
  if (sparse) {
    for (const DataRange& r : ranges) {
      archive_entry_sparse_add_entry(entry_, static_cast<la_int64_t>(r.offset_bytes),
                                     static_cast<la_int64_t>(r.length_bytes));
    }
    archive_entry_sparse_add_entry(entry_, static_cast<la_int64_t>(node.attr.size), 0);
  }
  HOODY_RETURN_IF_ERROR(WriteHeader());
  // The sparse map goes out with the first data call: make one even when
  // the file is all hole.
  if (sparse) HOODY_RETURN_IF_ERROR(WriteData(zeros_.data(), 0));
  uint64_t at = 0;
  for (const DataRange& r : ranges) {
    for (; at < r.offset_bytes;) {  // a hole: consumed, not written
      const size_t n = static_cast<size_t>(std::min<uint64_t>(r.offset_bytes - at, kPieceBytes));
      HOODY_RETURN_IF_ERROR(WriteData(zeros_.data(), n));
      at += n;
    }
    const uint64_t end = r.offset_bytes + r.length_bytes;
    while (at < end) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(end - at, kPieceBytes - at % kPieceBytes));
      HOODY_ASSIGN_OR_RETURN(size_t n, walk_.ReadData(node, at, {buf_.data(), want}));
      if (n < want) {
        // The header promised the bytes: a file that shrank meanwhile
        // cannot be written consistently.
        return Status::Stale("the file shrank while it was being exported");
      }
      HOODY_RETURN_IF_ERROR(WriteData(buf_.data(), n));
      walk_.AddBytes(n);
      at += n;
    }
  }
  return Status::OK();
}

}  // namespace

Result<ExportStats> ExportTar(FileSystem& fs, int fd, const ExportOptions& options) {
  ExportWalk walk(fs, options);
  TarWriter writer(fs, walk, options);
  HOODY_RETURN_IF_ERROR(writer.Open(fd));
  HOODY_RETURN_IF_ERROR(walk.Run(writer));
  HOODY_RETURN_IF_ERROR(writer.Close());
  return walk.stats();
}

}  // namespace hoodyfs::snapshotter
