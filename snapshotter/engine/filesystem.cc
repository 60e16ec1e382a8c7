// Namespace, attribute and xattr operations of FileSystem. Data (read,
// write, truncate) lives in fs_data.cc.
#include "snapshotter/engine/filesystem.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "snapshotter/engine/fs_internal.h"
#include "snapshotter/engine/names.h"

namespace hoodyfs::snapshotter {

using index::DirentValue;
using index::InodeRecord;
using index::KvScope;
using index::ReadScope;
using index::WriteScope;
using internal::InodeCache;
using internal::kXattrNameMax;
using internal::kXattrValueMax;
using internal::ToAttr;

namespace {
constexpr uint32_t kLinkMax = 65000;
constexpr size_t kSymlinkMax = 4095;

bool IsDir(const InodeRecord& r) { return S_ISDIR(r.mode); }

Status NotADirectory(Ino ino) {
  return Status::NotDirectory("inode " + std::to_string(ino.value) + " is not a directory");
}
}  // namespace

Result<GenId> FileSystem::Generation() const {
  if (read_only()) return frozen_;
  return store_->HeadOf(*container_);
}

Result<uint64_t> FileSystem::Lineage() const {
  if (read_only()) return uint64_t{0};
  ReadScope s(internals().kv());
  HOODY_ASSIGN_OR_RETURN(EngineInternals::HeadInfo head, internals().CurrentHeadInfo(*container_));
  return head.lineage;
}

FileSystem FileSystem::PinnedTo(uint64_t lineage) const {
  FileSystem copy = *this;
  copy.lineage_ = read_only() ? 0 : lineage;
  return copy;
}

Result<Entry> FileSystem::Lookup(Ino parent, std::string_view name) {
  if (name.size() > kNameMax) return Status::NameTooLong("name longer than 255 bytes");
  Entry out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord dir, meta.MustGetInode(s, g, parent));
    if (!IsDir(dir)) return NotADirectory(parent);
    HOODY_ASSIGN_OR_RETURN(auto d, meta.GetDirent(s, g, parent, name));
    if (!d) return Status::NotFound("no entry '" + std::string(name) + "'");
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, d->ino));
    out = Entry{d->ino, ToAttr(d->ino, rec)};
    return AddReserved(s, &out.attr);
  }));
  return out;
}

Result<Entry> FileSystem::LookupInode(Ino ino) {
  Entry out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    if (rec.nlink == 0) {
      return Status::NotFound("inode " + std::to_string(ino.value) + " was unlinked");
    }
    out = Entry{ino, ToAttr(ino, rec)};
    return AddReserved(s, &out.attr);
  }));
  return out;
}

Result<Entry> FileSystem::LookupParent(Ino dir) {
  Entry out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, dir));
    if (!IsDir(rec)) return NotADirectory(dir);
    if (rec.nlink == 0) {
      return Status::NotFound("directory " + std::to_string(dir.value) + " was removed");
    }
    Ino up = dir;
    if (dir != kRootIno) {
      HOODY_ASSIGN_OR_RETURN(auto br, meta.AnyBackref(s, g, dir));
      if (!br) return Status::NotFound("directory " + std::to_string(dir.value) + " has no parent");
      up = br->first;
    }
    HOODY_ASSIGN_OR_RETURN(InodeRecord parent, meta.MustGetInode(s, g, up));
    out = Entry{up, ToAttr(up, parent)};
    return Status::OK();
  }));
  return out;
}

Result<Attr> FileSystem::GetAttr(Ino ino) {
  Attr out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    out = ToAttr(ino, rec);
    return AddReserved(s, &out);
  }));
  return out;
}

Result<Attr> FileSystem::SetAttr(Ino ino, const SetAttrRequest& req) {
  if (req.size && *req.size > kMaxFileBytes) {
    return Status::FileTooBig("size past the largest file size (2^63 - 1 bytes)");
  }
  Attr out;
  // A size change rewrites chunk maps: serialize it with writes to the file.
  std::unique_lock<index::StateMutex> file_lock(internals().InodeLock(ino), std::defer_lock);
  if (req.size) file_lock.lock();
  HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    const index::Timespec now = internals().Now();
    if (req.size) {
      if (IsDir(rec)) return Status::IsDirectory("cannot truncate a directory");
      if (!S_ISREG(rec.mode)) return Status::InvalidArgument("truncate of a non-regular file");
      if (*req.size != rec.size) {
        HOODY_RETURN_IF_ERROR(Truncate(s, meta, g, ino, &rec, *req.size));
        rec.mtime = now;
      } else {
        // A truncate to the size it has still drops what KEEP_SIZE reserved
        // past the end (as ext4 drops preallocation past EOF).
        const uint64_t keep = (rec.size + kBlockSize - 1) / kBlockSize;
        HOODY_RETURN_IF_ERROR(ReleaseReserved(s, ino, keep, UINT64_MAX).status());
      }
    }
    if (req.mode) rec.mode = (rec.mode & S_IFMT) | (*req.mode & 07777);
    if (req.mode && req.chmod_access_acl) {
      HOODY_RETURN_IF_ERROR(internal::ChmodAccessAcl(s, meta, g, ino, *req.mode));
    }
    if (req.uid) rec.uid = *req.uid;
    if (req.gid) rec.gid = *req.gid;
    if (req.atime) rec.atime = *req.atime;
    if (req.mtime) rec.mtime = *req.mtime;
    rec.ctime = req.ctime ? *req.ctime : now;
    HOODY_RETURN_IF_ERROR(meta.PutInode(s, g, ino, rec));
    out = ToAttr(ino, rec);
    return AddReserved(s, &out);
  }));
  return out;
}

Status FileSystem::CheckNewNode(std::string_view name, const CreateOptions& options) const {
  HOODY_RETURN_IF_ERROR(ValidateEntryName(name));
  if (options.ino &&
      (options.ino->value <= kRootIno.value || options.ino->value >= kMaxChosenIno)) {
    return Status::InvalidArgument("inode number " + std::to_string(options.ino->value) +
                                   " out of range");
  }
  return CheckRoomToGrow();
}

Result<Ino> FileSystem::LinkNewNode(WriteScope& s, Meta& meta, GenId g, Ino parent,
                                    std::string_view name, InodeRecord* rec,
                                    const CreateOptions& options) {
  HOODY_ASSIGN_OR_RETURN(InodeRecord dir, meta.MustGetInode(s, g, parent));
  if (!IsDir(dir)) return NotADirectory(parent);
  if (dir.nlink == 0) return Status::NotFound("directory was removed");
  HOODY_ASSIGN_OR_RETURN(auto existing, meta.GetDirent(s, g, parent, name));
  if (existing) return Status::Exists("'" + std::string(name) + "' already exists");
  NewNodeAcl acl;
  if (options.acl_umask) {
    HOODY_ASSIGN_OR_RETURN(
        acl, internal::InheritFrom(s, meta, g, parent, rec->mode, *options.acl_umask));
    rec->mode = acl.mode;
  }
  const index::Timespec now = internals().Now();
  Ino ino;
  if (options.ino) {
    HOODY_ASSIGN_OR_RETURN(auto taken, meta.GetInode(s, g, *options.ino));
    if (taken) return Status::Exists("inode " + std::to_string(options.ino->value) + " exists");
    internals().ClaimIno(s, *options.ino);
    ino = *options.ino;
  } else {
    ino = internals().NextIno(s);
  }
  rec->atime = rec->mtime = rec->ctime = now;
  rec->btime = now;
  rec->nlink = IsDir(*rec) ? 2 : 1;
  if (IsDir(*rec)) {
    if (dir.nlink >= kLinkMax) return Status::TooManyLinks("directory has too many subdirectories");
    ++dir.nlink;
  }
  const DirentValue d{ino, internal::DirentType(rec->mode), dir.next_cookie++};
  dir.mtime = dir.ctime = now;
  HOODY_RETURN_IF_ERROR(internal::StoreInherited(s, meta, g, ino, acl));
  HOODY_RETURN_IF_ERROR(meta.PutEntry(s, g, parent, name, d));
  HOODY_RETURN_IF_ERROR(meta.PutInode(s, g, parent, dir));
  return ino;
}

Result<Entry> FileSystem::MakeNode(Ino parent, std::string_view name, InodeRecord rec,
                                   const CreateOptions& options) {
  HOODY_RETURN_IF_ERROR(CheckNewNode(name, options));
  Entry out;
  HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(Ino ino, LinkNewNode(s, meta, g, parent, name, &rec, options));
    HOODY_RETURN_IF_ERROR(meta.PutInode(s, g, ino, rec));
    out = Entry{ino, ToAttr(ino, rec)};
    return Status::OK();
  }));
  return out;
}

Result<Entry> FileSystem::Mknod(Ino parent, std::string_view name, uint32_t mode, uint64_t rdev,
                                Owner owner, const CreateOptions& options) {
  const uint32_t type = mode & S_IFMT;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
      type != S_IFBLK) {
    return Status::InvalidArgument("mknod of an unsupported file type");
  }
  InodeRecord rec;
  rec.mode = mode;
  rec.uid = owner.uid;
  rec.gid = owner.gid;
  rec.rdev = (type == S_IFCHR || type == S_IFBLK) ? rdev : 0;
  rec.has_inline = type == S_IFREG;
  return MakeNode(parent, name, std::move(rec), options);
}

Result<Entry> FileSystem::Mkdir(Ino parent, std::string_view name, uint32_t mode, Owner owner,
                                const CreateOptions& options) {
  InodeRecord rec;
  rec.mode = S_IFDIR | (mode & 07777);
  rec.uid = owner.uid;
  rec.gid = owner.gid;
  return MakeNode(parent, name, std::move(rec), options);
}

Result<Entry> FileSystem::Symlink(Ino parent, std::string_view name, std::string_view target,
                                  Owner owner, const CreateOptions& options) {
  if (target.empty()) return Status::NotFound("empty symlink target");
  if (target.size() > kSymlinkMax) return Status::NameTooLong("symlink target over 4095 bytes");
  InodeRecord rec;
  rec.mode = S_IFLNK | 0777;
  rec.uid = owner.uid;
  rec.gid = owner.gid;
  rec.size = target.size();
  rec.inline_data = std::string(target);
  return MakeNode(parent, name, std::move(rec), options);
}

Result<std::string> FileSystem::ReadLink(Ino ino) {
  std::string out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    if (!S_ISLNK(rec.mode)) return Status::InvalidArgument("not a symlink");
    out = rec.inline_data;
    return Status::OK();
  }));
  return out;
}

Result<Entry> FileSystem::Link(Ino ino, Ino new_parent, std::string_view new_name) {
  HOODY_RETURN_IF_ERROR(ValidateEntryName(new_name));
  HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  Entry out;
  HOODY_RETURN_IF_ERROR(Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    InodeCache inodes(meta, g);
    HOODY_ASSIGN_OR_RETURN(InodeRecord * target, inodes.Get(s, ino));
    if (IsDir(*target)) return Status::Permission("hard link to a directory");
    if (target->nlink >= kLinkMax) return Status::TooManyLinks("too many links");
    HOODY_ASSIGN_OR_RETURN(InodeRecord * dir, inodes.Get(s, new_parent));
    if (!IsDir(*dir)) return NotADirectory(new_parent);
    if (dir->nlink == 0) return Status::NotFound("directory was removed");
    HOODY_ASSIGN_OR_RETURN(auto existing, meta.GetDirent(s, g, new_parent, new_name));
    if (existing) return Status::Exists("'" + std::string(new_name) + "' already exists");
    const index::Timespec now = internals().Now();
    const DirentValue d{ino, internal::DirentType(target->mode), dir->next_cookie++};
    ++target->nlink;
    target->ctime = now;
    dir->mtime = dir->ctime = now;
    HOODY_RETURN_IF_ERROR(meta.PutEntry(s, g, new_parent, new_name, d));
    out = Entry{ino, ToAttr(ino, *target)};
    return inodes.WriteBack(s);
  }));
  return out;
}

Status FileSystem::Purge(WriteScope& s, Meta& meta, GenId gen, Ino ino) {
  HOODY_RETURN_IF_ERROR(ReleaseReserved(s, ino, 0, UINT64_MAX).status());
  std::vector<uint64_t> chunks;
  HOODY_RETURN_IF_ERROR(meta.chunks().ForEach(
      s, index::InoPrefix(ino), "", gen,
      [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
        chunks.push_back(GetBig64(logical.data() + 8));
        return true;
      }));
  for (uint64_t c : chunks) {
    HOODY_ASSIGN_OR_RETURN(VisibleChunk old, meta.GetChunk(s, gen, ino, c));
    HOODY_RETURN_IF_ERROR(meta.PutChunk(s, gen, ino, c, old, ChunkBlocks{}).status());
  }
  std::vector<std::string> xattrs;
  HOODY_RETURN_IF_ERROR(meta.xattrs().ForEach(
      s, index::InoPrefix(ino), "", gen,
      [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
        xattrs.emplace_back(logical);
        return true;
      }));
  for (const std::string& logical : xattrs) {
    HOODY_RETURN_IF_ERROR(meta.xattrs().Erase(s, logical, gen));
  }
  return meta.EraseInode(s, gen, ino);
}

Status FileSystem::PurgeIfUnused(WriteScope& s, Meta& meta, GenId gen, Ino ino,
                                 const InodeRecord& rec) {
  if (rec.nlink > 0) return meta.PutInode(s, gen, ino, rec);
  if (internals().IsOpen(*container_, ino)) {
    // Still open: keep the record (nlink 0) until the last Release.
    return meta.PutInode(s, gen, ino, rec);
  }
  return Purge(s, meta, gen, ino);
}

namespace {
// An entry about to be removed: its directory (in the operation's inode
// cache), the entry itself, and the inode it names.
struct Child {
  InodeRecord* dir;
  DirentValue entry;
  InodeRecord target;
};

Result<Child> FindChild(const KvScope& s, Meta& meta, InodeCache& inodes, GenId g, Ino parent,
                        std::string_view name) {
  HOODY_ASSIGN_OR_RETURN(InodeRecord * dir, inodes.Get(s, parent));
  if (!IsDir(*dir)) return NotADirectory(parent);
  HOODY_ASSIGN_OR_RETURN(auto d, meta.GetDirent(s, g, parent, name));
  if (!d) return Status::NotFound("no entry '" + std::string(name) + "'");
  HOODY_ASSIGN_OR_RETURN(InodeRecord target, meta.MustGetInode(s, g, d->ino));
  return Child{dir, *d, std::move(target)};
}
}  // namespace

Status FileSystem::RemoveChild(WriteScope& s, Meta& meta, GenId g, Ino parent,
                               std::string_view name, bool directory) {
  InodeCache inodes(meta, g);
  HOODY_ASSIGN_OR_RETURN(Child c, FindChild(s, meta, inodes, g, parent, name));
  if (directory) {
    if (!IsDir(c.target)) return NotADirectory(c.entry.ino);
    HOODY_ASSIGN_OR_RETURN(bool has_entries, meta.HasEntries(s, g, c.entry.ino));
    if (has_entries) return Status::NotEmpty("directory '" + std::string(name) + "' is not empty");
    --c.dir->nlink;
    c.target.nlink = 0;
  } else {
    if (IsDir(c.target)) return Status::IsDirectory("'" + std::string(name) + "' is a directory");
    --c.target.nlink;
  }
  const index::Timespec now = internals().Now();
  HOODY_RETURN_IF_ERROR(meta.EraseEntry(s, g, parent, name, c.entry));
  c.dir->mtime = c.dir->ctime = now;
  c.target.ctime = now;
  HOODY_RETURN_IF_ERROR(PurgeIfUnused(s, meta, g, c.entry.ino, c.target));
  return inodes.WriteBack(s);
}

Status FileSystem::Unlink(Ino parent, std::string_view name) {
  if (name.size() > kNameMax) return Status::NameTooLong("name longer than 255 bytes");
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) {
    return RemoveChild(s, meta, g, parent, name, /*directory=*/false);
  });
}

Status FileSystem::Rmdir(Ino parent, std::string_view name) {
  if (name.size() > kNameMax) return Status::NameTooLong("name longer than 255 bytes");
  if (name == ".") return Status::InvalidArgument("cannot remove '.'");
  if (name == "..") return Status::NotEmpty("cannot remove '..'");
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) {
    return RemoveChild(s, meta, g, parent, name, /*directory=*/true);
  });
}

Status FileSystem::Rename(Ino parent, std::string_view name, Ino new_parent,
                          std::string_view new_name, RenameFlags flags, Owner whiteout_owner) {
  HOODY_RETURN_IF_ERROR(ValidateEntryName(new_name));
  if (name.size() > kNameMax) return Status::NameTooLong("name longer than 255 bytes");
  const bool exchange = HasFlag(flags, RenameFlags::kExchange);
  const bool whiteout = HasFlag(flags, RenameFlags::kWhiteout);
  if (static_cast<uint32_t>(flags) & ~uint32_t{7}) {
    return Status::InvalidArgument("unknown rename flags");
  }
  if (exchange && flags != RenameFlags::kExchange) {
    return Status::InvalidArgument("RENAME_EXCHANGE with another flag");
  }
  if (whiteout) HOODY_RETURN_IF_ERROR(CheckRoomToGrow());  // a new inode
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    InodeCache inodes(meta, g);
    HOODY_ASSIGN_OR_RETURN(InodeRecord * from_dir, inodes.Get(s, parent));
    HOODY_ASSIGN_OR_RETURN(InodeRecord * to_dir, inodes.Get(s, new_parent));
    if (!IsDir(*from_dir)) return NotADirectory(parent);
    if (!IsDir(*to_dir)) return NotADirectory(new_parent);
    if (to_dir->nlink == 0) return Status::NotFound("directory was removed");
    HOODY_ASSIGN_OR_RETURN(auto src, meta.GetDirent(s, g, parent, name));
    if (!src) return Status::NotFound("no entry '" + std::string(name) + "'");
    HOODY_ASSIGN_OR_RETURN(auto dst, meta.GetDirent(s, g, new_parent, new_name));
    if (dst && HasFlag(flags, RenameFlags::kNoReplace)) {
      return Status::Exists("'" + std::string(new_name) + "' already exists");
    }
    if (!dst && exchange) {
      return Status::NotFound("no entry '" + std::string(new_name) + "' to exchange with");
    }
    if (parent == new_parent && name == new_name) return Status::OK();
    HOODY_ASSIGN_OR_RETURN(InodeRecord * moved, inodes.Get(s, src->ino));
    const bool moved_is_dir = IsDir(*moved);
    // A directory must not move below itself: walk up from the new parent.
    auto check_not_below = [&](Ino dir_ino, Ino dest) -> Status {
      for (Ino up = dest; up != kRootIno;) {
        if (up == dir_ino) {
          return Status::InvalidArgument("cannot move a directory inside itself");
        }
        HOODY_ASSIGN_OR_RETURN(auto br, meta.AnyBackref(s, g, up));
        if (!br) break;
        up = br->first;
      }
      return Status::OK();
    };
    if (moved_is_dir) HOODY_RETURN_IF_ERROR(check_not_below(src->ino, new_parent));
    const index::Timespec now = internals().Now();
    from_dir->mtime = from_dir->ctime = now;
    to_dir->mtime = to_dir->ctime = now;
    moved->ctime = now;

    if (exchange) {
      HOODY_ASSIGN_OR_RETURN(InodeRecord * other, inodes.Get(s, dst->ino));
      const bool other_is_dir = IsDir(*other);
      if (other_is_dir) HOODY_RETURN_IF_ERROR(check_not_below(dst->ino, parent));
      other->ctime = now;
      HOODY_RETURN_IF_ERROR(meta.EraseEntry(s, g, parent, name, *src));
      HOODY_RETURN_IF_ERROR(meta.EraseEntry(s, g, new_parent, new_name, *dst));
      HOODY_RETURN_IF_ERROR(
          meta.PutEntry(s, g, parent, name, DirentValue{dst->ino, dst->type, src->cookie}));
      HOODY_RETURN_IF_ERROR(
          meta.PutEntry(s, g, new_parent, new_name, DirentValue{src->ino, src->type, dst->cookie}));
      if (parent != new_parent && moved_is_dir != other_is_dir) {
        // The subdirectory count moves with the directory that moved.
        InodeRecord* gains = moved_is_dir ? to_dir : from_dir;
        InodeRecord* loses = moved_is_dir ? from_dir : to_dir;
        ++gains->nlink;
        --loses->nlink;
      }
      return inodes.WriteBack(s);
    }

    if (dst) {
      if (dst->ino == src->ino) {
        // Two links to one inode: POSIX says do nothing.
        return Status::OK();
      }
      HOODY_ASSIGN_OR_RETURN(InodeRecord * victim, inodes.Get(s, dst->ino));
      if (moved_is_dir) {
        if (!IsDir(*victim)) return NotADirectory(dst->ino);
        HOODY_ASSIGN_OR_RETURN(bool full, meta.HasEntries(s, g, dst->ino));
        if (full) return Status::NotEmpty("target directory is not empty");
        victim->nlink = 0;
        --to_dir->nlink;
      } else {
        if (IsDir(*victim)) return Status::IsDirectory("cannot replace a directory with a file");
        --victim->nlink;
      }
      victim->ctime = now;
      HOODY_RETURN_IF_ERROR(meta.EraseEntry(s, g, new_parent, new_name, *dst));
      const InodeRecord victim_copy = *victim;
      inodes.Forget(dst->ino);
      HOODY_RETURN_IF_ERROR(PurgeIfUnused(s, meta, g, dst->ino, victim_copy));
    }
    HOODY_RETURN_IF_ERROR(meta.EraseEntry(s, g, parent, name, *src));
    // Within one directory the entry keeps its cookie: its place in a
    // listing belongs to the file, not to the name. A reader that has passed
    // it does not meet it again under the new name, and one that has not
    // meets it once, under whichever name it holds then. A new cookie (the
    // end of the listing) would show a file renamed behind the reader twice.
    const uint64_t cookie = parent == new_parent ? src->cookie : to_dir->next_cookie++;
    const DirentValue moved_entry{src->ino, src->type, cookie};
    HOODY_RETURN_IF_ERROR(meta.PutEntry(s, g, new_parent, new_name, moved_entry));
    if (moved_is_dir && parent != new_parent) {
      --from_dir->nlink;
      ++to_dir->nlink;
    }
    if (whiteout) {
      // The whiteout takes the source name with a fresh cookie: a listing
      // that already passed the name's old position does not see it again
      // there, one that had not yet sees the whiteout (as a new name).
      InodeRecord w;
      w.mode = S_IFCHR;  // mode 0, rdev 0/0: vfs_whiteout
      w.uid = whiteout_owner.uid;
      w.gid = whiteout_owner.gid;
      w.nlink = 1;
      w.atime = w.mtime = w.ctime = now;
      w.btime = now;
      const Ino w_ino = internals().NextIno(s);
      HOODY_RETURN_IF_ERROR(meta.PutInode(s, g, w_ino, w));
      const DirentValue w_entry{w_ino, internal::DirentType(w.mode), from_dir->next_cookie++};
      HOODY_RETURN_IF_ERROR(meta.PutEntry(s, g, parent, name, w_entry));
    }
    return inodes.WriteBack(s);
  });
}

Status FileSystem::ReadDir(Ino dir, uint64_t cookie, const std::function<bool(const DirEntry&)>& fn,
                           AtimeUpdate atime) {
  bool touch = false;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, dir));
    if (!IsDir(rec)) return NotADirectory(dir);
    touch = atime != AtimeUpdate::kNever && !read_only() &&
            AtimeNeedsUpdate(atime, rec.atime, rec.mtime, rec.ctime, internals().Now());
    if (cookie < 1 && !fn(DirEntry{".", dir, DT_DIR, 1})) return Status::OK();
    if (cookie < 2) {
      Ino up = dir;
      if (dir != kRootIno) {
        HOODY_ASSIGN_OR_RETURN(auto br, meta.AnyBackref(s, g, dir));
        if (br) up = br->first;
      }
      if (!fn(DirEntry{"..", up, DT_DIR, 2})) return Status::OK();
    }
    const std::string start = index::DirCookieLogical(dir, std::max<uint64_t>(cookie + 1, 3));
    return meta.cookies().ForEach(
        s, index::InoPrefix(dir), start, g,
        [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
          HOODY_ASSIGN_OR_RETURN(index::DirCookieValue c, index::DirCookieValue::Decode(v.data));
          return fn(DirEntry{c.name, c.ino, c.type, GetBig64(logical.data() + 8)});
        });
  }));
  // After the listing's scope: MarkAccessed takes a write scope.
  if (touch) MarkAccessed(dir, atime);
  return Status::OK();
}

void FileSystem::Open(Ino ino) {
  if (read_only()) return;  // a frozen generation never purges anything
  internals().AddOpen(*container_, ino);
}

Status FileSystem::Release(Ino ino) {
  if (read_only()) return Status::OK();
  if (!internals().ReleaseOpen(*container_, ino)) return Status::OK();
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(auto rec, meta.GetInode(s, g, ino));
    if (!rec || rec->nlink > 0) return Status::OK();
    return Purge(s, meta, g, ino);
  });
}

Result<std::string> FileSystem::GetXattr(Ino ino, std::string_view name) {
  std::string out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_RETURN_IF_ERROR(meta.MustGetInode(s, g, ino).status());
    HOODY_ASSIGN_OR_RETURN(auto v, meta.xattrs().Get(s, index::XattrLogical(ino, name), g));
    if (!v) return Status::NoData("no attribute '" + std::string(name) + "'");
    out = std::string(v->data);
    return Status::OK();
  }));
  return out;
}

Status FileSystem::SetXattr(Ino ino, std::string_view name, std::string_view value,
                            XattrMode mode) {
  if (name.empty()) return Status::InvalidArgument("empty attribute name");
  if (name.size() > kXattrNameMax) return Status::Range("attribute name over 255 bytes");
  if (value.size() > kXattrValueMax) return Status::Range("attribute value over 64 KiB");
  HOODY_RETURN_IF_ERROR(CheckRoomToGrow());
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    const std::string logical = index::XattrLogical(ino, name);
    HOODY_ASSIGN_OR_RETURN(auto existing, meta.xattrs().Get(s, logical, g));
    if (existing && mode == XattrMode::kCreate) {
      return Status::Exists("attribute '" + std::string(name) + "' exists");
    }
    if (!existing && mode == XattrMode::kReplace) {
      return Status::NoData("no attribute '" + std::string(name) + "'");
    }
    HOODY_RETURN_IF_ERROR(meta.xattrs().Put(s, logical, g, value));
    rec.ctime = internals().Now();
    return meta.PutInode(s, g, ino, rec);
  });
}

Result<std::vector<std::string>> FileSystem::ListXattr(Ino ino) {
  std::vector<std::string> names;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_RETURN_IF_ERROR(meta.MustGetInode(s, g, ino).status());
    return meta.xattrs().ForEach(
        s, index::InoPrefix(ino), "", g,
        [&](std::string_view logical, const index::VisibleVersion&) -> Result<bool> {
          names.emplace_back(logical.substr(8, logical.size() - 9));
          return true;
        });
  }));
  return names;
}

Status FileSystem::RemoveXattr(Ino ino, std::string_view name) {
  return Mutate([&](WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    const std::string logical = index::XattrLogical(ino, name);
    HOODY_ASSIGN_OR_RETURN(auto existing, meta.xattrs().Get(s, logical, g));
    if (!existing) return Status::NoData("no attribute '" + std::string(name) + "'");
    HOODY_RETURN_IF_ERROR(meta.xattrs().Erase(s, logical, g));
    rec.ctime = internals().Now();
    return meta.PutInode(s, g, ino, rec);
  });
}

Result<FsStats> FileSystem::StatFs() {
  FsStats st;
  struct statvfs host;
  uint64_t host_free_blocks = 0;
  if (::statvfs(store_->dir().c_str(), &host) == 0) {
    host_free_blocks = uint64_t{host.f_bavail} * host.f_frsize / kBlockSize;
  }
  {
    ReadScope s(internals().kv());
    const uint64_t cap = internals().allocator().capacity_blocks();
    const uint64_t used = internals().allocator().used_blocks();
    // The data file grows on demand: what the host has free is ours too.
    // Reserved blocks count as used (fs_reserve.cc).
    st.total_blocks = cap + host_free_blocks;
    const uint64_t free = cap - used + host_free_blocks;
    const uint64_t reserved = internals().reserved_blocks();
    st.free_blocks = free > reserved ? free - reserved : 0;
    st.files = internals().next_ino();
  }
  return st;
}

}  // namespace hoodyfs::snapshotter
