// FileSystem: the POSIX-shaped operations on one container's live head, or
// on one frozen generation (read-only). This is the API the FUSE layer calls;
// every method is safe to call from many threads at once.
//
// Errors come back as Status codes with their POSIX meaning (ErrnoValue()):
// kNotFound ENOENT, kExists EEXIST, kNotDirectory ENOTDIR, kIsDirectory
// EISDIR, kNotEmpty ENOTEMPTY, kNameTooLong ENAMETOOLONG, kInvalidArgument
// EINVAL, kPermission EPERM, kReadOnly EROFS (a frozen generation), kNoData
// ENODATA (xattr), kRange ERANGE, kNoSpace ENOSPC, kIoError/kCorruption EIO,
// kStale ESTALE (the head was replaced under a write by a branch).
//
// Permission checks are the caller's (the kernel's default_permissions);
// timestamps (ctime, mtime) are maintained here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/records.h"

namespace hoodyfs::blockstore {
class AlignedBuffer;
class StartedIo;
}  // namespace hoodyfs::blockstore

namespace hoodyfs::index {
struct BlockRun;
class KvScope;
class WriteScope;
}  // namespace hoodyfs::index

namespace hoodyfs::snapshotter {

class Meta;
class EngineInternals;
class Store;

struct Attr {
  Ino ino;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks_512 = 0;  // st_blocks
  uint64_t rdev = 0;
  index::Timespec atime, mtime, ctime;
  // Birth time, set when the inode was made; unset for inodes whose record
  // predates it (index::InodeRecord::btime).
  std::optional<index::Timespec> btime;
};

// A run of file data: `length_bytes` bytes from `offset_bytes` (FileSystem::DataRanges).
struct DataRange {
  uint64_t offset_bytes = 0;
  uint64_t length_bytes = 0;
};

struct Entry {
  Ino ino;
  Attr attr;
};

struct DirEntry {
  std::string name;
  Ino ino;
  uint8_t type = 0;     // DT_*
  uint64_t cookie = 0;  // pass back to ReadDir to continue after this entry
};

// Which attributes SetAttr changes; ctime moves to `ctime`, else to now.
struct SetAttrRequest {
  std::optional<uint32_t> mode;  // permission bits (07777) only
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<index::Timespec> atime;  // UTIME_NOW is resolved by the caller
  std::optional<index::Timespec> mtime;
  std::optional<index::Timespec> ctime;  // unset: now (FUSE's writeback cache sets it)
  // With `mode`, POSIX ACL semantics (fusefs sets it once the kernel
  // enforces ACLs, FUSE_CAP_POSIX_ACL): a stored system.posix_acl_access
  // takes the new bits in its owner, mask (else owning group) and other
  // entries (AclChmod), in the same change as the mode.
  bool chmod_access_acl = false;
};

// How Mknod and Mkdir settle a new node's permission bits beyond `mode`.
struct CreateOptions {
  // Set: POSIX ACL inheritance, which the kernel leaves to the filesystem
  // once it enforces ACLs (FUSE_CAP_POSIX_ACL with FUSE_CAP_DONT_MASK): the
  // parent's default ACL, when it has one, masks the mode and becomes the
  // node's access ACL (a directory's default ACL too); else this umask masks
  // the mode (InheritAcl in posix_acl.h). The node and its ACLs are one
  // change. Unset: the mode is taken as given.
  std::optional<uint32_t> acl_umask;
  // Set: the inode number the node gets instead of the next free one, as
  // receive rebuilds a sent snapshot with the sender's numbers (so that an
  // incremental stream names the same inodes on both sides). kExists when
  // the head sees an inode of that number; kInvalidArgument for the root's
  // number or one at or above kMaxChosenIno. The store's next free number
  // moves past it, so no later node of the store gets it.
  std::optional<Ino> ino;
};

struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// A regular file as MakeWholeFile creates it: everything a copy of a file
// carries, so that one change makes it (receive and import).
struct WholeFile {
  uint32_t mode = 0;  // permission bits (07777), setuid and setgid kept; the type is S_IFREG
  Owner owner;
  // The file's bytes from offset 0; at most kWholeFileMaxDataBytes.
  std::span<const char> data;
  // The file's size, at least data.size(): what lies past the data is a
  // hole (a trailing hole of a sparse file).
  uint64_t size = 0;
  index::Timespec atime, mtime;                                 // ctime and the birth time are now
  std::span<const std::pair<std::string, std::string>> xattrs;  // (name, value), stored as given
  // The inode number (CreateOptions::ino); acl_umask is not taken.
  std::optional<Ino> ino;
};
// The most data MakeWholeFile takes (one block-store write): a larger file
// is made with Mknod, Write and SetAttr.
inline constexpr size_t kWholeFileMaxDataBytes = size_t{1} << 20;

class FileSystem;

// A whole file between FileSystem::StartWholeFile and FinishWholeFile: its
// fresh blocks reserved in memory and its data's write possibly still in
// flight; no generation, freeze or crash sees any of it. Dropped unfinished
// (an error elsewhere), it waits for the write and gives the blocks back.
// Move-constructible only; one thread at a time.
class StartedWholeFile {
 public:
  StartedWholeFile();
  StartedWholeFile(StartedWholeFile&& other) noexcept;
  StartedWholeFile& operator=(StartedWholeFile&&) = delete;
  ~StartedWholeFile();

  uint64_t data_bytes() const { return data_bytes_; }

 private:
  friend class FileSystem;
  // The reserved runs, given back when dropped unless `fs` was cleared
  // (the finishing change claimed them).
  struct Reservation {
    FileSystem* fs = nullptr;
    std::vector<index::BlockRun> runs;
    ~Reservation();
  };

  // Declared before io_, so destroyed after it: the write is waited for
  // before its blocks can go to another file.
  std::unique_ptr<Reservation> blocks_;  // null: no blocks
  std::unique_ptr<blockstore::StartedIo> io_;
  std::vector<uint64_t> sums_;  // one checksum per block, in the runs' order
  uint64_t data_bytes_ = 0;
  // WholeFile's fields, owned (the caller's spans may go after the start).
  uint32_t mode_ = 0;
  Owner owner_;
  uint64_t size_ = 0;
  index::Timespec atime_, mtime_;
  std::vector<std::pair<std::string, std::string>> xattrs_;
  std::optional<Ino> ino_;
  bool is_inline_ = false;
  std::string inline_data_;
};

// The caller of a change as far as Linux's setgid rules ask
// (in_group_or_capable): its filesystem gid and supplementary groups, and
// whether it holds CAP_FSETID.
struct CallerGroups {
  uint32_t fsgid = 0;
  std::vector<uint32_t> groups;
  bool cap_fsetid = false;

  bool InGroupOrCapable(uint32_t gid) const {
    if (cap_fsetid || fsgid == gid) return true;
    for (uint32_t g : groups) {
      if (g == gid) return true;
    }
    return false;
  }
};

struct FsStats {
  uint64_t block_size = kBlockSize;
  uint64_t total_blocks = 0;
  uint64_t free_blocks = 0;
  uint64_t files = 0;
  uint64_t name_max = 255;
};

// rename(2)'s flags; kWhiteout combines with kNoReplace, kExchange with
// neither.
enum class RenameFlags : uint32_t { kNone = 0, kNoReplace = 1, kExchange = 2, kWhiteout = 4 };
constexpr RenameFlags operator|(RenameFlags a, RenameFlags b) {
  return static_cast<RenameFlags>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
constexpr bool HasFlag(RenameFlags flags, RenameFlags bit) {
  return (static_cast<uint32_t>(flags) & static_cast<uint32_t>(bit)) != 0;
}

// How a read moves the atime of what it read: Linux's atime mount modes
// (touch_atime, relatime_need_update). Only a live head moves; a frozen
// view never does.
enum class AtimeUpdate : uint8_t {
  kNever,     // noatime, O_NOATIME, read-only mounts, the engine's own readers
  kRelative,  // relatime: when atime is not after mtime or ctime, or a day old
  kAlways,    // strictatime: whenever it differs from now
};
// Whether a read at `now` moves an atime of `atime` under `how`.
bool AtimeNeedsUpdate(AtimeUpdate how, const index::Timespec& atime, const index::Timespec& mtime,
                      const index::Timespec& ctime, const index::Timespec& now);

// The largest file size and end of a write (Linux's MAX_LFS_FILESIZE):
// beyond it a write or truncate fails with kFileTooBig (EFBIG).
inline constexpr uint64_t kMaxFileBytes = uint64_t{INT64_MAX};
// CreateOptions::ino stays below this: far more inodes than a store can
// hold, and far from the wrap of the store's 64-bit counter.
inline constexpr uint64_t kMaxChosenIno = uint64_t{1} << 48;

class FileSystem {
 public:
  bool read_only() const { return !container_.has_value(); }
  // The generation this view reads now (the current head for a live view).
  Result<GenId> Generation() const;
  // The lineage of the container's head (Store::HeadInfo): a freeze keeps
  // it, a branch (restore) gives the head a new one. 0 for a read-only view,
  // whose tree never changes. Errors: kNotFound (the container is gone).
  Result<uint64_t> Lineage() const;
  // A copy of this view pinned to `lineage` (0: unpinned): once the
  // container's head has left that lineage, every call through the copy
  // fails with kStale. The check runs inside each call's own scope, so a
  // write through a pinned view never lands in a tree that replaced the one
  // it was pinned to (FUSE file handles opened before a restore).
  FileSystem PinnedTo(uint64_t lineage) const;

  Result<Entry> Lookup(Ino parent, std::string_view name);
  // Lookups by inode number, for file handles (FUSE's export path: the
  // kernel resolves a handle it no longer caches by looking up "." on the
  // inode, and reconnects a directory by looking up ".."):
  // LookupInode: `ino` itself while some directory links it. An inode only
  // kept by open handles after its last unlink is no longer in the tree, so
  // a handle to it is as stale as one to a purged inode. Errors: kNotFound.
  Result<Entry> LookupInode(Ino ino);
  // LookupParent: the directory holding directory `dir` (the root's is the
  // root). Errors: kNotFound, kNotDirectory.
  Result<Entry> LookupParent(Ino dir);
  Result<Attr> GetAttr(Ino ino);
  Result<Attr> SetAttr(Ino ino, const SetAttrRequest& request);

  // mode carries the type (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK) and
  // permission bits; rdev is for devices. With options.acl_umask, errors
  // also kInvalidArgument (the parent's default ACL is unreadable).
  Result<Entry> Mknod(Ino parent, std::string_view name, uint32_t mode, uint64_t rdev, Owner owner,
                      const CreateOptions& options = {});
  Result<Entry> Mkdir(Ino parent, std::string_view name, uint32_t mode, Owner owner,
                      const CreateOptions& options = {});
  // Creates the regular file `name` in `parent` whole, in one change: its
  // data, size, mode, owner, xattrs and times, as if made by mknod, write,
  // setxattr and utimes, but no freeze or crash ever sees it partly made.
  // The data goes to fresh blocks first (an inline record when the size is at
  // most index::kInlineMaxBytes), then one write scope links and maps it.
  // Errors: kExists (the name, or file.ino taken), kNotFound (parent gone),
  // kNotDirectory, kNameTooLong, kInvalidArgument (file.ino out of range,
  // data over kWholeFileMaxDataBytes or past `size`, an empty xattr name),
  // kRange (an xattr name over 255 bytes or value over 64 KiB), kFileTooBig,
  // kNoSpace, kIoError, kReadOnly, kStale. On an error nothing changed.
  Result<Entry> MakeWholeFile(Ino parent, std::string_view name, const WholeFile& file);
  // MakeWholeFile in two halves, so that a caller making many files (a
  // receive) prepares the next one while this one's data is written.
  // StartWholeFile checks `file`, copies its data into `*staging` (grown
  // when too small; the caller's, untouched until the result is finished
  // or dropped), reserves fresh blocks and starts their write; nothing is
  // visible yet. FinishWholeFile waits for the write and links and maps the
  // file in one change. MakeWholeFile's errors: Start reports those of the
  // data, size and xattrs and kNoSpace, Finish the rest and the write's.
  // After an error of either, nothing changed and the blocks are free.
  Result<StartedWholeFile> StartWholeFile(const WholeFile& file,
                                          blockstore::AlignedBuffer* staging);
  Result<Entry> FinishWholeFile(Ino parent, std::string_view name, StartedWholeFile started);
  Result<Entry> Symlink(Ino parent, std::string_view name, std::string_view target, Owner owner,
                        const CreateOptions& options = {});
  Result<std::string> ReadLink(Ino ino);
  Result<Entry> Link(Ino ino, Ino new_parent, std::string_view new_name);
  Status Unlink(Ino parent, std::string_view name);
  Status Rmdir(Ino parent, std::string_view name);
  // With kWhiteout the source name is left holding a whiteout (a character
  // device 0/0, mode 0, owned by `whiteout_owner`: what overlayfs stacks on)
  // made in the same change as the move, so no freeze sees one without the
  // other, as Linux's RENAME_WHITEOUT. Errors: kNotFound, kExists
  // (kNoReplace), kNotDirectory, kIsDirectory, kNotEmpty, kInvalidArgument
  // (a directory into itself, kExchange with another flag), kNameTooLong,
  // kNoSpace (kWhiteout on a full store), kReadOnly, kStale.
  Status Rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                RenameFlags flags = RenameFlags::kNone, Owner whiteout_owner = {});

  // Calls fn for each entry after `cookie` (0: from the start, "." and ".."
  // included) in cookie order; fn returns false to stop. Cookies are stable:
  // entries added or removed meanwhile never make others repeat or vanish.
  // A rename within the directory keeps the entry's cookie (Rename), so a
  // listing from start to end shows every file that stayed in the directory
  // exactly once, under one of its names, whatever renames ran meanwhile.
  // `atime`: how the listing moves the directory's atime (see Read).
  Status ReadDir(Ino dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& fn,
                 AtimeUpdate atime = AtimeUpdate::kNever);

  // Reads up to out.size() bytes at `offset`; returns the count (short at EOF).
  // Bytes of `out` past the count may be overwritten too. A read at a block
  // boundary into a 4 KiB-aligned `out` with room for its whole last block
  // goes straight from the device into `out`; others take one more copy.
  // A failed read leaves in `out` no byte of a block that failed its
  // checksum (it is untouched, or zeros where a direct read had written).
  // `atime`: whether the read moves the file's atime to now (AtimeNeedsUpdate
  // decides from the record the read already loaded, so a read that needs no
  // update takes no write scope). The update is an in-memory change that
  // rides the next group commit, like any other; it never fails the read
  // (a store that refuses changes just keeps the old atime).
  Result<size_t> Read(Ino ino, uint64_t offset, std::span<char> out,
                      AtimeUpdate atime = AtimeUpdate::kNever);
  // The ranges of a regular file that hold data, in offset order, merged, clipped to its size (an
  // inline file: one range); the rest is holes (fs_ranges.cc). Errors: kNotFound, kIsDirectory,
  // kInvalidArgument (not a regular file), kCorruption.
  Result<std::vector<DataRange>> DataRanges(Ino ino);
  // Writes `data` at `offset`, extending the file as needed. Returns the
  // count written: all of `data`, or fewer when a failure (ENOSPC, EIO) cut
  // the write short after a prefix had landed (a short write, as write(2)).
  // An error means nothing changed. `after`, when given and something was
  // written, receives the file's attributes as the last piece left them
  // (fusefs checks the setgid rule with them, at no extra lookup).
  Result<size_t> Write(Ino ino, uint64_t offset, std::span<const char> data, Attr* after = nullptr);
  // Makes this file's data and metadata durable (a store-wide group commit).
  Status Fsync(Ino ino);
  // fallocate(2) on a regular file; `mode` holds FALLOC_FL_* bits
  // (snapshotter/engine/fs_space.cc, fs_reserve.cc):
  //  - 0, KEEP_SIZE: "allocate". Reserves the range's blocks the file has
  //    neither mapped nor reserved yet, for this file of this container's
  //    head: they count as used in StatFs and as allocated in st_blocks, read
  //    as zeros, and a write into them draws on the reservation, so it never
  //    fails for room while the reservation lasts (writes, truncates, punches,
  //    the file's purge and a restore or removal of the container end it; a
  //    freeze keeps it for the head). All or nothing: kNoSpace when the
  //    store's free room (AvailableBlocks) cannot cover them, with nothing
  //    reserved or changed. Without KEEP_SIZE the size grows to
  //    offset + length in the same change.
  //  - PUNCH_HOLE | KEEP_SIZE: the range reads as zeros; whole blocks become
  //    holes (and lose their reservations), partial edge blocks are rewritten
  //    with zeros.
  //  - ZERO_RANGE [| KEEP_SIZE]: as a punch, then (without KEEP_SIZE) the
  //    size grows to offset + length.
  // Inherited data is never touched: the head gets its own chunk maps, so a
  // frozen generation keeps its bytes. A punch is not all-or-nothing: an error
  // after the edges were zeroed leaves them zeroed (bytes the caller asked to
  // zero).
  // Errors: kInvalidArgument (length 0, range past 2^63), kNotSupported (other
  // modes, PUNCH_HOLE without KEEP_SIZE), kIsDirectory, kInvalidArgument (not
  // a regular file), kReadOnly, kStale, kNoSpace, kIoError.
  Status Fallocate(Ino ino, int mode, uint64_t offset, uint64_t length);

  // Open/Release bracket the use of a file by a handle: an unlinked file
  // keeps its data until its last Release.
  void Open(Ino ino);
  Status Release(Ino ino);

  enum class XattrMode { kAny, kCreate, kReplace };
  Result<std::string> GetXattr(Ino ino, std::string_view name);
  Status SetXattr(Ino ino, std::string_view name, std::string_view value,
                  XattrMode mode = XattrMode::kAny);
  Result<std::vector<std::string>> ListXattr(Ino ino);
  Status RemoveXattr(Ino ino, std::string_view name);
  // setxattr of system.posix_acl_access under POSIX ACL semantics (fusefs,
  // once the kernel enforces ACLs), as one change (fs_acl.cc): the mode's
  // permission bits take the ACL's (AclModeBits; setuid, setgid and sticky
  // stay), ctime moves, and the value is stored, or, when the ACL is
  // equivalent to a mode, not stored and any earlier one removed, as Linux
  // does. Errors: kInvalidArgument (not an ACL), kRange (over 64 KiB),
  // kNotFound, kReadOnly, kStale, kNoSpace, kIoError.
  // With `caller`, the setgid bit goes too when the caller is neither in the
  // file's group nor holds CAP_FSETID (posix_acl_update_mode).
  Status SetAccessAcl(Ino ino, std::string_view value, const CallerGroups* caller = nullptr);

  Result<FsStats> StatFs();

 private:
  friend class Store;
  FileSystem(Store* store, std::optional<std::string> container, GenId frozen)
      : store_(store), container_(std::move(container)), frozen_(frozen) {}

  // Runs fn(scope, meta, gen) on the live head under a WriteScope and
  // commits when it succeeds (kReadOnly for a frozen view). A group commit
  // due runs first, so a commit that fails refuses the call unchanged.
  template <class Fn>
  Status Mutate(Fn&& fn);
  // kNoSpace while the store is full (Store::CheckRoomToGrow), for the
  // calls that add to it: new names, data, xattrs. OK on a frozen view,
  // which answers kReadOnly itself.
  Status CheckRoomToGrow() const;
  // Runs fn(scope, meta, gen) under a ReadScope on the viewed generation.
  template <class Fn>
  Status Inspect(Fn&& fn);
  // The head a call applies to. kStale when pinned to a lineage the head
  // has left. REQUIRES: a scope held, a live view.
  Result<GenId> CurrentGen() const;
  // Moves `ino`'s atime to now when `how` still asks for it (checked again
  // under the write scope: a concurrent update may have done it). Errors are
  // dropped: see Read (fs_atime.cc).
  void MarkAccessed(Ino ino, AtimeUpdate how);
  // Removes an inode with no links left: its chunks, xattrs and record.
  // Its reservations go with it.
  Status Purge(index::WriteScope& s, Meta& meta, GenId gen, Ino ino);
  Status PurgeIfUnused(index::WriteScope& s, Meta& meta, GenId gen, Ino ino,
                       const index::InodeRecord& rec);
  // Unlink (directory false) or rmdir (true) inside a write scope.
  Status RemoveChild(index::WriteScope& s, Meta& meta, GenId gen, Ino parent, std::string_view name,
                     bool directory);
  Result<Entry> MakeNode(Ino parent, std::string_view name, index::InodeRecord rec,
                         const CreateOptions& options);
  // MakeNode's checks before any scope: the name, a chosen inode number, room.
  Status CheckNewNode(std::string_view name, const CreateOptions& options) const;
  // MakeNode inside a write scope: gives *rec its number, times and link
  // count and links it under `name` in `parent` (the entry, the parent's
  // record, inherited ACLs), but leaves the new inode's own record to the
  // caller to put, once, after whatever else it adds to the node.
  Result<Ino> LinkNewNode(index::WriteScope& s, Meta& meta, GenId gen, Ino parent,
                          std::string_view name, index::InodeRecord* rec,
                          const CreateOptions& options);
  // Takes `count` fresh blocks off the free list in memory (a crash before
  // they are claimed leaks nothing); kNoSpace once the store cannot give
  // them. `for_new_file`: the blocks cannot draw on a reservation, so they
  // must leave the room reservations hold (CheckRoomForWrite's rule).
  Result<std::vector<index::BlockRun>> ReserveFreshBlocks(uint64_t count, bool for_new_file);
  // Gives reserved runs back (after a failed write).
  void UnreserveBlocks(const std::vector<index::BlockRun>& runs);
  friend struct StartedWholeFile::Reservation;  // UnreserveBlocks when dropped
  Status Truncate(index::WriteScope& s, Meta& meta, GenId gen, Ino ino, index::InodeRecord* rec,
                  uint64_t new_size);
  // Moves an inline file's bytes into a data block.
  Status ConvertInline(index::WriteScope& s, Meta& meta, GenId gen, Ino ino,
                       index::InodeRecord* rec);
  // Writes into an inline file's record, or moves the file to a block when
  // the write would outgrow it. True when the write is done.
  Result<bool> WriteInline(Ino ino, uint64_t offset, std::span<const char> data, Attr* after);
  // One write of at most 1 MiB that does not cross a 1 MiB boundary.
  Status WritePiece(Ino ino, uint64_t offset, std::span<const char> data, Attr* after);

  // Fallocate helpers (fs_space.cc). REQUIRES: the file's inode lock.
  Status ZeroRange(Ino ino, uint64_t offset, uint64_t end);
  Status UnmapBlocks(Ino ino, uint64_t first_block, uint64_t end_block);
  Status GrowTo(Ino ino, uint64_t new_size, bool touch);

  // Reservations (fs_reserve.cc). A frozen view has none.
  // fallocate's allocate modes on bytes [offset, end). REQUIRES: the inode lock.
  Status Reserve(Ino ino, uint64_t offset, uint64_t end, bool keep_size);
  static Status NoRoomToReserve(uint64_t blocks, uint64_t avail);
  // Calls fn(chunk, bits) for each chunk of `ino` with reserved blocks in
  // [first_block, end_block), with the bits of those blocks.
  Status ForEachReserved(const index::KvScope& s, Ino ino, uint64_t first_block, uint64_t end_block,
                         const std::function<void(uint64_t, uint64_t)>& fn) const;
  // Reserved blocks of `ino` in [first_block, end_block).
  Result<uint64_t> CountReserved(const index::KvScope& s, Ino ino, uint64_t first_block,
                                 uint64_t end_block) const;
  // Ends the reservations of `ino` on [first_block, end_block) in `s`;
  // returns how many blocks they held.
  Result<uint64_t> ReleaseReserved(index::WriteScope& s, Ino ino, uint64_t first_block,
                                   uint64_t end_block);
  // st_blocks counts reserved blocks as allocated (as ext4's unwritten extents).
  Status AddReserved(const index::KvScope& s, Attr* attr) const;
  // Before a write of [offset, offset + length): kNoSpace when the blocks it
  // does not draw from a reservation would take room that reservations hold
  // (or the store is full). REQUIRES: the inode lock, exclusively when
  // the range holds reserved blocks (AnyReserved).
  Status CheckRoomForWrite(Ino ino, uint64_t offset, uint64_t length);
  // Whether fallocate reserved any block of [offset, offset + length).
  Result<bool> AnyReserved(Ino ino, uint64_t offset, uint64_t length);

  // The store's inside, as the engine sees it (store_internals.h).
  EngineInternals internals() const;

  Store* store_;
  std::optional<std::string> container_;  // set: live head view
  GenId frozen_;                          // set: read-only view
  uint64_t lineage_ = 0;                  // nonzero: pinned (PinnedTo)
};

}  // namespace hoodyfs::snapshotter
