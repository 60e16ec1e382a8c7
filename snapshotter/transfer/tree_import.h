// Import of a host directory tree, or of a tar stream, into a container:
// how `hoodyfs import` populates a root filesystem.
//
// What is carried over, per entry: the type (directory, regular file,
// symlink, fifo, socket, character and block device), the permission bits
// including setuid/setgid/sticky, uid and gid, atime and mtime to the
// nanosecond, every extended attribute of every namespace (user., trusted.,
// security., and the POSIX ACLs as their raw system.posix_acl_access and
// system.posix_acl_default values), symlink targets, device numbers, hard
// links (one hoodyfs inode with several names), file bytes, and holes:
// only data is written and the size set, so a 1 GiB sparse file with a few
// islands of data costs those islands. ctime cannot be carried over (no host
// interface sets it): it is the time of the import.
//
// The source's top directory is not created: its mode, owner, times and
// xattrs go onto the directory `options.into` (the container's root by
// default), and its entries become `into`'s entries.
//
// Errors name the path of the entry that failed and how many entries came
// before it. Each FileSystem call is atomic, so an import that fails part
// way leaves the container consistent, holding what was imported before
// the failure (`hoodyfs import` then undoes it: cli/hoodyfs_command.cc). A
// directory whose name exists already as a directory in the container is
// merged into (it takes the source's attributes); any other name that exists
// already is kExists (an import never replaces what is there), unless
// ImportTree is asked to replace.
//
// Replacing (ImportOptions::replace, ImportTree only) makes the tree under
// `into` equal to the source, as `rsync -a -H --delete` does, and changes
// only what differs, so the container's snapshots keep sharing everything
// else: an entry of the same type whose content matches (a regular file of
// the same size and mtime, rsync's quick check; a symlink with the same
// target; a device with the same number) keeps its inode, and only the
// attributes that differ (mode, owner, xattrs, times) are set; any other
// entry is removed (a directory with its whole subtree) and imported anew;
// names the source does not have are removed. Hard links follow the source:
// a kept inode keeps exactly the names the source gives it. An import of an
// unchanged tree changes nothing and never calls before_first_change. atime
// alone is no difference (reading a file in the container moves it).
//
// Thread-safety: an import returns when all its work is done (ImportTree
// uses threads of its own meanwhile); other threads may use the container
// during an import, and see it in progress.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::snapshotter {

struct ImportStats {
  uint64_t files = 0;        // regular files (the first name of each)
  uint64_t directories = 0;  // not counting the top directory
  uint64_t symlinks = 0;
  uint64_t specials = 0;   // fifos, sockets, character and block devices
  uint64_t hardlinks = 0;  // names added to an inode imported already
  uint64_t bytes = 0;      // file data written (holes not counted)
  // Replacing imports only (the counters above then count what was written).
  uint64_t unchanged = 0;  // entries kept with nothing written
  uint64_t removed = 0;    // names removed (a directory's subtree counts once)
};

struct ImportProgress {
  const ImportStats& stats;  // so far, including `path`
  std::string_view path;     // the entry just imported, relative to the source
};

struct ImportOptions {
  // The directory the source's entries go into.
  Ino into = kRootIno;
  // Regular files ImportTree imports at once, on that many threads of its
  // own (each file's data write waits for the block device); 0: one at a
  // time on the calling thread. ImportTar reads one stream: always 0.
  unsigned threads = 4;
  // Called after each entry, one call at a time but from the import's
  // threads, in the order entries complete; must be quick and must not call
  // back into the import.
  std::function<void(const ImportProgress&)> progress;
  // Called once, just before the import's first change to the container,
  // and not at all when it fails before making one (a stream that is no
  // tar, a missing source): where a caller takes its point to go back to.
  // An error stops the import with nothing changed.
  std::function<Status()> before_first_change;
  // Make the tree equal to the source, changing only what differs (see
  // above). ImportTar refuses it (kInvalidArgument).
  bool replace = false;
};

// Copies the host tree at `source_dir` into `fs` under `options.into`.
// Source files are read with O_NOATIME where the kernel permits (the
// owner's files, or any as root), so the import leaves source atimes alone.
// Reading other users' files, or setting trusted.* xattrs, needs root.
// Errors: kNotFound (source missing), kNotDirectory (source is not a
// directory), kReadOnly (`fs` is a frozen view), kExists (a name exists
// already), kNameTooLong, kNotSupported (an entry of another type), kPermission,
// kIoError (reading the source), and what FileSystem calls return
// (kNoSpace, kIoError, ...), each naming the path. When replacing, a
// failure may leave removed names removed: take a snapshot in
// before_first_change to go back to.
Result<ImportStats> ImportTree(FileSystem& fs, const std::string& source_dir,
                               const ImportOptions& options);

// Reads a tar stream from `fd` (ustar, pax with SCHILY.xattr.* and
// LIBARCHIVE.xattr.* records, GNU tar, sparse members in every GNU format,
// optionally compressed) until its end, and imports it as ImportTree does.
// A "." (or "./") entry carries the top directory's attributes; directories
// that entries imply but the stream does not list are created with mode 0755
// and owner 0:0. POSIX ACLs recorded only as ACL text (SCHILY.acl.access,
// SCHILY.acl.default, as `tar --acls` without --xattrs writes) become the
// raw system.posix_acl_* xattrs. `fd` is read sequentially (a pipe will do)
// and left open. Errors: as ImportTree, plus kCorruption for a malformed or
// truncated stream naming the entry, kInvalidArgument for a path with ".."
// or a hard link to an entry not imported before.
Result<ImportStats> ImportTar(FileSystem& fs, int fd, const ImportOptions& options);

}  // namespace hoodyfs::snapshotter
