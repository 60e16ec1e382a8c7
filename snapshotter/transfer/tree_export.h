// Export of a container (a live head, or a frozen generation: a snapshot)
// to a host directory tree or to a tar stream: how `hoodyfs export` takes a
// root filesystem out.
//
// Everything ImportTree carries in is carried out (tree_import.h): types,
// permission bits with setuid/setgid/sticky, owners, atime and mtime to the
// nanosecond, xattrs of every namespace (POSIX ACLs as their raw
// system.posix_acl_* values), symlink targets, device numbers, hard links,
// bytes, and holes: only the ranges that hold data are written
// (FileSystem::DataRanges) and the size set, so a file's holes stay holes.
//
// On a host, each node is finished in the order that keeps what the earlier
// steps set: content, then owner (chown clears setuid and setgid, and
// security.capability), then mode, then xattrs (setting an ACL may rewrite
// the group bits to its mask, which the mode already equals), then times,
// and a directory's only after its entries exist. Owners, devices and
// trusted.* xattrs need root.
//
// Errors name the path that failed; what was exported before it stays. A
// damaged data block (a checksum mismatch) is no error: it goes out as
// zeros, the export goes on, and ExportStats::damaged_files names the file.
// Thread-safety: one export is a sequence of calls from the calling thread.
// A live head may change during the export; export a frozen generation for
// a point-in-time copy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::snapshotter {

struct ExportStats {
  uint64_t files = 0;        // regular files (the first name of each)
  uint64_t directories = 0;  // not counting the top directory
  uint64_t symlinks = 0;
  uint64_t specials = 0;   // fifos, sockets, character and block devices
  uint64_t hardlinks = 0;  // further names of an inode exported already
  uint64_t bytes = 0;      // file data written (holes not counted)
  uint64_t skipped = 0;    // sockets left out of a tar stream (skip_sockets)
  // Files exported with damaged blocks (a checksum mismatch) as zeros,
  // paths relative to the top: the export went on past them.
  std::vector<std::string> damaged_files;
};

struct ExportProgress {
  const ExportStats& stats;  // so far, including `path`
  std::string_view path;     // the entry just exported, relative to the top
};

struct ExportOptions {
  // The directory whose entries are exported; its own attributes go onto
  // the destination directory (or the stream's "./" entry).
  Ino from = kRootIno;
  // Tar streams cannot hold sockets: by default a socket is an error naming
  // it; with this set it is left out and counted in ExportStats::skipped
  // (what GNU tar does, with a warning).
  bool skip_sockets = false;
  // Called after each entry; must not call back into the export.
  std::function<void(const ExportProgress&)> progress;
};

// Writes the tree under `options.from` into the host directory `dest_dir`,
// which is created when absent (its parent must exist) and may already hold
// entries of other names: an existing name is kExists, never overwritten.
// Errors: kNotDirectory (dest_dir is not a directory), kExists, kPermission,
// kNoSpace, kIoError (host calls), and what FileSystem calls return, each
// naming the path.
Result<ExportStats> ExportTree(FileSystem& fs, const std::string& dest_dir,
                               const ExportOptions& options);

// Writes the tree as a pax tar stream to `fd` (sequentially: a pipe will
// do; left open): "./" first with the top directory's attributes, then
// every entry, directories before what they hold. Each entry carries its
// times to the nanosecond with atime and ctime (pax records), xattrs as
// SCHILY.xattr.* records (LIBARCHIVE.xattr.* too), hard links as links to
// the first name, and files with holes as GNU sparse 1.0 members. Names
// that are not ASCII go out as their raw bytes (hdrcharset=BINARY, which GNU
// tar 1.34 reads with a warning). Extract with
// `tar --xattrs --xattrs-include='*' -xpf -` to get every xattr back.
// The caller should ignore SIGPIPE, or a reader that goes away kills the
// process instead of failing the export with kIoError.
// Errors: kNotSupported (a socket, without skip_sockets), kIoError (writing
// `fd`), and what FileSystem calls return, each naming the path.
Result<ExportStats> ExportTar(FileSystem& fs, int fd, const ExportOptions& options);

}  // namespace hoodyfs::snapshotter
