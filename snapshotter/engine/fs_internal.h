// Internals shared by the FileSystem implementation files: running an
// operation under a read or write scope with the generation it applies to,
// and the record <-> Attr conversions.
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>

#include "index/keys.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter::internal {

inline Attr ToAttr(Ino ino, const index::InodeRecord& r) {
  Attr a;
  a.ino = ino;
  a.mode = r.mode;
  a.uid = r.uid;
  a.gid = r.gid;
  a.nlink = r.nlink;
  a.size = r.size;
  // Inline data occupies no block of its own; report it as if it did, so
  // tools that compare st_blocks with st_size do not take it for sparse.
  a.blocks_512 = r.has_inline ? (r.size + 511) / 512 : r.blocks * (kBlockSize / 512);
  a.rdev = r.rdev;
  a.atime = r.atime;
  a.mtime = r.mtime;
  a.ctime = r.ctime;
  a.btime = r.btime;
  return a;
}

inline uint8_t DirentType(uint32_t mode) { return static_cast<uint8_t>((mode & S_IFMT) >> 12); }

inline constexpr size_t kXattrNameMax = 255;
inline constexpr size_t kXattrValueMax = 65536;

// The POSIX ACL steps of one operation, inside its write scope (fs_acl.cc).
// The stored ACL `name` of `ino`, or nullopt when there is none. Errors:
// kInvalidArgument (a stored value that is not an ACL), scope errors.
Result<std::optional<Acl>> LoadAcl(const index::KvScope& s, Meta& meta, GenId gen, Ino ino,
                                   std::string_view name);
// The mode and ACLs a node of `mode` created in `parent` takes (InheritAcl).
Result<NewNodeAcl> InheritFrom(const index::KvScope& s, Meta& meta, GenId gen, Ino parent,
                               uint32_t mode, uint32_t umask);
// Stores the ACL xattrs InheritFrom chose on the new node `ino`.
Status StoreInherited(index::WriteScope& s, Meta& meta, GenId gen, Ino ino, const NewNodeAcl& acl);
// chmod to `mode`: a stored access ACL of `ino` takes the new bits (AclChmod).
Status ChmodAccessAcl(index::WriteScope& s, Meta& meta, GenId gen, Ino ino, uint32_t mode);

// Inode records loaded and changed during one operation, written back once.
class InodeCache {
 public:
  InodeCache(Meta& meta, GenId gen) : meta_(meta), gen_(gen) {}
  Result<index::InodeRecord*> Get(const index::KvScope& s, Ino ino) {
    auto it = cache_.find(ino.value);
    if (it != cache_.end()) return &it->second;
    HOODY_ASSIGN_OR_RETURN(index::InodeRecord rec, meta_.MustGetInode(s, gen_, ino));
    return &cache_.emplace(ino.value, std::move(rec)).first->second;
  }
  void Forget(Ino ino) { cache_.erase(ino.value); }
  Status WriteBack(index::WriteScope& s) {
    for (auto& [ino, rec] : cache_) HOODY_RETURN_IF_ERROR(meta_.PutInode(s, gen_, Ino(ino), rec));
    return Status::OK();
  }

 private:
  Meta& meta_;
  GenId gen_;
  std::map<uint64_t, index::InodeRecord> cache_;
};

}  // namespace hoodyfs::snapshotter::internal

namespace hoodyfs::snapshotter {

inline EngineInternals FileSystem::internals() const { return EngineInternals(*store_); }

inline Result<GenId> FileSystem::CurrentGen() const {
  HOODY_ASSIGN_OR_RETURN(EngineInternals::HeadInfo head, internals().CurrentHeadInfo(*container_));
  if (lineage_ != 0 && head.lineage != lineage_) {
    return Status::Stale("container '" + *container_ +
                         "' was restored to another generation after this file was opened");
  }
  return head.gen;
}

template <class Fn>
Status FileSystem::Mutate(Fn&& fn) {
  if (read_only()) return Status::ReadOnly("a frozen generation is read-only");
  HOODY_RETURN_IF_ERROR(internals().CheckWritable());
  // Before the change, not after it: a commit that fails (a full host)
  // then refuses this call with nothing changed, where afterwards it would
  // report an error for a change that stays visible and commits later.
  HOODY_RETURN_IF_ERROR(internals().MaybeFlush());
  index::WriteScope s(internals().kv());
  HOODY_ASSIGN_OR_RETURN(GenId head, CurrentGen());
  Meta meta(internals().tree(), internals().allocator());
  HOODY_RETURN_IF_ERROR(fn(s, meta, head));
  s.Commit();
  return Status::OK();
}

inline Status FileSystem::CheckRoomToGrow() const {
  return read_only() ? Status::OK() : store_->CheckRoomToGrow();
}

template <class Fn>
Status FileSystem::Inspect(Fn&& fn) {
  index::ReadScope s(internals().kv());
  GenId gen = frozen_;
  if (!read_only()) {
    HOODY_ASSIGN_OR_RETURN(gen, CurrentGen());
  }
  Meta meta(internals().tree(), internals().allocator());
  return fn(s, meta, gen);
}

}  // namespace hoodyfs::snapshotter
