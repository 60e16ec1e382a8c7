// Access times: when a read moves atime (Linux's relatime_need_update and
// touch_atime), and the update itself.
//
// An atime update is an ordinary change of the inode record in the head,
// made in memory and committed with the next group commit: no read waits
// for a commit, and a snapshot sees the atime of the reads made before it.
// Reads decide from the record they already loaded under their read scope,
// so under relatime (the default) a read takes a write scope only about once
// per change of the file, or per day.
#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

namespace {
constexpr int64_t kRelatimeMaxAgeSeconds = 24 * 60 * 60;
}  // namespace

bool AtimeNeedsUpdate(AtimeUpdate how, const index::Timespec& atime, const index::Timespec& mtime,
                      const index::Timespec& ctime, const index::Timespec& now) {
  if (how == AtimeUpdate::kNever) return false;
  // As atime_needs_update: nothing to write when it already says now.
  if (atime == now) return false;
  if (how == AtimeUpdate::kAlways) return true;
  // relatime: a change since the last access, or a day since it.
  return mtime >= atime || ctime >= atime || now.sec - atime.sec >= kRelatimeMaxAgeSeconds;
}

void FileSystem::MarkAccessed(Ino ino, AtimeUpdate how) {
  if (read_only() || how == AtimeUpdate::kNever) return;
  Status st = Mutate([&](index::WriteScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(auto rec, meta.GetInode(s, g, ino));
    if (!rec) return Status::OK();  // removed meanwhile
    const index::Timespec now = internals().Now();
    if (!AtimeNeedsUpdate(how, rec->atime, rec->mtime, rec->ctime, now)) return Status::OK();
    rec->atime = now;  // atime alone: ctime stays, as for any access
    return meta.PutInode(s, g, ino, *rec);
  });
  // The read itself succeeded: a store that refuses changes (failed sync,
  // restored under a pinned handle) keeps the old atime and says so in the
  // errors of the calls that change things.
  st.IgnoreError();
}

}  // namespace hoodyfs::snapshotter
