// The FUSE low-level operations of hoodyfs, grouped by file: each ops_*.cc
// fills its part of the table. Every handler is noexcept, runs its body
// through Serve (reply.h) and answers exactly once. Internal to fusefs/.
#pragma once

#include <fuse_lowlevel.h>

#include <string_view>

#include "base/status.h"
#include "fusefs/fuse_fs.h"
#include "fusefs/reply.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

// The whole table (ops_init.cc): init and destroy plus every group below.
fuse_lowlevel_ops MakeLowLevelOps();

void AddEntryOps(fuse_lowlevel_ops* ops);      // ops_entry.cc: lookup, forget, attrs, statfs
void AddNamespaceOps(fuse_lowlevel_ops* ops);  // ops_namespace.cc: mknod ... rename
void AddFileOps(fuse_lowlevel_ops* ops);       // ops_file.cc: open ... lseek
void AddDirOps(fuse_lowlevel_ops* ops);        // ops_dir.cc: opendir ... fsyncdir
void AddXattrOps(fuse_lowlevel_ops* ops);      // ops_xattr.cc: extended attributes

// kNameTooLong for a component over 255 bytes: the kernel does not check.
Status CheckName(std::string_view name);

// For a request on an inode the kernel names by number (open, getattr):
// one the engine no longer has is a stale inode in the kernel (a restore
// removed the file, or a file handle outlived it), so kNotFound becomes
// kStale. ESTALE also makes the kernel walk a path again with revalidation
// (LOOKUP_REVAL), where a cached dentry led to the inode.
Status StaleIfGone(Status status);

// What a change touched, for SyncIfAsked.
enum class Change { kData, kDirectory };
// -o sync (any change) and -o dirsync (a directory's entries): makes the
// change durable through the engine's fsync path (FileSystem::Fsync of
// `ino`) before the handler replies. OK when the mount asks for neither.
Status SyncIfAsked(FuseFs& fs, Ino ino, Change change);

// A request that changes the tree is refused with EROFS while the mount is
// read-only (FuseFs::read_only), whatever the kernel's flag says:
// MakeLowLevelOps wraps each such handler in it.
template <auto Handler>
struct RefusedWhenReadOnly;
template <class... Args, void (*Handler)(fuse_req_t, Args...) noexcept>
struct RefusedWhenReadOnly<Handler> {
  static void Call(fuse_req_t req, Args... args) noexcept {
    if (FsOf(req).read_only.load(std::memory_order_relaxed)) {
      Serve(req, "read-only", [](Reply& r) { r.Error(EROFS); });
      return;
    }
    Handler(req, args...);
  }
};

// Creates a node for request `req` (ops_namespace.cc): the caller's uid and
// gid, the group and setgid bit of a setgid parent, and with POSIX ACLs the
// parent's default ACL (or the umask). `mode` carries the type.
Result<snapshotter::Entry> CreateNode(FuseFs& fs, fuse_req_t req, Ino parent, std::string_view name,
                                      uint32_t mode, uint64_t rdev,
                                      std::string_view symlink_target);

// Counts the lookup the reply hands the kernel, then replies with `entry`;
// takes the lookup back if the kernel no longer waited.
void ReplyEntry(FuseFs& fs, Reply& reply, Ino parent, std::string_view name,
                const snapshotter::Entry& entry);

// The caller's groups and CAP_FSETID (caller_creds.h), read from /proc.
Result<snapshotter::CallerGroups> CallerOf(fuse_req_t req);
// A regular file with setgid but no group-exec: the one setgid case the
// kernel's FUSE layer leaves to us (setid.cc).
bool KeepsSgidOnlyForGroup(const snapshotter::Attr& attr);
// After `req` changed the data of the file `attr` describes (write,
// truncate, fallocate): drops its setgid bit when Linux would and the
// kernel's FUSE layer did not (setid.cc), updating `attr`. OK when nothing
// was to drop. Errors: SetAttr's.
Status DropSgidAfterWrite(fuse_req_t req, snapshotter::FileSystem& view, snapshotter::Attr* attr);

// What a change does to a file's privileges (Linux's rules, setid.cc).
enum class PrivilegedChange {
  kData,   // write, truncate, fallocate: by a caller without CAP_FSETID
  kOwner,  // chown: setuid for anyone, setgid as setattr_should_drop_sgid
};
// With FUSE_HANDLE_KILLPRIV_V2 negotiated (FuseFs::channel), before `req`
// makes `change` to `ino`: drops security.capability, and setuid and setgid
// as Linux would, as a change of its own, so a snapshot taken in between
// holds the old data without the bits, never new data with them. The
// caller's credentials come from /proc (caller_creds.h), read only for a
// setuid or setgid file. Errors: the engine's; then the change must not
// be made.
Status DropPrivilegesBefore(fuse_req_t req, snapshotter::FileSystem& view, Ino ino,
                            PrivilegedChange change);

// How an open(2) or opendir asks for its handle.
struct OpenRequest {
  bool writable = false;
  bool noatime = false;  // O_NOATIME
};
// Opens a handle on `ino` stamped with the current lineage (ops_file.cc);
// the engine's open count keeps an unlinked file until its release. `attr`,
// when given, receives the attributes the open checked.
Result<OpenFile*> OpenHandle(FuseFs& fs, Ino ino, OpenRequest how,
                             snapshotter::Attr* attr = nullptr);

// How reads through `handle` move atime: the mount's atime mode, or never on
// a read-only mount or through an O_NOATIME handle (ops_file.cc). The kernel
// leaves atime to FUSE filesystems (their inodes are S_NOATIME) and drops
// its cached atime after each READ and READDIR it sends, so a stat after
// the read asks us again.
snapshotter::AtimeUpdate AtimeFor(const FuseFs& fs, const OpenFile& handle);
void CloseHandle(FuseFs& fs, OpenFile* handle);

}  // namespace hoodyfs::fusefs
